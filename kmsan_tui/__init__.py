"""kmsan-tui: watch physical memory during Linux boot and compare KMSAN metadata strategies."""

__version__ = "0.1.0"
