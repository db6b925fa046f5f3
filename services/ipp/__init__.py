"""The IPP endpoint: every printer and virtual printer as an IPP Everywhere printer."""
