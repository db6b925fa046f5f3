"""Audit domain errors: the audit service refuses only what the shared errors say (bad
filters 422, a caller who is not an administrator 403); it has no errors of its own."""

from __future__ import annotations

from shared.errors import Forbidden, ValidationFailed

__all__ = ["Forbidden", "ValidationFailed"]
