"""In-memory repositories: the same methods as a service's repository, state in dicts."""
