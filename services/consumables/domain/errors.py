"""Consumables domain errors, each with a stable code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict, DomainError, NotFound


@dataclass
class RuleNotFound(NotFound):
    code: str = "supply-rule-not-found"


@dataclass
class DuplicateRule(Conflict):
    code: str = "duplicate-rule"


@dataclass
class SupplierNotFound(NotFound):
    code: str = "supplier-not-found"


@dataclass
class OrderNotFound(NotFound):
    code: str = "supply-order-not-found"


@dataclass
class OrderClosed(Conflict):
    code: str = "supply-order-closed"


@dataclass
class SecretsUnavailable(DomainError):
    """The service has no key to seal suppliers' secrets with."""

    code: str = "secrets-unavailable"
    status: int = 503
    title: str = "Unavailable"
