"""Routing's handlers: load through the repository, decide with the domain, save and
announce in one unit of work (:mod:`shared.db.uow`)."""
