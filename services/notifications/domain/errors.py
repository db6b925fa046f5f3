"""Notifications domain errors, each with a stable code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import DomainError, NotFound


@dataclass
class EndpointNotFound(NotFound):
    code: str = "webhook-endpoint-not-found"


@dataclass
class DeliveryNotFound(NotFound):
    code: str = "webhook-delivery-not-found"


@dataclass
class SecretsUnavailable(DomainError):
    """The service has no key to seal endpoints' secrets with."""

    code: str = "secrets-unavailable"
    status: int = 503
    title: str = "Unavailable"
