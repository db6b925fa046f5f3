"""Printing end to end, every part a real process: the services behind the edge, real
agents printing on simulators and on a real IPP printer (ippeveprinter), the user's
``printcloud`` commands, a phone's login from a terminal.

The platform and its printers start once for the module; each test leaves the printers
running and no job of its own waiting, as it found them."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pyipp.enums import IppOperation

from services.agent.printers.ipp import IppPrinter
from services.agent.state import StateDir
from shared.crypto.device_token import device_token_request
from shared.protocols.phone import LoginPayload, decode_login_payload, encode_login_payload
from shared.testing.documents import pdf
from shared.testing.ipp import minimal_pdf
from tests.support.jobs import POLL_S, JobsWorld
from tests.support.platform import Caller
from tests.support.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]
GRACE_S = 12  # two job listings of the agents (--jobs-interval 5) and then some


async def ipp_job_attributes(uri: str, kept: Path) -> dict[str, Any]:
    """The IPP job attributes ippeveprinter holds for the job whose document is ``kept``
    (named ``<ipp job id>-<printcloud job id>.<ext>``)."""
    printer = IppPrinter(uri, timeout=30)
    try:
        answer = await printer._execute(
            IppOperation.GET_JOB_ATTRIBUTES,
            {"operation-attributes-tag": {"job-id": int(kept.name.split("-", 1)[0]),
                                          "requested-attributes": ["all"]}},
            10,
        )  # fmt: skip
    finally:
        await printer.close()
    return dict((answer.get("jobs") or [{}])[0])


async def device_token(w: JobsWorld, state: Path, device_id: str) -> dict[str, str]:
    """A device access token of the printer whose key is in ``state``."""
    body = device_token_request(StateDir(state).private_key(), uuid.UUID(device_id))
    status, answer = await w.call("POST", "/v1/device-token", json=body)
    assert status == 200, answer
    return {"Authorization": f"Bearer {answer['access_token']}"}


async def quiet(w: JobsWorld, *names: str) -> None:
    """Let the agents of ``names`` list their jobs at least twice more."""
    await asyncio.sleep(GRACE_S)
    for name in names:
        assert w.printers[name].running, w.printers[name].log.read_text()[-3000:]


# ---------------------------------------------------------------------- direct print


async def test_direct_print_with_the_cli_lands_byte_for_byte_with_its_settings(
    jobs_world: JobsWorld, tmp_path: Path
) -> None:
    w = jobs_world
    document = pdf(1, "direct print", padding=16_384)  # binary bytes, byte for byte
    path = tmp_path / "report.pdf"
    path.write_bytes(document)
    await w.login(w.ada)
    printed = await w.cli(
        w.ada, "print", str(path), "--printer", w.printer_id("ipp"),
        "--sides", "two-sided-long-edge", "--copies", "2", "--color-mode", "monochrome",
    )  # fmt: skip
    assert printed.code == 0, printed.out
    job_id = re.search(r"job ([0-9a-f-]{36})", printed.out).group(1)  # type: ignore[union-attr]
    watched = await w.cli(w.ada, "jobs", "watch", job_id)
    assert watched.code == 0, watched.out
    assert "state=completed" in watched.out
    (kept,) = w.printers["ipp"].spooled(job_id)
    assert kept.read_bytes() == document
    attributes = await ipp_job_attributes(w.printers["ipp"].ipp.uri, kept)
    assert attributes.get("job-name") == job_id
    assert attributes.get("sides") == "two-sided-long-edge"
    assert attributes.get("copies") == 2
    assert attributes.get("print-color-mode") == "monochrome"
    job = await w.job(w.ada, job_id)
    assert job["printer_id"] == w.printer_id("ipp") and job["finished_at"]
    await quiet(w, "ipp")
    assert w.prints(job_id) == {"ipp": 1}


async def test_direct_print_over_http_prints_once_with_its_ticket(jobs_world: JobsWorld) -> None:
    w = jobs_world
    document = minimal_pdf("over http")
    settings = {"copies": 3, "media": "na_letter_8.5x11in", "sides": "two-sided-short-edge"}
    _, job = await w.submit(w.bob, document, printer=w.printer_id("a"), settings=settings)
    assert job["state"] == "pending" and job["printed_pages"] == 3
    await w.wait_state(w.bob, job["id"], "completed")
    (spooled,) = w.printers["a"].spooled(job["id"])
    assert spooled.read_bytes() == document
    ticket = json.loads((spooled.parent / ".tickets" / f"{job['id']}.json").read_text())
    assert {k: ticket["settings"][k] for k in settings} == settings
    await quiet(w, "a")
    assert w.prints(job["id"]) == {"a": 1}


async def test_a_setting_the_printer_cannot_honour_is_refused_by_name(
    jobs_world: JobsWorld, tmp_path: Path
) -> None:
    w = jobs_world
    status, problem = await w.submit(
        w.ada, minimal_pdf("refused"), printer=w.printer_id("slow"),
        settings={"sides": "two-sided-long-edge"}, expect=None,
    )  # fmt: skip
    assert status == 422, problem
    assert problem["code"] == "settings-not-supported"
    (refusal,) = problem["invalid_settings"]
    assert refusal["setting"] == "sides" and refusal["value"] == "two-sided-long-edge"
    assert refusal["allowed"] == ["one-sided"]
    assert any(e["field"] == "settings.sides" for e in problem["errors"])

    path = tmp_path / "refused.pdf"
    path.write_bytes(minimal_pdf("refused by the CLI"))
    await w.login(w.ada)
    printed = await w.cli(
        w.ada, "print", str(path), "--printer", w.printer_id("slow"),
        "--sides", "two-sided-long-edge",
    )  # fmt: skip
    assert printed.code != 0, printed.out
    assert "sides" in printed.out and "Traceback" not in printed.out
    status, mine = await w.call("GET", f"/v1/jobs?printer_id={w.printer_id('slow')}", w.ada)
    assert status == 200 and not [j for j in mine["items"] if j["state"] not in FINAL_STATES]


FINAL_STATES = {"completed", "failed", "canceled", "expired"}


# ---------------------------------------------------------------------- pull print


async def test_pull_print_releases_every_held_job_at_the_printer_the_user_stands_at(
    jobs_world: JobsWorld,
) -> None:
    w = jobs_world
    vp = w.virtual_printer_id
    jobs = [
        (await w.submit(w.ada, minimal_pdf(f"pull {i}"), virtual_printer=vp, title=f"pull {i}"))[1]
        for i in range(2)
    ]
    for job in jobs:
        held = await w.wait_state(w.ada, job["id"], "held")
        assert held["hold_reason"] == "pull" and held["printer_id"] is None
    await quiet(w, "a", "b")
    assert all(w.prints(j["id"]) == {} for j in jobs), "a held job printed"

    await w.login(w.ada)
    released = await w.cli(w.ada, "release", "--printer", w.printer_id("a"), "--all")
    assert released.code == 0, released.out
    assert "2 job(s) released" in released.out
    for job in jobs:
        done = await w.wait_state(w.ada, job["id"], "completed")
        assert done["printer_id"] == w.printer_id("a")
    await quiet(w, "a", "b")
    for job in jobs:
        assert w.prints(job["id"]) == {"a": 1}


async def test_releasing_one_job_at_two_printers_at_once_prints_it_once(
    jobs_world: JobsWorld,
) -> None:
    w = jobs_world
    winners: dict[str, str] = {}
    for round_ in range(3):
        _, job = await w.submit(
            w.ada, minimal_pdf(f"race {round_}"), virtual_printer=w.virtual_printer_id
        )
        await w.wait_state(w.ada, job["id"], "held")
        body = {"job_ids": [job["id"]]}
        answers = await asyncio.gather(
            *(
                w.call("POST", f"/v1/printers/{w.printer_id(p)}/release", w.ada, json=body)
                for p in ("a", "b")
            )
        )
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200, 409], answers
        (winner,) = [p for p, (status, _) in zip("ab", answers, strict=True) if status == 200]
        (loser,) = [answer for status, answer in answers if status == 409]
        assert loser["code"] == "release-conflict"
        assert job["id"] in json.dumps(loser["errors"])
        done = await w.wait_state(w.ada, job["id"], "completed")
        assert done["printer_id"] == w.printer_id(winner)
        winners[job["id"]] = winner
    await quiet(w, "a", "b")
    for job_id, winner in winners.items():
        assert w.prints(job_id) == {winner: 1}


async def test_a_held_job_expires_after_its_time_to_live(jobs_world: JobsWorld) -> None:
    w = jobs_world
    await w.platform.restart("queues", HELD_JOB_TTL_S="3")
    try:
        _, job = await w.submit(w.ada, minimal_pdf("expires"), virtual_printer=w.virtual_printer_id)
        expired = await w.wait_state(w.ada, job["id"], "expired", timeout=60)
        assert expired["printer_id"] is None
        released = await w.cli(w.ada, "release", "--printer", w.printer_id("a"), "--all")
        assert "0 job(s) released" in released.out or released.code != 0, released.out
    finally:
        await w.platform.restart("queues", HELD_JOB_TTL_S="86400")
    assert w.prints(job["id"]) == {}


# ---------------------------------------------------------------------- secure release


async def phone_key(w: JobsWorld, who: Caller, path: Path, *, register: bool = True) -> str:
    """A phone key made with ``printcloud phone keygen``, registered for ``who`` with
    ``printcloud phone register``; its key id (a new random id when not registered)."""
    made = await w.cli(who, "phone", "keygen", "--out", str(path))
    assert made.code == 0, made.out
    if not register:
        return str(uuid.uuid4())
    registered = await w.cli(
        who, "phone", "register", "--key", str(path), "--label", f"phone {path.stem}",
        "--url", w.base, "--token", who.api_token,
    )  # fmt: skip
    assert registered.code == 0, registered.out
    found = re.search(r" as ([0-9a-f-]{36})", registered.out)
    assert found, registered.out
    return found.group(1)


async def login_code(w: JobsWorld, name: str, *, short: bool = False) -> str:
    """The phone-login code on a printer's panel: one with at least 30 s left, or
    (``short``) one that expires within 5 s."""
    code: list[str] = []

    async def shown() -> bool:
        payload = (w.printers[name].panel().get("login") or {}).get("qr_payload")
        if payload:
            left = decode_login_payload(payload).expires_at - time.time()
            if (left <= 5) if short else (left >= 30):
                code[:] = [payload]
        return bool(code)

    await eventually(shown, 60, f"a login code on the panel of {name}", interval=POLL_S)
    return code[0]


async def approve(
    w: JobsWorld, who: Caller, payload: str, key: Path, key_id: str, action: str = "open_session"
) -> tuple[int, str]:
    done = await w.cli(
        who, "phone", "approve", payload, "--key", str(key), "--key-id", key_id,
        "--action", action,
    )  # fmt: skip
    assert "Traceback" not in done.out, done.out
    return done.code, done.out


def waiting(w: JobsWorld, name: str) -> list[dict[str, Any]]:
    return list(w.printers[name].panel().get("waiting") or [])


async def test_a_secure_job_waits_on_the_panel_until_its_owner_logs_in_with_a_phone(
    jobs_world: JobsWorld, tmp_path: Path
) -> None:
    w = jobs_world
    await w.login(w.ada)
    _, job = await w.submit(
        w.ada, minimal_pdf("payslip"), printer=w.printer_id("b"), release="secure",
        title="Payslip March",
    )  # fmt: skip
    await w.wait_state(w.ada, job["id"], "queued")

    async def on_panel() -> bool:
        return any(j["job_id"] == job["id"] for j in waiting(w, "b"))

    await eventually(on_panel, 60, "the secure job on the panel", interval=POLL_S)
    (shown,) = [j for j in waiting(w, "b") if j["job_id"] == job["id"]]
    assert shown["title"] == "Payslip March" and shown["pages"] == 1
    assert shown["owner_display_name"] == "Ada Lovelace" and shown["requires_login"] is True
    # The printer lists it, locked; its document is refused to the printer itself.
    printer_b = await device_token(w, w.printers["b"].state, w.printer_id("b"))
    status, listed = await w.call("GET", "/v1/devices/me/jobs", headers=printer_b)
    assert status == 200, listed
    (item,) = [j for j in listed["items"] if j["job_id"] == job["id"]]
    assert (item["fetchable"], item["requires_login"], item["owner_name"]) == (
        False, True, "Ada Lovelace",
    )  # fmt: skip
    status, problem = await w.call(
        "GET", f"/v1/devices/me/jobs/{job['id']}/document", headers=printer_b
    )
    assert status == 403 and problem["code"] == "release-required", problem
    await quiet(w, "b")
    assert w.prints(job["id"]) == {}
    assert (await w.job(w.ada, job["id"]))["state"] == "queued"

    key = tmp_path / "ada-phone.pem"
    key_id = await phone_key(w, w.ada, key)
    payload = await login_code(w, "b")
    code, out = await approve(w, w.ada, payload, key, key_id)
    assert code == 0, out
    assert f"Logged in at printer {w.printer_id('b')} as Ada Lovelace" in out
    done = await w.wait_state(w.ada, job["id"], "completed")
    assert done["printer_id"] == w.printer_id("b")

    # The same code again: refused, with a sentence; nothing else happens.
    code, out = await approve(w, w.ada, payload, key, key_id)
    assert code == 1 and "used" in out.lower(), out
    await quiet(w, "b")
    assert w.prints(job["id"]) == {"b": 1}
    assert not any(j["job_id"] == job["id"] for j in waiting(w, "b"))


async def test_a_phone_login_with_the_wrong_key_printer_or_an_expired_code_prints_nothing(
    jobs_world: JobsWorld, tmp_path: Path
) -> None:
    w = jobs_world
    await w.login(w.ada)
    key = tmp_path / "ada.pem"
    key_id = await phone_key(w, w.ada, key)
    _, job = await w.submit(
        w.ada, minimal_pdf("secret"), printer=w.printer_id("a"), release="secure", title="Secret"
    )
    await w.wait_state(w.ada, job["id"], "queued")
    payload = await login_code(w, "a")
    refusals: dict[str, str] = {}

    # A key nobody registered, presented under Ada's key id: the signature is not hers.
    stranger = tmp_path / "stranger.pem"
    await phone_key(w, w.ada, stranger, register=False)
    code, refusals["bad signature"] = await approve(w, w.ada, payload, stranger, key_id)
    assert code == 1
    # The same key under an id that does not exist.
    code, refusals["unknown key"] = await approve(w, w.ada, payload, stranger, str(uuid.uuid4()))
    assert code == 1
    # Eve's own registered key: she is of another tenant.
    eve_key = tmp_path / "eve.pem"
    eve_key_id = await phone_key(w, w.eve, eve_key)
    code, refusals["foreign"] = await approve(w, w.eve, payload, eve_key, eve_key_id)
    assert code == 1
    # Ada's key, but the code edited to name another printer.
    shown = decode_login_payload(payload)
    edited = encode_login_payload(
        LoginPayload(shown.url, uuid.UUID(w.printer_id("b")), shown.challenge, shown.expires_at)
    )
    code, refusals["wrong printer"] = await approve(w, w.ada, edited, key, key_id)
    assert code == 1

    # An expired code: auth makes codes that last 3 s; the agent shows a fresh one.
    await w.platform.restart("auth", LOGIN_CHALLENGE_TTL_S="3")
    try:
        await asyncio.to_thread(w.printers["a"].stop)
        w.printers["a"].start(w.platform.edge_ws_url, w.base)
        short = await login_code(w, "a", short=True)
        expiry = decode_login_payload(short).expires_at
        await asyncio.sleep(max(0.0, expiry - time.time()) + 2)
        code, refusals["expired"] = await approve(w, w.ada, short, key, key_id)
        assert code == 1
    finally:
        await w.platform.restart("auth", LOGIN_CHALLENGE_TTL_S="120")
    for case, out in refusals.items():
        assert out.startswith("error:") or "error" in out.lower(), (case, out)
    assert "expired" in refusals["expired"].lower(), refusals["expired"]
    assert "printer" in refusals["wrong printer"].lower(), refusals["wrong printer"]

    await w.wait_connection("a", "online")
    await quiet(w, "a", "b")
    assert w.prints(job["id"]) == {}
    assert (await w.job(w.ada, job["id"]))["state"] == "queued"
    assert any(j["job_id"] == job["id"] for j in waiting(w, "a"))
    status, body = await w.call("POST", f"/v1/jobs/{job['id']}/cancel", w.ada)
    assert status == 200 and body["state"] == "canceled", body


# ---------------------------------------------------------------------- reservations


async def test_a_reservation_prints_kept_documents_by_priority_within_its_limits(
    jobs_world: JobsWorld,
) -> None:
    w = jobs_world
    kept = [("r1", 1, 1), ("r2", 5, 1), ("r3", 3, 3), ("r4", 5, 1), ("r5", 3, 1), ("r6", 9, 10)]
    documents: dict[str, str] = {}
    for title, priority, pages in kept:
        status, doc = await w.call(
            "POST",
            f"/v1/documents?title={title}&keep=true&priority={priority}&pages={pages}",
            w.bob,
            data=pdf(pages, title),  # the server counts the pages: they must be there
            headers={"Content-Type": "application/pdf"},
        )
        assert status == 201, doc
        documents[doc["document_id"]] = title
        await asyncio.sleep(0.05)  # distinct upload times: oldest first on ties
    deadline = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await w.login(w.bob)
    made = await w.cli(
        w.bob, "reservations", "create", "--printer", w.printer_id("a"), "--max-count", "3",
        "--max-pages", "4", "--deadline", deadline,
    )  # fmt: skip
    assert made.code == 0, made.out
    reservation = re.search(r"reservation ([0-9a-f-]{36})", made.out).group(1)  # type: ignore[union-attr]
    status, page = await w.call("GET", f"/v1/jobs?printer_id={w.printer_id('a')}", w.bob)
    assert status == 200, page
    jobs = [j for j in page["items"] if j["reservation_id"] == reservation]
    # Priority 9 has 10 pages (over 4); then 5, 5 (older first); 3 with 3 pages would
    # pass 4 in all; then 3 with one page; the count is reached.
    assert sorted(documents[j["document_id"]] for j in jobs) == ["r2", "r4", "r5"]
    for job in jobs:
        await w.wait_state(w.bob, job["id"], "completed")
    printed = w.printers["a"].printed()
    order = sorted(jobs, key=lambda j: printed[j["id"]])
    assert [documents[j["document_id"]] for j in order] == ["r2", "r4", "r5"]
    await quiet(w, "a")
    for job in jobs:
        assert w.prints(job["id"]) == {"a": 1}


# ---------------------------------------------------------------------- cancel


async def test_a_job_canceled_while_queued_never_prints(jobs_world: JobsWorld) -> None:
    w = jobs_world
    await w.stop_agent("slow")
    try:
        _, job = await w.submit(w.ada, minimal_pdf("never"), printer=w.printer_id("slow"))
        await w.wait_state(w.ada, job["id"], "queued")
        # Another printer's device token gets nothing of it.
        spare = await device_token(w, w.spare_state, w.spare_id)
        status, _ = await w.call("GET", f"/v1/devices/me/jobs/{job['id']}/document", headers=spare)
        assert status == 404
        status, listed = await w.call("GET", "/v1/devices/me/jobs", headers=spare)
        assert status == 200 and job["id"] not in json.dumps(listed)
        await w.login(w.ada)
        canceled = await w.cli(w.ada, "jobs", "cancel", job["id"])
        assert canceled.code == 0 and "canceled" in canceled.out, canceled.out
    finally:
        await w.start_agent("slow")
    await quiet(w, "slow")
    assert w.prints(job["id"]) == {}
    assert job["id"] not in w.printers["slow"].journal()
    assert (await w.job(w.ada, job["id"]))["state"] == "canceled"


async def test_a_job_canceled_while_the_printer_prints_it_stops_there(
    jobs_world: JobsWorld,
) -> None:
    w = jobs_world
    _, job = await w.submit(w.ada, minimal_pdf("stop it"), printer=w.printer_id("slow"))
    await w.wait_state(w.ada, job["id"], {"sent", "printing"})
    status, body = await w.call("POST", f"/v1/jobs/{job['id']}/cancel", w.ada)
    assert status == 200 and body["state"] == "canceled", body
    log = w.printers["slow"].log

    async def told() -> bool:
        return any(
            job["id"] in line and "canceled" in line for line in log.read_text().splitlines()
        )

    await eventually(told, 60, "the agent acting on job_canceled", interval=POLL_S)
    await quiet(w, "slow")
    await asyncio.sleep(8)  # the simulated print would have taken this long
    assert w.prints(job["id"]) == {} and w.printers["slow"].spooled(job["id"]) == []
    assert w.printers["slow"].journal()[job["id"]][0] == "failed"
    assert (await w.job(w.ada, job["id"]))["state"] == "canceled"


# ---------------------------------------------------------------------- failover


async def test_a_job_for_an_offline_printer_fails_over_and_prints_once(
    jobs_world: JobsWorld,
) -> None:
    w = jobs_world
    policy = f"/v1/printers/{w.printer_id('a')}/routing-policy"
    body = {"on_offline": "failover", "offline_after_s": 2,
            "failover_printer_id": w.printer_id("b")}  # fmt: skip
    status, stored = await w.call("PUT", policy, w.admin, json=body)
    assert status == 200, stored
    try:
        await w.stop_agent("a")
        try:
            _, job = await w.submit(w.bob, minimal_pdf("failover"), printer=w.printer_id("a"))
            done = await w.wait_state(w.bob, job["id"], "completed", timeout=120)
            assert done["printer_id"] == w.printer_id("b")
            status, why = await w.call("GET", f"/v1/jobs/{job['id']}/routing", w.admin)
            assert status == 200, why
            assert "failover" in [d["reason"] for d in why["decisions"]], why
        finally:
            await w.start_agent("a")
        await quiet(w, "a", "b")
        assert w.prints(job["id"]) == {"b": 1}
        assert job["id"] not in w.printers["a"].journal()
    finally:
        status, _ = await w.call("DELETE", policy, w.admin)
        assert status == 204


# ---------------------------------------------------------------------- quotas


async def test_a_job_over_quota_is_held_before_it_prints_and_released_by_an_override(
    jobs_world: JobsWorld,
) -> None:
    """Counters publishes the quota, routing holds the job with the reason in words,
    an administrator's override releases it, and its pages count against the quota."""
    w = jobs_world
    body = {"subject_kind": "user", "subject_id": w.bob.user_id, "metric": "pages",
            "period": "month", "limit": 2, "policy": "hold"}  # fmt: skip
    status, quota = await w.call("POST", "/v1/quotas", w.admin, json=body)
    assert status == 201, quota
    quota_id = quota.get("id") or quota["quota_id"]
    try:

        async def routing_knows() -> bool:
            conn = await asyncpg.connect(w.platform.dsn("routing"))
            try:
                schema = w.platform.schema("routing")
                found = await conn.fetchval(
                    f"SELECT count(*) FROM {schema}.quotas WHERE quota_id = $1",
                    uuid.UUID(quota_id),
                )
            finally:
                await conn.close()
            return bool(found)

        await eventually(routing_knows, 60, "routing reading the new quota", interval=POLL_S)
        settings = {"copies": 3}  # 3 pages: over the limit of 2
        _, job = await w.submit(w.bob, minimal_pdf("over quota"), printer=w.printer_id("a"),
                                settings=settings)  # fmt: skip
        held = await w.wait_state(w.bob, job["id"], "held")
        assert held["hold_reason"] == "quota"
        assert "quota" in held["state_detail"] and "2" in held["state_detail"], held
        await quiet(w, "a")
        assert w.prints(job["id"]) == {}

        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        status, answer = await w.call(
            "POST", f"/v1/quotas/{quota_id}/overrides", w.admin,
            json={"until": until, "reason": "quarterly report"},
        )  # fmt: skip
        assert status in (200, 201), answer
        await w.wait_state(w.bob, job["id"], "completed", timeout=120)
        await quiet(w, "a")
        assert w.prints(job["id"]) == {"a": 1}

        async def counted() -> bool:
            status, state = await w.call("GET", f"/v1/quotas/{quota_id}", w.admin)
            assert status == 200, state
            return int(state["used"]) == 3

        await eventually(
            counted, 60, "the job's 3 pages counted against the quota", interval=POLL_S
        )
    finally:
        status, _ = await w.call("DELETE", f"/v1/quotas/{quota_id}", w.admin)
        assert status in (200, 204)


