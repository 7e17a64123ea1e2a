"""`python -m kmsan_tui.cli`: the same as the `kmsan-tui` script."""

import sys

from kmsan_tui.cli import main

sys.exit(main())
