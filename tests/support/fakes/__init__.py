"""In-memory repositories: the same methods as a service's repository, state in dicts,
for handler unit tests (``shared.testing.uow.InMemoryTransactions``)."""
