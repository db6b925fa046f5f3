"""Printcloud's common library: what every service uses exactly once."""
