"""Groups of users: what follows from a tenant's groups (their members, transitively)."""
