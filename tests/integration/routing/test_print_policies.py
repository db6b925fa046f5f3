"""Print policies with the real routing and queues services on real Kafka and Postgres:
each rule adjusts or refuses jobs whichever way they came in (the jobs API, pull print
released at a printer, a reservation), the job shows which policy changed what or
refused it and the version it was decided with; a policy change leaves jobs already
decided as they were; groups (transitive) come from ``auth.groups``; bad policies are
refused naming the field and change nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.events.contracts.groups import GroupCreated, GroupDeleted, GroupUpdated
from shared.testing.documents import pdf
from shared.testing.fixtures import ServiceDbFactory
from tests.support.kafka import envelopes
from tests.support.queues import Queues, User, queues_app
from tests.support.routing import OPERATOR, Routing, start_routing
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


class Rig:
    """Queues and routing of one tenant, talking over Kafka."""

    def __init__(self, q: Queues, routing: Routing) -> None:
        self.q = q
        self.routing = routing
        self.tenant = q.tenant
        self.group_revisions: dict[uuid.UUID, int] = {}

    # --- policies (an operator, for the rig's tenant) ---------------------------------

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        resp = await self.routing.client.request(
            method, path, params={"tenant_id": str(self.tenant)}, headers=OPERATOR, **kwargs
        )
        body = await resp.json(content_type=None) if resp.status != 204 else None
        return resp.status, body

    async def policy(self, name: str, rules: dict[str, Any], **where: Any) -> dict[str, Any]:
        scope = "group" if "group_id" in where else "printer" if "printer_id" in where else "tenant"
        body = {"name": name, "scope": scope, "rules": rules, **where}
        status, saved = await self.call("POST", "/v1/policies", json=body)
        assert status == 201, saved
        return dict(saved)

    async def version(self) -> int:
        status, body = await self.call("GET", "/v1/policies")
        assert status == 200, body
        return int(body["version"])

    # --- the world ------------------------------------------------------------------

    async def printer(self) -> uuid.UUID:
        """A printer known to queues and routing, online."""
        pid = await self.q.printer()
        await self.routing.connection(pid, self.tenant, online=True, since=timedelta(hours=2))
        return pid

    async def group(
        self, name: str, users: list[uuid.UUID], groups: list[uuid.UUID] | None = None,
        group_id: uuid.UUID | None = None,
    ) -> uuid.UUID:  # fmt: skip
        """A group created (or updated) as auth announces it, once routing knows it."""
        gid = group_id or uuid.uuid4()
        revision = self.group_revisions.get(gid, 0) + 1
        self.group_revisions[gid] = revision
        state = {
            "group_id": gid, "tenant_id": self.tenant, "revision": revision, "name": name,
            "source": "local", "member_user_ids": sorted(users),
            "member_group_ids": sorted(groups or []),
        }  # fmt: skip
        event = GroupCreated(**state) if revision == 1 else GroupUpdated(**state, changed=["x"])
        await self.q.publish(event)
        await self.known_group(gid, revision)
        return gid

    async def known_group(self, gid: uuid.UUID, revision: int) -> None:
        async def known() -> bool:
            row = await self.routing.fetchrow(
                "SELECT 1 FROM groups WHERE group_id = $1 AND revision >= $2", gid, revision
            )
            return row is not None

        await eventually(known)

    # --- jobs -----------------------------------------------------------------------

    async def job(self, who: User, job_id: str) -> dict[str, Any]:
        resp = await self.q.client.get(f"/v1/jobs/{job_id}", headers=who.headers)
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())

    async def decided(self, who: User, job_id: str, state: str) -> dict[str, Any]:
        """The job once queues applied routing's decision and it is in ``state``."""
        await self.q.state(job_id, state, timeout=60)
        return await self.job(who, job_id)

    async def sent(self, who: User, state: str, **body: Any) -> dict[str, Any]:
        """A job submitted through the jobs API, once decided and in ``state``."""
        return await self.decided(who, await self.submit(who, **body), state)

    async def submit(self, who: User, **body: Any) -> str:
        for key in ("printer_id", "virtual_printer_id"):
            if key in body:
                body[key] = str(body[key])
        return str((await self.q.submit(who, **body))["id"])


