"""The proof a device gives to get a device access token (``POST /v1/device-token``).

The device signs ``printcloud-device-token\\n{device_id}\\n{timestamp}`` (UTF-8, the
timestamp in unix seconds) with its own key: Ed25519, or ECDSA P-256 with SHA-256
(``raw`` r || s, as on the device websocket; DER is accepted too). The server
accepts a timestamp within a minute of its clock and only if it is greater than
the last one that device used, so a captured request cannot be replayed.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import PublicKey
from shared.crypto.signatures import PrivateKey, sign, verify

DEVICE_TOKEN_CONTEXT = "printcloud-device-token"


def device_token_message(device_id: uuid.UUID | str, timestamp: int) -> bytes:
    """The exact bytes a device signs for a device access token."""
    return f"{DEVICE_TOKEN_CONTEXT}\n{uuid.UUID(str(device_id))}\n{int(timestamp)}".encode()


def device_token_request(
    key: PrivateKey, device_id: uuid.UUID | str, *, timestamp: int | None = None
) -> dict[str, Any]:
    """The JSON body of ``POST /v1/device-token``, signed with the device's private key.

    ``timestamp`` defaults to now; a device asking more than once a second passes
    one greater than its previous (the server refuses a timestamp it has seen).
    """
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    signature = sign(key, device_token_message(device_id, stamp))
    return {
        "device_id": str(uuid.UUID(str(device_id))),
        "timestamp": stamp,
        "signature": b64url_encode(signature),
    }


def verify_device_signature(key: PublicKey, message: bytes, signature: bytes) -> bool:
    """A device's or phone's signature of ``message``: Ed25519, or P-256 as raw r || s or
    as DER (both encode the same signature; devices use raw, phone platforms DER)."""
    return verify(key, message, signature, ecdsa_encoding="raw") or verify(
        key, message, signature, ecdsa_encoding="der"
    )
