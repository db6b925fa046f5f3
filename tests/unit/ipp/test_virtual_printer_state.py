"""A virtual printer's printer-state, printer-state-reasons and marker-* attributes
come from its member printers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.ipp.domain.model import Marker, Target, printer_state, virtual_target
from services.ipp.domain.printer import printer_attributes
from services.ipp.protocol.constants import PrinterState
from shared.printing.capabilities import Capabilities

VP = uuid.uuid4()


def member(name: str, online: bool, *markers: Marker) -> Target:
    return Target(uuid.uuid4(), "printer", name, "", "", online, markers)


def test_idle_when_any_member_is_online_and_low_supplies_of_every_member_are_reasons() -> None:
    laser = member("Laser", False, Marker("Black toner", "toner", "black", 4, low=True))
    inkjet = member("Inkjet", True, Marker("", "ink", "cyan", 80),
                    Marker("Drum", "drum", "none", 3, low=True))  # fmt: skip
    vp = virtual_target(VP, "Floor 2 pull", "Floor 2", [laser, inkjet])
    assert vp.kind == "virtual-printer" and vp.online
    assert printer_state(vp) == (
        PrinterState.IDLE, ["opc-near-eol-warning", "toner-low-warning"]
    )  # fmt: skip
    assert [m.name for m in vp.markers] == ["Laser: Black toner", "Inkjet: ink", "Inkjet: Drum"]
    assert [m.level for m in vp.markers] == [4, 80, 3]


def test_stopped_when_every_member_is_offline_or_there_is_none() -> None:
    toner = Marker("Black toner", "toner", "black", 4, low=True)
    vp = virtual_target(VP, "Pull", "", [member("A", False, toner), member("B", False)])
    assert printer_state(vp) == (PrinterState.STOPPED, ["offline-report", "toner-low-warning"])
    empty = virtual_target(VP, "Pull", "", [])
    assert printer_state(empty) == (PrinterState.STOPPED, ["offline-report"])
    assert empty.markers == ()


def test_the_attributes_list_markers_per_member_and_the_merged_state() -> None:
    a = member("A", True, Marker("Black toner", "toner", "black", 50))
    b = member("B", False, Marker("Black toner", "toner", "black", 5, low=True))
    vp = virtual_target(VP, "Pull", "", [a, b])
    now = datetime.now(UTC)
    attributes = printer_attributes(
        vp, Capabilities(), f"ipp://h/ipp/print/{VP}", secure=False, queued=0,
        now=now, started=now,
    )  # fmt: skip
    values = {a.name: [v.value for v in a.values] for a in attributes}
    assert values["printer-state"] == [PrinterState.IDLE]
    assert values["printer-state-reasons"] == ["toner-low-warning"]
    assert values["marker-names"] == ["A: Black toner", "B: Black toner"]
    assert values["marker-levels"] == [50, 5]
    assert values["marker-types"] == ["toner", "toner"]
