"""What callers ask consumables to do; validated at the edge, pure values inside."""

from __future__ import annotations

import uuid
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.consumables.domain.events import Colour, Kind
from services.consumables.domain.model import CLOSED_STATES, OPEN_STATES

NAME_PATTERN = r"^\S(.*\S)?$"
REGION_PATTERN = r"^(\*|[a-z0-9]+(-[a-z0-9]+)*)$"
RuleColour = Literal["black", "cyan", "magenta", "yellow", "none", "other", "*"]
RuleKind = Literal["toner", "ink", "drum", "waste", "fuser", "staples", "other", "*"]
RuleAction = Literal["order", "warn", "ignore"]
OrderState = Literal[
    "created", "sending", "sent", "shipped", "delivered", "installed", "canceled",
    "rejected_by_supplier",
]  # fmt: skip
assert set(OrderState.__args__) == set(OPEN_STATES + CLOSED_STATES)  # type: ignore[attr-defined]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateRule(_Command):
    """A supply rule. Operators may omit ``tenant_id`` for a platform default."""

    tenant_id: uuid.UUID | None = None
    region: str = Field(
        min_length=1, max_length=64, pattern=REGION_PATTERN,
        description="A region code such as 'eu-west', or '*' for every region.",
    )  # fmt: skip
    model: str = Field(
        min_length=1, max_length=200, pattern=NAME_PATTERN,
        description="A printer model as registered, or '*' for every model.",
    )  # fmt: skip
    colour: RuleColour
    kind: RuleKind
    action: RuleAction
    threshold_percent: int = Field(ge=0, le=100, description="Act at or below this level.")
    supplier_id: uuid.UUID | None = Field(
        default=None, description="For 'order': who receives the orders (else kept for admins)."
    )


class UpdateRule(_Command):
    """Change a rule; absent fields stay as they are (``supplier_id: null`` clears it)."""

    region: str | None = Field(default=None, min_length=1, max_length=64, pattern=REGION_PATTERN)
    model: str | None = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)
    colour: RuleColour | None = None
    kind: RuleKind | None = None
    action: RuleAction | None = None
    threshold_percent: int | None = Field(default=None, ge=0, le=100)
    supplier_id: uuid.UUID | None = None

    @field_validator("region", "model", "colour", "kind", "action", "threshold_percent")
    @classmethod
    def not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class CreateSupplier(_Command):
    """A supplier and the webhook orders are sent to. Operators may omit ``tenant_id``
    for a platform supplier every tenant's rules may name."""

    tenant_id: uuid.UUID | None = None
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    webhook_url: str = Field(min_length=1, max_length=2000)
    secret: str = Field(
        min_length=32, max_length=512,
        description="Shared secret for HMAC-SHA256 signatures; never shown again.",
    )  # fmt: skip

    @field_validator("webhook_url")
    @classmethod
    def absolute_http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials; the secret signs the body")
        return value


class ReportShipped(_Command):
    """The supplier shipped the order."""

    carrier: str | None = Field(default=None, max_length=200)
    tracking_number: str | None = Field(default=None, max_length=200)
    shipped_at: AwareDatetime | None = None


class ReportDelivered(_Command):
    """The order arrived."""

    delivered_at: AwareDatetime | None = None


class CancelOrder(_Command):
    """Cancel an open order that has not been delivered."""

    reason: str = Field(default="canceled by an administrator", min_length=1, max_length=500)


class Listing(_Command):
    """Keyset pagination: ``after`` is the last id of the previous page."""

    limit: int = Field(default=50, ge=1, le=500)
    after: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = Field(default=None, description="Operators: one tenant.")


class OrderQuery(Listing):
    """Filters of the order listing."""

    printer_id: uuid.UUID | None = None
    state: OrderState | None = None
    kind: Kind | None = None
    colour: Colour | None = None
    open: bool | None = Field(default=None, description="Only open (true) or closed (false).")


class LevelQuery(_Command):
    """The latest levels of one printer."""

    printer_id: uuid.UUID
