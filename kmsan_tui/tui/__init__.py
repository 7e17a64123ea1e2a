"""The Textual explorer: the only package of kmsan_tui that imports textual (DESIGN.md).

``app`` holds the thin App and ``run_app``; ``screens`` turn messages into session
commands; ``widgets`` draw the frozen ``Frame`` they are given, one widget per module.
The modules without Textual (``frame``, ``runner``, ``fmt``)
adapt the model for drawing and run commands off the UI thread.
"""
