"""Audit: the tenant's trail of administrative changes (who, when, what, before and after),
kept for a configurable period and exported as JSON lines."""
