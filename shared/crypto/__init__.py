"""Cryptography every service shares, built on ``cryptography`` (never home-made).

- :mod:`~shared.crypto.encoding`: strict base64url.
- :mod:`~shared.crypto.keys`: device and signing public keys (Ed25519, ECDSA P-256)
  from PEM or base64url, their SPKI DER form, fingerprints and JWKs.
- :mod:`~shared.crypto.signatures`: signing and verifying a message (a nonce).
- :mod:`~shared.crypto.sealing`: AES-256-GCM sealing of secrets at rest under a
  key-encryption key.
"""
