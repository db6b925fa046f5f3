"""Notifications' handlers: one plain async function per command or event, each in one
unit of work (:mod:`shared.db.uow`)."""
