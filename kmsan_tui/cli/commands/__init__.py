"""The subcommands of `kmsan-tui`, one per module (see kmsan_tui.cli)."""
