"""The device websocket protocol, version 1: one pydantic model per frame type.

Every frame is a JSON text message with a ``type``. The gateway speaks first:

1. gateway -> device ``hello`` with a fresh random ``nonce`` (base64url, 32 bytes);
2. device -> gateway ``auth``: its key ``fingerprint`` and ``signature`` over
   ``AUTH_CONTEXT + nonce`` (Ed25519; or ECDSA P-256/SHA-256 as raw r||s), and
   optionally the ``device_id`` it believes it has;
3. gateway -> device ``welcome`` with the device's identity, or ``error`` (fatal)
   and close. Nothing else is accepted before ``welcome``.

Then, in any order: the device sends ``heartbeat``, ``capabilities``, ``status``,
``command_ack``, ``job_status``, ``counters`` (a consistent reading of its
counters) and ``supplies`` (its supply levels); the gateway sends ``command`` (until the device
acknowledges it, a command is delivered again on every new session, to any
gateway replica), ``notify`` (a hint that something changed for the device; never
acknowledged nor stored) and ``error`` (non-fatal ones keep the connection).
A device ignores a gateway frame type it does not know, so new gateway frames do
not change the protocol version.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from shared.events.contracts.gateway import CounterValue, SupplyLevel
from shared.printing.capabilities import Capabilities

PROTOCOL_VERSION = 1
AUTH_CONTEXT = b"printcloud-device-login:v1:"
MAX_FRAME_BYTES = 256 * 1024
_B64URL = r"^[A-Za-z0-9_-]+$"


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- gateway -> device


class Hello(_Frame):
    """First frame on every connection: the challenge to sign."""

    type: Literal["hello"] = "hello"
    protocol: int = PROTOCOL_VERSION
    nonce: str = Field(pattern=_B64URL, min_length=43, max_length=43)
    gateway: str
    server_time: AwareDatetime


class Welcome(_Frame):
    """Authentication succeeded: who the device is for the cloud."""

    type: Literal["welcome"] = "welcome"
    device_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: Literal["printer", "connector"]
    session_id: uuid.UUID
    heartbeat_interval_s: float = Field(gt=0)


class Command(_Frame):
    """Something for the device to do; acknowledge it with ``command_ack``."""

    type: Literal["command"] = "command"
    command_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)
    target_device_id: uuid.UUID | None = Field(
        default=None, description="For a connector: the bridged printer it is meant for."
    )
    issued_at: AwareDatetime


class Notify(_Frame):
    """A hint: work is available, a job was canceled, a session opened or closed.

    Not acknowledged and not stored: a device that misses it finds the same state
    when it next lists its jobs (on every connect and periodically).
    """

    type: Literal["notify"] = "notify"
    kind: Literal["work_available", "job_canceled", "session_opened", "session_closed"]
    job_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    target_device_id: uuid.UUID | None = Field(
        default=None, description="For a connector: the bridged printer it is about."
    )
    detail: dict[str, Any] = Field(default_factory=dict)


class Error(_Frame):
    """A refused frame (``fatal``: the gateway closes the connection after it)."""

    type: Literal["error"] = "error"
    code: str
    message: str
    fatal: bool = False
    in_reply_to: str | None = Field(default=None, description="The refused frame's type.")


# ---------------------------------------------------------------- device -> gateway


class Auth(_Frame):
    """The device proves possession of its private key by signing the nonce."""

    type: Literal["auth"] = "auth"
    protocol: int = Field(ge=1)
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature: str = Field(pattern=_B64URL, min_length=40, max_length=200)
    device_id: uuid.UUID | None = None
    agent: str = Field(default="", max_length=200)


class Heartbeat(_Frame):
    """I am alive (also keeps idle proxies from closing the socket)."""

    type: Literal["heartbeat"] = "heartbeat"
    seq: int = Field(ge=0)


class CapabilitiesReport(_Frame):
    """What the device (or, for a connector, one bridged printer) can do."""

    type: Literal["capabilities"] = "capabilities"
    capabilities: Capabilities
    device_id: uuid.UUID | None = Field(
        default=None, description="A bridged printer's id (connectors only)."
    )


class StatusReport(_Frame):
    """The device's state in IPP terms (printer-state and reasons)."""

    type: Literal["status"] = "status"
    state: Literal["idle", "processing", "stopped"]
    reasons: list[str] = Field(default_factory=list, max_length=50)
    message: str = Field(default="", max_length=1000)
    device_id: uuid.UUID | None = None


class CommandAck(_Frame):
    """The device finished with a command (it will not be delivered again)."""

    type: Literal["command_ack"] = "command_ack"
    command_id: uuid.UUID
    outcome: Literal["done", "failed", "rejected"]
    detail: str = Field(default="", max_length=2000)


class JobStatus(_Frame):
    """Progress of a print job on the device."""

    type: Literal["job_status"] = "job_status"
    job_id: uuid.UUID
    state: Literal["received", "printing", "completed", "failed", "canceled"]
    detail: str = Field(default="", max_length=2000)
    device_id: uuid.UUID | None = None


class CountersReport(_Frame):
    """A reading of the device's counters, taken while no job ran.

    The device reads its job-activity sequence, then the counters, then the
    sequence again, and reads again until both sequences are equal; ``attempts``
    says how many reads it took. The cloud refuses a reading whose sequences differ.
    """

    type: Literal["counters"] = "counters"
    reading_id: uuid.UUID
    counters: list[CounterValue] = Field(min_length=1, max_length=256)
    activity_before: int = Field(ge=0)
    activity_after: int = Field(ge=0)
    attempts: int = Field(default=1, ge=1, le=100)
    source: Literal["device", "ipp"] = "device"
    device_id: uuid.UUID | None = None


class SuppliesReport(_Frame):
    """The device's supply levels (toner, ink, drum ...) per colour."""

    type: Literal["supplies"] = "supplies"
    supplies: list[SupplyLevel] = Field(min_length=1, max_length=64)
    source: Literal["device", "ipp"] = "device"
    device_id: uuid.UUID | None = None


DeviceFrame = Annotated[
    Auth
    | Heartbeat
    | CapabilitiesReport
    | StatusReport
    | CommandAck
    | JobStatus
    | CountersReport
    | SuppliesReport,
    Field(discriminator="type"),
]
GatewayFrame = Annotated[Hello | Welcome | Command | Notify | Error, Field(discriminator="type")]

DEVICE_FRAMES: TypeAdapter[DeviceFrame] = TypeAdapter(DeviceFrame)
GATEWAY_FRAMES: TypeAdapter[GatewayFrame] = TypeAdapter(GatewayFrame)


def auth_message(nonce: str) -> bytes:
    """What the device signs: a purpose-bound prefix and the connection's nonce."""
    return AUTH_CONTEXT + nonce.encode("ascii")
