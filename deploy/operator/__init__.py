"""Operator commands that act on a service's own data, run with that service's settings."""
