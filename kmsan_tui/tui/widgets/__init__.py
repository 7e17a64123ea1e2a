"""One widget per module; each draws a Frame it is given and posts messages up."""