@pytest.fixture
async def rig(
    service_db: ServiceDbFactory, bootstrap: str, topics: object, tmp_path: Path
) -> AsyncIterator[Rig]:
    async with (
        queues_app(service_db, bootstrap, tmp_path / "blobs") as q,
        start_routing(service_db, bootstrap) as routing,
    ):
        yield Rig(q, routing)


def changes(job: dict[str, Any]) -> set[tuple[str, str, Any]]:
    """(policy name, setting, new value) of each adjustment the job shows."""
    return {(a["policy_name"], a["setting"], a["after"]) for a in job["policy"]["adjustments"]}


COLOUR_SIMPLEX = {"print_color_mode": "color", "sides": "one-sided", "copies": 5}


async def test_adjustments_apply_through_the_api_a_release_and_a_reservation(rig: Rig) -> None:
    ada, dee = await rig.q.user(), await rig.q.user(name="Dee Signer")
    printer, other = await rig.printer(), await rig.printer()
    vp = await rig.q.virtual_printer([printer, other])
    team = await rig.group("Design team", [dee.id])
    design = await rig.group("Design", [], [team])
    await rig.policy("Save paper", {"force_duplex": True})
    await rig.policy("Monochrome", {"force_monochrome": True})
    await rig.policy("Few copies", {"max_copies": 2})
    await rig.policy("Design may use colour", {"force_monochrome": False}, group_id=str(design))
    version = await rig.version()
    assert version == 4

    # The jobs API.
    job = await rig.sent(ada, "queued", printer_id=printer, settings=COLOUR_SIMPLEX)
    assert job["settings"]["sides"] == "two-sided-long-edge"
    assert job["settings"]["print_color_mode"] == "monochrome"
    assert job["settings"]["copies"] == 2
    assert job["policy"]["version"] == version and job["policy"]["refusal"] is None
    assert changes(job) == {
        ("Save paper", "sides", "two-sided-long-edge"),
        ("Monochrome", "print_color_mode", "monochrome"),
        ("Few copies", "copies", 2),
    }
    assert "policy 'Few copies' set copies 5 -> 2" in job["state_detail"]
    # A member of a member group of Design keeps colour: the group beats the tenant.
    colour = await rig.sent(dee, "queued", printer_id=printer, settings=COLOUR_SIMPLEX)
    assert colour["settings"]["print_color_mode"] == "color"
    assert {c[0] for c in changes(colour)} == {"Save paper", "Few copies"}

    # Pull print: judged when submitted, released as judged.
    pulled = await rig.submit(ada, virtual_printer_id=vp, settings=COLOUR_SIMPLEX)
    held = await rig.decided(ada, pulled, "held")
    assert held["hold_reason"] == "pull" and held["settings"]["copies"] == 2
    resp = await rig.q.client.post(
        f"/v1/printers/{other}/release", json={"job_ids": [pulled]}, headers=ada.headers
    )
    assert resp.status == 200, await resp.text()
    released = await rig.decided(ada, pulled, "queued")
    assert released["printer_id"] == str(other)
    assert released["settings"] == held["settings"] and released["policy"] == held["policy"]
    assert released["settings"]["print_color_mode"] == "monochrome"

    # A reservation's jobs.
    await rig.q.upload(ada, pdf(2, "kept"), keep="true", title="kept")
    deadline = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    body = {"printer_id": str(printer), "max_count": 5, "max_pages": 100, "deadline": deadline,
            "settings": {"copies": 3, "sides": "one-sided"}}  # fmt: skip
    resp = await rig.q.client.post("/v1/reservations", json=body, headers=ada.headers)
    assert resp.status == 201, await resp.text()
    [reserved] = (await resp.json())["jobs"]
    reserved = await rig.decided(ada, reserved["id"], "queued")
    assert reserved["settings"]["copies"] == 2 and reserved["reservation_id"] is not None
    assert ("Save paper", "sides", "two-sided-long-edge") in changes(reserved)

    # The decision on routing.decisions carries the same, and routing shows it.
    [routed] = await envelopes(rig.q.bootstrap, "routing.decisions", key=job["id"], count=1)
    assert routed["version"] == 2 and routed["data"]["policy_version"] == version
    assert {a["policy_name"] for a in routed["data"]["adjustments"]} == {
        "Save paper", "Monochrome", "Few copies"}  # fmt: skip
    resp = await rig.routing.client.get(f"/v1/jobs/{job['id']}/routing", headers=OPERATOR)
    [first] = (await resp.json())["decisions"]
    assert first["policy_version"] == version and len(first["adjustments"]) == 3


