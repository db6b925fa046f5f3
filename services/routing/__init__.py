"""routing: where and when each print job goes (a printer's queue now, or held)."""