# ---------------------------------------------------------------------- isolation


async def test_another_tenant_neither_sees_nor_touches_the_jobs(jobs_world: JobsWorld) -> None:
    w = jobs_world
    _, held = await w.submit(w.ada, minimal_pdf("mine"), virtual_printer=w.virtual_printer_id)
    await w.wait_state(w.ada, held["id"], "held")
    try:
        for method, path, body in [
            ("GET", f"/v1/jobs/{held['id']}", None),
            ("POST", f"/v1/jobs/{held['id']}/cancel", None),
            ("POST", f"/v1/printers/{w.printer_id('a')}/release", {"job_ids": [held["id"]]}),
        ]:
            status, answer = await w.call(method, path, w.eve, json=body)
            assert status == 404, (method, path, answer)
        status, page = await w.call("GET", "/v1/jobs", w.eve)
        assert status == 200 and held["id"] not in json.dumps(page)
        # Bob, of the same tenant, cannot release Ada's job either.
        status, answer = await w.call(
            "POST", f"/v1/printers/{w.printer_id('a')}/release", w.bob,
            json={"job_ids": [held["id"]]},
        )  # fmt: skip
        assert status in (404, 409), answer
        assert (await w.job(w.ada, held["id"]))["state"] == "held"
    finally:
        status, body = await w.call("POST", f"/v1/jobs/{held['id']}/cancel", w.ada)
        assert status == 200, body
    assert w.prints(held["id"]) == {}
