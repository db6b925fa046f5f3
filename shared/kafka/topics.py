"""The one declared table of Printcloud topics.

Everything that creates topics (``printcloud topics create``, the Kubernetes
``KafkaTopic`` resources) and everything that documents them reads this table;
a topic is never typed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """A topic: its name, owner, partition key, partitions and retention."""

    name: str
    owner: str
    key: str
    description: str
    partitions: int = 6
    retention_ms: int = 7 * DAY_MS
    compacted: bool = False
    audited: bool = False
    """Its events are administrative changes: the audit service records those a person,
    a service account or the operator caused (docs/audit.md)."""
    extra_config: dict[str, str] = field(default_factory=dict)

    def config(self, replication_factor: int = 1) -> dict[str, str]:
        """Broker-side topic configuration.

        With three replicas, ``min.insync.replicas=2`` makes acks=all mean "on two
        brokers"; a single-broker development cluster can only ask for one.
        """
        cfg = {
            "cleanup.policy": "compact" if self.compacted else "delete",
            "retention.ms": str(-1 if self.compacted else self.retention_ms),
            "min.insync.replicas": str(min(2, replication_factor)),
        }
        cfg.update(self.extra_config)
        return cfg


DEAD_LETTER_TOPIC = "printcloud.dead-letter"

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        name="registry.tenants",
        audited=True,
        owner="registry",
        key="tenant_id",
        description="Tenant lifecycle: created, renamed, suspended.",
        partitions=3,
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="registry.printers",
        audited=True,
        owner="registry",
        key="printer_id",
        description="Printer lifecycle, capabilities and connection state.",
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="registry.virtual-printers",
        audited=True,
        owner="registry",
        key="virtual_printer_id",
        description="Virtual printers (shared pull-print queues) and their members.",
        partitions=3,
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="devices.telemetry",
        owner="gateway",
        key="device_id",
        description="What devices report: capabilities, status, counters, supply levels.",
        partitions=12,
        retention_ms=7 * DAY_MS,
    ),
    TopicSpec(
        name="devices.commands",
        owner="registry",
        key="device_id",
        description="Commands for devices, delivered by the gateway until acknowledged.",
        partitions=12,
        retention_ms=7 * DAY_MS,
    ),
    TopicSpec(
        name="devices.command-acks",
        owner="gateway",
        key="device_id",
        description="Devices' acknowledgements of commands (done, failed, rejected).",
        partitions=12,
        retention_ms=7 * DAY_MS,
    ),
    TopicSpec(
        name="devices.presence",
        owner="gateway",
        key="device_id",
        description="Devices connecting to and disconnecting from gateway replicas.",
        partitions=12,
        retention_ms=7 * DAY_MS,
    ),
    TopicSpec(
        name="registry.devices",
        audited=True,
        owner="registry",
        key="device_id",
        description="Devices (printers and connectors) claimed for a tenant, with their keys.",
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="auth.users",
        audited=True,
        owner="auth",
        key="user_id",
        description="Users and service accounts: created, updated (full state), deleted.",
        partitions=3,
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="auth.tokens",
        audited=True,
        owner="auth",
        key="token_id",
        description="API tokens created and revoked (never the secret).",
        partitions=3,
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="auth.device-credentials",
        audited=True,
        owner="auth",
        key="device_id",
        description=(
            "Device public keys issued and revoked; compacted, so the latest state of every "
            "device stays readable and each gateway replica loads all of them at start."
        ),
        compacted=True,
    ),
    TopicSpec(
        name="auth.groups",
        owner="auth",
        key="group_id",
        description=(
            "Groups of users: created, updated, deleted, each with the group's full state; "
            "compacted, so a new reader learns every group's latest state."
        ),
        partitions=3,
        compacted=True,
        audited=True,
    ),
    TopicSpec(
        name="queues.jobs",
        owner="queues",
        key="job_id",
        description="Print jobs: submitted, then one event per change of state (held, "
        "queued, moved, sent, printing, completed, failed, canceled, expired).",
        partitions=12,
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="queues.documents",
        owner="queues",
        key="document_id",
        description="Stored documents deleted by retention, by their owner or with their job.",
        partitions=3,
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="routing.decisions",
        owner="routing",
        key="job_id",
        description="Where and when each job goes: into a printer's queue now, or held.",
        partitions=12,
        retention_ms=7 * DAY_MS,
    ),
    TopicSpec(
        name="routing.policies",
        owner="routing",
        key="policy_id",
        description=(
            "Print policies created, updated and deleted, each with the policy's full state "
            "and the tenant's policy version; compacted."
        ),
        partitions=3,
        compacted=True,
        audited=True,
    ),
    TopicSpec(
        name="devices.notifications",
        owner="queues",
        key="device_id",
        description="Hints for devices (work available, job canceled, a user's session at "
        "the printer), forwarded by the gateway; never acknowledged.",
        partitions=12,
        retention_ms=1 * DAY_MS,
    ),
    TopicSpec(
        name="auth.device-logins",
        owner="auth",
        key="printer_id",
        description="Users who proved they stand at a printer (phone login): sessions to open.",
        partitions=3,
        retention_ms=7 * DAY_MS,
    ),
    TopicSpec(
        name="consumables.orders",
        audited=True,
        owner="consumables",
        key="printer_id",
        description=(
            "Supply orders (created, sent, shipped, delivered, installed, canceled, rejected) "
            "and warnings about low supplies, per printer."
        ),
        partitions=6,
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="counters.quotas",
        audited=True,
        owner="counters",
        key="quota_id",
        description=(
            "Usage against each quota for its current period; compacted, so routing loads "
            "the latest state of every quota at start."
        ),
        partitions=3,
        compacted=True,
    ),
    TopicSpec(
        name="counters.usage",
        owner="counters",
        key="tenant_id",
        description=(
            "Usage rolled up per tenant, user and printer by hour, day and month: the "
            "window's totals, republished whenever a (late) job changes them."
        ),
        partitions=6,
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="counters.devices",
        owner="counters",
        key="printer_id",
        description="What counters concluded from devices' readings: counter resets.",
        partitions=6,
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name="notifications.endpoints",
        owner="notifications",
        key="endpoint_id",
        description="Webhook endpoints switched off because they kept failing.",
        partitions=3,
        retention_ms=30 * DAY_MS,
    ),
    TopicSpec(
        name=DEAD_LETTER_TOPIC,
        owner="shared",
        key="original key",
        description=(
            "Messages a consumer could not apply, unchanged, with the reason, the consumer "
            "and the original topic/partition/offset in headers."
        ),
        partitions=3,
        retention_ms=30 * DAY_MS,
    ),
)


AUDITED_TOPICS: tuple[str, ...] = tuple(t.name for t in TOPICS if t.audited)
"""The topics of administrative changes, which the audit service reads."""


def topic(name: str) -> TopicSpec:
    """Look a topic up by name; a typo is a KeyError naming the known topics."""
    for spec in TOPICS:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown topic {name!r}; declared: {[t.name for t in TOPICS]}")
