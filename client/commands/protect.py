"""Protected printing: encrypt a document so that only one printer can read it.

The printer's ephemeral key comes either through the cloud
(``GET /v1/devices/{id}/e2e-key``) or from the printer itself (the QR code it shows,
read by ``printcloud phone print``); either way it is used only when its offer is
signed by the device key the cloud holds for that printer. The document is checked
and its pages counted here (the cloud cannot read it), then encrypted chunk by chunk
into a temporary file (never whole in memory) that ``printcloud print`` uploads as
``application/vnd.printcloud.e2e`` and submits to that printer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import x25519

from client.api import Client, CliError
from shared.crypto.e2e import E2EError, KeyOffer, encrypt, verify_offer
from shared.crypto.encoding import b64url_decode
from shared.crypto.keys import fingerprint, load_public_key_bytes
from shared.errors import DomainError
from shared.printing.documents import AUTO, inspect

PROTECTED_TITLE = "protected document"
"""The title the cloud sees unless one is given: a file's name may say too much."""


@dataclass(frozen=True)
class Recipient:
    """A printer's verified ephemeral key."""

    offer: KeyOffer
    public: x25519.X25519PublicKey
    device_fingerprint: str


async def verified_recipient(
    client: Client, printer_id: str, offer: KeyOffer | None = None, pin: str | None = None
) -> Recipient:
    """The printer's ephemeral key (``offer``: the one its QR code showed, else the one
    it published), checked against the device key the cloud holds for the printer
    (and, with ``pin``, that key's fingerprint); CliError when it does not check."""
    try:
        device_id = uuid.UUID(printer_id)
    except ValueError:
        raise CliError(f"{printer_id!r} is not a printer id (a UUID)") from None
    view = await client.request("GET", f"/v1/devices/{device_id}/e2e-key")
    der = b64url_decode(str(view["device_public_key"]))
    device_fingerprint = fingerprint(der)
    if pin is not None and pin.lower() != device_fingerprint:
        raise CliError(
            f"the printer's device key has fingerprint {device_fingerprint}, not {pin}: "
            "refusing to encrypt to it"
        )
    chosen = offer if offer is not None else KeyOffer.from_json(view)
    try:
        public = verify_offer(chosen, load_public_key_bytes(der), device_id)
    except (E2EError, ValueError) as exc:
        raise CliError(f"the printer's end-to-end key cannot be trusted: {exc}") from None
    return Recipient(chosen, public, device_fingerprint)


def real_format(path: Path, given: str) -> tuple[str, int]:
    """The document's format and pages, read here from its content (the cloud cannot)."""
    with path.open("rb") as handle:
        try:
            found = inspect(handle, given or AUTO)
        except DomainError as exc:
            raise CliError(f"{path}: {exc}") from None
    return found.format, found.pages


def seal(path: Path, recipient: Recipient, content_type: str, into: Path) -> int:
    """Encrypt ``path`` for ``recipient`` into ``into``, streamed; its size."""
    offer = recipient.offer
    with path.open("rb") as src, into.open("wb") as out:
        encrypt(src.read, out.write, recipient.public, offer.device_id, offer.key_id,
                content_type)  # fmt: skip
    return into.stat().st_size
