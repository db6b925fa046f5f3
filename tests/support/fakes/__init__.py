"""In-memory repositories for handler unit tests (one module per service)."""