async def test_refusals_name_the_policy_on_every_way_in(rig: Rig) -> None:
    ada = await rig.q.user()
    printer, plotter = await rig.printer(), await rig.printer()
    vp = await rig.q.virtual_printer([printer])
    await rig.policy("Short jobs", {"max_pages": 3})
    await rig.policy("Raster only", {"document_formats": ["image/pwg-raster"]},
                     printer_id=str(plotter))  # fmt: skip

    # Too many pages (2 pages x 2 copies), through the API: failed, the policy named.
    refused = await rig.sent(ada, "failed", printer_id=printer, settings={"copies": 2})
    assert refused["policy"]["refusal"]["policy_name"] == "Short jobs"
    assert refused["policy"]["refusal"]["rule"] == "max_pages"
    assert refused["state_detail"] == (
        "refused by policy 'Short jobs': the job prints 4 pages, more than 3 per job"
    )
    assert refused["policy"]["adjustments"] == [] and refused["printer_id"] == str(printer)
    # A document type the printer's policy does not allow.
    pdf_job = await rig.sent(ada, "failed", printer_id=plotter)
    assert "refused by policy 'Raster only'" in pdf_job["state_detail"]
    # Pull print: refused before anyone can release it.
    pulled = await rig.sent(ada, "failed", virtual_printer_id=vp, settings={"copies": 2})
    assert pulled["policy"]["refusal"]["policy_name"] == "Short jobs"
    resp = await rig.q.client.post(
        f"/v1/printers/{printer}/release", json={"job_ids": [pulled["id"]]}, headers=ada.headers
    )
    assert resp.status == 409, await resp.text()
    # Outside the allowed hours (a window that is never now), through a reservation.
    start = datetime.now(UTC) + timedelta(hours=2)
    hours = {
        "timezone": "UTC",
        "start": f"{start:%H}:00",
        "end": f"{start + timedelta(hours=1):%H}:00",
    }
    await rig.policy("Office hours", {"allowed_hours": hours})
    await rig.q.upload(ada, pdf(1, "kept"), keep="true", title="kept")
    deadline = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    body = {"printer_id": str(printer), "max_count": 1, "max_pages": 10, "deadline": deadline}
    resp = await rig.q.client.post("/v1/reservations", json=body, headers=ada.headers)
    assert resp.status == 201, await resp.text()
    [reserved] = (await resp.json())["jobs"]
    reserved = await rig.decided(ada, reserved["id"], "failed")
    assert (
        "refused by policy 'Office hours': submitted outside the allowed hours"
        in (reserved["state_detail"])
    )
    # The refusal is on routing.decisions too, and nothing else was decided for it.
    [routed] = await envelopes(
        rig.q.bootstrap, "routing.decisions", key=refused["id"], count=1, settle_s=1.0
    )
    assert (routed["data"]["action"], routed["data"]["reason"]) == ("refuse", "policy")
    assert routed["data"]["refusal"]["policy_name"] == "Short jobs"


async def test_colour_jobs_wait_for_their_owner_at_the_printer(rig: Rig) -> None:
    ada = await rig.q.user()
    printer = await rig.printer()
    await rig.policy("Colour at the printer", {"colour_release_at_printer": True},
                     printer_id=str(printer))  # fmt: skip
    colour = await rig.sent(
        ada, "queued", printer_id=printer, settings={"print_color_mode": "color"}
    )
    assert colour["release"] == "secure"
    assert changes(colour) == {("Colour at the printer", "release", "secure")}
    plain = await rig.sent(ada, "queued", printer_id=printer)
    assert plain["release"] == "direct" and plain["policy"]["adjustments"] == []


