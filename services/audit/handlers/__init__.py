"""Audit's handlers: one plain async function per event or query, each in one unit of
work (:mod:`shared.db.uow`)."""
