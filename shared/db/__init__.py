"""Postgres plumbing: pools, migrations, outbox, inbox, role/schema provisioning."""