async def test_a_policy_change_leaves_decided_jobs_as_they_were(rig: Rig) -> None:
    ada = await rig.q.user()
    printer = await rig.printer()
    paper = await rig.policy("Save paper", {"force_duplex": True})
    before = await rig.sent(ada, "queued", printer_id=printer, settings={"sides": "one-sided"})
    # The printer drops off: the next job is held until it is back.
    await rig.routing.connection(printer, rig.tenant, online=False, since=timedelta(hours=1))
    waiting = await rig.sent(ada, "held", printer_id=printer, settings={"sides": "one-sided"})
    assert waiting["hold_reason"] == "printer_offline"

    body = {"name": "Save paper", "scope": "tenant", "rules": {"force_duplex": False}}
    status, saved = await rig.call("PUT", f"/v1/policies/{paper['policy_id']}", json=body)
    assert status == 200, saved
    assert (saved["revision"], saved["version"]) == (2, paper["version"] + 1)

    after = await rig.sent(ada, "held", printer_id=printer, settings={"sides": "one-sided"})
    assert after["policy"] == {"version": saved["version"], "adjustments": [], "refusal": None}
    assert after["settings"]["sides"] == "one-sided"
    # The printer is back: the held jobs are queued as they were decided.
    await rig.routing.connection(printer, rig.tenant, online=True, since=timedelta(0))
    for job_id, version, sides in (
        (before["id"], paper["version"], "two-sided-long-edge"),
        (waiting["id"], paper["version"], "two-sided-long-edge"),
        (after["id"], saved["version"], "one-sided"),
    ):
        job = await rig.decided(ada, job_id, "queued")
        assert (job["policy"]["version"], job["settings"]["sides"]) == (version, sides)
        assert job["printer_id"] == str(printer)
    # Each job decided with its own version (the held ones re-decided once, with the same
    # version): none lost, none queued twice.
    for job_id, count in ((before["id"], 1), (waiting["id"], 2), (after["id"], 2)):
        found = await envelopes(
            rig.q.bootstrap, "routing.decisions", key=job_id, count=count, settle_s=1.0
        )
        assert [d["data"]["decision"] for d in found] == list(range(1, count + 1))
        assert {d["data"]["policy_version"] for d in found} == {
            paper["version"] if job_id != after["id"] else saved["version"]
        }
    async with rig.q.db() as conn:
        rows = await conn.fetch(
            "SELECT job_id, count(*) AS n FROM job_history WHERE state = 'queued'"
            " AND job_id = ANY($1::uuid[]) GROUP BY job_id",
            [uuid.UUID(j) for j in (before["id"], waiting["id"], after["id"])],
        )
    assert sorted(r["n"] for r in rows) == [1, 1, 1]
    # The policies as they were at the first version are still readable.
    resp = await rig.routing.client.get(
        "/v1/policies",
        params={"tenant_id": str(rig.tenant), "version": str(paper["version"])},
        headers=OPERATOR,
    )
    then = await resp.json()
    assert [p["rules"]["force_duplex"] for p in then["policies"]] == [True]
    assert then["version"] == paper["version"]
    # Every change is an event with the policy's full state and the version it made.
    status, _ = await rig.call("DELETE", f"/v1/policies/{paper['policy_id']}")
    assert status == 204
    changes_ = await envelopes(
        rig.q.bootstrap, "routing.policies", key=paper["policy_id"], count=3, settle_s=1.0
    )
    assert [(e["type"], e["data"]["revision"], e["data"]["policy_version"]) for e in changes_] == [
        ("print_policy.created", 1, paper["version"]),
        ("print_policy.updated", 2, saved["version"]),
        ("print_policy.deleted", 2, saved["version"] + 1),
    ]
    assert [e["data"].get("rules", {}).get("force_duplex") for e in changes_] == [True, False, None]
    assert {e["tenant_id"] for e in changes_} == {str(rig.tenant)}


