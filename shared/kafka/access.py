"""How a process reaches the broker: its address and, when the broker asks for them,
the credentials it connects with.

Every Kafka client Printcloud creates (producers, consumers, admin clients, the faust
app) takes its connection options from :meth:`KafkaAccess.client_options`, so a
process connects everywhere with one identity. With a username the connection is
``SASL_SSL`` with ``SCRAM-SHA-512``: the password never crosses the network, and
TLS verifies the broker against ``ca_file`` (or the system's trust store). Without a
username it is ``PLAINTEXT``, which a Printcloud broker refuses.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

from aiokafka.helpers import create_ssl_context

SASL_MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class KafkaAccess:
    """The broker's address and this process's Kafka identity."""

    bootstrap: str
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""

    @property
    def security_protocol(self) -> str:
        """``SASL_SSL`` with credentials, ``PLAINTEXT`` without."""
        return "SASL_SSL" if self.username else "PLAINTEXT"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context that verifies the broker (None for a plaintext connection)."""
        if not self.username:
            return None
        context: ssl.SSLContext = create_ssl_context(cafile=self.ca_file or None)
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin, client)."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.username:
            options.update(
                sasl_mechanism=SASL_MECHANISM,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
                ssl_context=self.ssl_context(),
            )
        return options

    def environment(self, prefix: str) -> dict[str, str]:
        """The settings that give a process this access, as environment variables under
        ``prefix`` (``PRINTCLOUD_QUEUES_`` -> ``PRINTCLOUD_QUEUES_KAFKA_USERNAME`` ...)."""
        return {
            f"{prefix}KAFKA_BOOTSTRAP": self.bootstrap,
            f"{prefix}KAFKA_USERNAME": self.username,
            f"{prefix}KAFKA_PASSWORD": self.password,
            f"{prefix}KAFKA_CA_FILE": self.ca_file,
        }

    def client_properties(self) -> list[str]:
        """The same identity as librdkafka client properties (``kcat -F <file>``), without
        the bootstrap address, which tools take as an option. They name ``PLAIN`` (over
        TLS), which a Printcloud broker takes beside SCRAM: librdkafka before 2.6.1
        (Debian's kcat) fails SCRAM against Kafka 4."""
        if not self.username:
            return ["security.protocol=PLAINTEXT"]
        return [
            "security.protocol=SASL_SSL",
            "sasl.mechanism=PLAIN",
            f"sasl.username={self.username}",
            f"sasl.password={self.password}",
            *([f"ssl.ca.location={self.ca_file}"] if self.ca_file else []),
        ]

    def as_user(self, username: str, password: str) -> KafkaAccess:
        """The same broker reached with another identity."""
        return KafkaAccess(self.bootstrap, username, password, self.ca_file)
