"""Counters handlers: load, decide, save and emit in one transaction."""
