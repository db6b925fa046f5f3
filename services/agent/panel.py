"""What the printer's panel shows, kept in ``panel.json`` in the state directory.

Per printer: the jobs waiting for their owner to log in (secure release: title,
pages, owner), the users' sessions open at the printer, the current phone-login
code (``qr_payload``, to show as a QR code, and when it expires) and the printer's
end-to-end key offer (``e2e``: its ``qr_payload``, key id and expiry; see ``e2e``).
Before the device joined, ``registration`` holds the registration sheet it shows when
the cloud cannot be reached. A real panel, or a test, reads the file; it is replaced
atomically on every change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.agent.state import StateDir
from shared.logging import get_logger

log = get_logger(__name__)
PANEL_FILE = "panel.json"


class Panel:
    """The panel of every printer behind this agent."""

    def __init__(self, state: StateDir) -> None:
        self.state = state
        self.printers: dict[str, dict[str, Any]] = {}
        self.registration: dict[str, Any] | None = None

    def _printer(self, printer_id: uuid.UUID) -> dict[str, Any]:
        return self.printers.setdefault(
            str(printer_id), {"waiting": [], "sessions": [], "login": None}
        )

    def waiting(self, printer_id: uuid.UUID, jobs: list[dict[str, Any]]) -> bool:
        """The jobs waiting at a printer now; True when that changed (each new one is logged)."""
        panel = self._printer(printer_id)
        before = {j["job_id"] for j in panel["waiting"]}
        for job in jobs:
            if job["job_id"] not in before:
                log.info(
                    "job waiting for its owner", printer_id=str(printer_id), job_id=job["job_id"],
                    title=job["title"], pages=job["pages"], owner=job["owner_display_name"],
                )  # fmt: skip
        changed: bool = panel["waiting"] != jobs
        panel["waiting"] = jobs
        return changed

    def session(self, printer_id: uuid.UUID, opened: bool, detail: dict[str, Any]) -> None:
        """A user's session opened or closed at a printer (as the cloud said in a notify)."""
        panel = self._printer(printer_id)
        sid = detail.get("session_id")
        kept = [s for s in panel["sessions"] if sid is None or s.get("session_id") != sid]
        if not opened and sid is None:
            kept = []
        panel["sessions"] = [*kept, detail] if opened else kept

    def login(self, printer_id: uuid.UUID, code: dict[str, Any] | None) -> None:
        """The printer's current phone-login code."""
        self._printer(printer_id)["login"] = code

    def e2e(self, printer_id: uuid.UUID, offer: dict[str, Any] | None) -> None:
        """The printer's current end-to-end key offer (a phone scans it to print)."""
        self._printer(printer_id)["e2e"] = offer

    def keep_only(self, printer_ids: set[uuid.UUID]) -> None:
        """Forget printers the agent no longer serves."""
        for key in list(self.printers):
            if uuid.UUID(key) not in printer_ids:
                del self.printers[key]

    def save(self) -> None:
        """Replace panel.json (atomically)."""
        now = datetime.now(UTC).isoformat()
        shown: dict[str, Any] = {"updated_at": now, "printers": self.printers}
        if self.registration is not None:
            shown["registration"] = self.registration
        self.state.write_json(PANEL_FILE, shown)
