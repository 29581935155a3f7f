"""Pure Matrix protocol rules: no I/O, no trio, no sqlite."""
