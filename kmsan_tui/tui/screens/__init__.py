"""Screens: the explorer, the comparison, and the small dialogs they open."""