async def test_group_policies_follow_the_groups_auth_announces(rig: Rig) -> None:
    ada = await rig.q.user()
    printer = await rig.printer()
    team = await rig.group("Team", [ada.id])
    company = await rig.group("Company", [], [team])
    await rig.policy("Company copies", {"max_copies": 1}, group_id=str(company))
    one = await rig.sent(ada, "queued", printer_id=printer, settings={"copies": 3})
    assert one["settings"]["copies"] == 1
    # Ada leaves the team: the company policy no longer applies to her new jobs.
    await rig.group("Team", [], group_id=team)
    two = await rig.sent(ada, "queued", printer_id=printer, settings={"copies": 3})
    assert two["settings"]["copies"] == 3 and two["policy"]["adjustments"] == []
    # An older revision replayed changes nothing; a deleted group never comes back.
    stale = GroupCreated(group_id=team, tenant_id=rig.tenant, revision=1, name="Team",
                         source="local", member_user_ids=[ada.id], member_group_ids=[])  # fmt: skip
    deleted = GroupDeleted(group_id=company, tenant_id=rig.tenant, revision=2)
    await rig.q.publish(stale, deleted)

    async def gone() -> bool:
        row = await rig.routing.fetchrow("SELECT deleted FROM groups WHERE group_id = $1", company)
        return row is not None and row["deleted"]

    await eventually(gone)
    row = await rig.routing.fetchrow("SELECT revision, member_user_ids FROM groups"
                                     " WHERE group_id = $1", team)  # fmt: skip
    assert row is not None and (row["revision"], row["member_user_ids"]) == (2, [])
    await rig.q.publish(GroupUpdated(group_id=company, tenant_id=rig.tenant, revision=1 + 1,
                                     name="Company", source="local", member_user_ids=[ada.id],
                                     member_group_ids=[], changed=["member_user_ids"]))  # fmt: skip
    # The same key's next event is applied after it: then the company is still gone.
    await rig.q.publish(GroupDeleted(group_id=company, tenant_id=rig.tenant, revision=3))
    await rig.known_group(company, 3)
    three = await rig.sent(ada, "queued", printer_id=printer, settings={"copies": 3})
    assert three["settings"]["copies"] == 3


async def test_bad_policies_are_refused_naming_the_field_and_change_nothing(rig: Rig) -> None:
    printer = await rig.printer()
    foreign = await rig.q.printer(tenant=uuid.uuid4())
    await rig.policy("Save paper", {"force_duplex": True})
    version = await rig.version()
    bad: list[tuple[dict[str, Any], int, str, str]] = [
        ({"scope": "group", "group_id": str(uuid.uuid4())}, 422, "group_id",
         "no such group in this tenant"),
        ({"scope": "printer", "printer_id": str(foreign)}, 422, "printer_id",
         "no such printer in this tenant"),
        ({"rules": {"allowed_hours": {"timezone": "Europe/Atlantis", "start": "08:00",
                                      "end": "18:00"}}}, 422,
         "rules.allowed_hours.timezone", "unknown time zone"),
        ({"rules": {"allowed_hours": {"timezone": "UTC", "start": "8h", "end": "18:00"}}}, 422,
         "rules.allowed_hours.start", "time"),
        ({"rules": {"allowed_hours": {"timezone": "UTC", "start": "08:00", "end": "08:00"}}},
         422, "rules.allowed_hours.end", "empty"),
        ({"rules": {}}, 422, "rules", "at least one rule"),
        ({"scope": "tenant", "printer_id": str(printer)}, 422, "printer_id", "only with scope"),
        ({"name": "Save paper"}, 409, "name", "already used"),
    ]  # fmt: skip
    for change, status, field, reason in bad:
        body = {"name": "New", "scope": "tenant", "rules": {"max_pages": 5}, **change}
        resp = await rig.routing.client.post(
            "/v1/policies", json=body, params={"tenant_id": str(rig.tenant)}, headers=OPERATOR
        )
        assert resp.status == status, (change, await resp.text())
        assert resp.content_type == "application/problem+json"
        said = {e["field"]: e["reason"] for e in (await resp.json())["errors"]}
        assert field in said and reason in said[field], (change, said)
    assert await rig.version() == version
    status, body = await rig.call("GET", "/v1/policies")
    assert [p["name"] for p in body["policies"]] == ["Save paper"]
    unknown = await rig.routing.client.get(f"/v1/policies/{uuid.uuid4()}", headers=OPERATOR)
    assert unknown.status == 404
    later = await rig.routing.client.get(
        "/v1/policies", params={"tenant_id": str(rig.tenant), "version": "99"}, headers=OPERATOR
    )
    assert later.status == 404


