"""A private certificate authority and a server certificate for a local broker.

The local Kafka broker speaks TLS on every listener. Its certificate is issued by a
CA made for that broker's data directory alone; clients trust exactly that CA
(``ca.pem``), never the system's. Files are PEM, which Kafka reads directly
(``ssl.keystore.type=PEM``): ``server.pem`` holds the private key followed by the
certificate chain.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=3650)
_CA_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class ServerTls:
    """Where a server's TLS material lives."""

    ca_file: Path
    keystore_file: Path
    subject: str

    @property
    def principal(self) -> str:
        """The Kafka principal of a peer presenting this certificate (mutual TLS)."""
        return f"User:{self.subject}"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def ensure_server_tls(directory: Path, common_name: str, hosts: list[str]) -> ServerTls:
    """A CA and a server certificate for ``hosts`` (IP addresses or DNS names) in
    ``directory``, made on the first call and reused after (clients keep trusting it)."""
    directory.mkdir(parents=True, exist_ok=True)
    tls = ServerTls(directory / "ca.pem", directory / "server.pem", f"CN={common_name}")
    if tls.ca_file.is_file() and tls.keystore_file.is_file():
        return tls
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{common_name} CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(tls.keystore_file, key_pem + cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    tls.ca_file.write_bytes(ca_cert.public_bytes(pem))
    return tls