NEVER_NOW = datetime.now(UTC) + timedelta(hours=2)
RULES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # rule: (the policy's rules, the settings the job asks for)
    "force_duplex": ({"force_duplex": True}, {"sides": "one-sided"}),
    "force_monochrome": ({"force_monochrome": True}, {"print_color_mode": "color"}),
    "max_copies": ({"max_copies": 1}, {"copies": 2}),
    "colour_release_at_printer": ({"colour_release_at_printer": True},
                                  {"print_color_mode": "color"}),
    "max_pages": ({"max_pages": 1}, {}),
    "allowed_hours": ({"allowed_hours": {"timezone": "UTC", "start": f"{NEVER_NOW:%H}:00",
                                         "end": f"{NEVER_NOW + timedelta(hours=1):%H}:00"}}, {}),
    "document_formats": ({"document_formats": ["image/pwg-raster"]}, {}),
}  # fmt: skip
ADJUSTED = {
    "force_duplex": ("sides", "two-sided-long-edge"),
    "force_monochrome": ("print_color_mode", "monochrome"),
    "max_copies": ("copies", 1),
    "colour_release_at_printer": ("release", "secure"),
}


async def test_each_rule_through_each_way_in(rig: Rig) -> None:
    """Every rule, as a printer's policy, on a job submitted to the printer (jobs API),
    a pull job released there, and a reservation there."""
    for rule, (rules, settings) in RULES.items():
        printer = await rig.printer()
        vp = await rig.q.virtual_printer([printer])

        async def vp_known(vp: uuid.UUID = vp) -> bool:
            row = await rig.routing.fetchrow(
                "SELECT 1 FROM virtual_printers WHERE virtual_printer_id = $1", vp
            )
            return row is not None

        await eventually(vp_known)
        name = f"Printer rule {rule}"
        await rig.policy(name, rules, printer_id=str(printer))
        for door in ("api", "release", "reservation"):
            who = await rig.q.user()
            case = f"{rule} through {door}"
            refused = rule not in ADJUSTED
            if door == "api":
                job = await rig.sent(
                    who, "failed" if refused else "queued", printer_id=printer, settings=settings
                )
            elif door == "release":
                job_id = await rig.submit(who, virtual_printer_id=vp, settings=settings)
                job = await rig.decided(who, job_id, "failed" if refused else "held")
                if not refused:
                    resp = await rig.q.client.post(
                        f"/v1/printers/{printer}/release", json={"job_ids": [job_id]},
                        headers=who.headers,
                    )  # fmt: skip
                    assert resp.status == 200, (case, await resp.text())
                    job = await rig.decided(who, job_id, "queued")
            else:
                await rig.q.upload(who, pdf(2, case), keep="true", title=case)
                deadline = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
                body = {"printer_id": str(printer), "max_count": 1, "max_pages": 100,
                        "deadline": deadline, "settings": settings}  # fmt: skip
                resp = await rig.q.client.post("/v1/reservations", json=body, headers=who.headers)
                assert resp.status == 201, (case, await resp.text())
                [made] = (await resp.json())["jobs"]
                job = await rig.decided(who, made["id"], "failed" if refused else "queued")
            policy = job["policy"]
            assert policy is not None and policy["version"] >= 1, case
            if refused:
                assert policy["refusal"]["policy_name"] == name, case
                assert policy["refusal"]["rule"] == rule, case
                assert job["state_detail"].startswith(f"refused by policy '{name}'"), case
                continue
            if rule == "colour_release_at_printer" and door == "release":
                # A pull job is released at the printer by its owner already.
                assert policy["adjustments"] == [] and job["release"] == "pull", case
                continue
            setting, value = ADJUSTED[rule]
            made_by = [(a["policy_name"], a["rule"], a["setting"], a["after"])
                       for a in policy["adjustments"]]  # fmt: skip
            assert made_by == [(name, rule, setting, value)], case
            shown = job["release"] if setting == "release" else job["settings"][setting]
            assert shown == value, case
