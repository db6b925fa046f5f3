"""The agent's DNS-SD announcements, browsed with zeroconf on loopback as a laptop on
the site network would: the IPP Everywhere and AirPrint TXT keys, the SRV record
pointing at the platform's edge, updates when the printer changes, and goodbyes."""

from __future__ import annotations

import uuid

from services.agent.dnssd import IPP, IPPS, Advertiser, Queue
from shared.printing.capabilities import Capabilities
from tests.support.dnssd import Browser, Found
from tests.support.waiting import eventually

LOOPBACK = ["127.0.0.1"]
COLOUR_DUPLEX = Capabilities(
    document_format_supported=["application/pdf", "image/urf", "image/jpeg", "text/plain"],
    media_supported=["iso_a4_210x297mm"],
    sides_supported=["one-sided", "two-sided-long-edge"],
    print_color_mode_supported=["monochrome", "color"],
    copies_supported={"min": 1, "max": 99},
)


async def test_a_fronted_queue_is_announced_with_the_ipp_everywhere_txt_keys() -> None:
    printer_id = uuid.uuid4()
    name = f"Office {printer_id.hex[:6]}"
    advertiser = Advertiser("http://127.0.0.1:18080", LOOPBACK)
    async with Browser(IPP, LOOPBACK) as browser:
        try:
            await advertiser.publish([Queue(printer_id, name, "Floor 2, room 12", COLOUR_DUPLEX)])
            found: list[Found] = []

            async def announced() -> bool:
                hit = await browser.find(name)
                found[:] = [hit] if hit else []
                return bool(found)

            await eventually(announced, 30, "the printer announced")
            [service] = found
            assert (service.server, service.port, service.addresses) == (
                "127.0.0.1.", 18080, ["127.0.0.1"],
            )  # fmt: skip
            txt = service.txt
            assert txt["txtvers"] == "1" and txt["qtotal"] == "1"
            assert txt["rp"] == f"ipp/print/{printer_id}"
            assert txt["ty"] == name and txt["note"] == "Floor 2, room 12"
            assert txt["pdl"] == "application/pdf,image/urf,image/jpeg"  # not text/plain
            assert txt["URF"] == "V1.4,W8,SRGB24,CP1,PQ4,RS300,DM1"
            assert txt["Color"] == "T" and txt["Duplex"] == "T"
            assert txt["UUID"] == str(uuid.uuid5(uuid.NAMESPACE_URL, f"printcloud:{printer_id}"))
            assert txt["adminurl"] == f"http://127.0.0.1:18080/ipp/print/{printer_id}"
            assert int(txt["printer-type"], 16) & 0x18 == 0x18  # colour and duplex bits
            assert txt["air"] == "username,password" and "TLS" not in txt

            # the printer loses colour: the TXT record follows
            mono = COLOUR_DUPLEX.model_copy(update={"print_color_mode_supported": ["monochrome"]})
            await advertiser.publish([Queue(printer_id, name, "Floor 2, room 12", mono)])

            async def updated() -> bool:
                hit = await browser.find(name)
                return hit is not None and hit.txt.get("Color") == "F"

            await eventually(updated, 30, "the TXT record updated")
            # no longer fronted: withdrawn (a goodbye the browser hears)
            await advertiser.publish([])

            async def withdrawn() -> bool:
                return not any(n.startswith(name) for n in browser.present)

            await eventually(withdrawn, 30, "the printer withdrawn")
        finally:
            await advertiser.close()


async def test_behind_tls_the_queue_is_an_ipps_service() -> None:
    printer_id = uuid.uuid4()
    name = f"Secure {printer_id.hex[:6]}"
    advertiser = Advertiser("https://127.0.0.1", LOOPBACK)
    async with Browser(IPPS, LOOPBACK) as browser:
        try:
            await advertiser.publish([Queue(printer_id, name, "", Capabilities())])
            found: list[Found] = []

            async def announced() -> bool:
                hit = await browser.find(name)
                found[:] = [hit] if hit else []
                return bool(found)

            await eventually(announced, 30, "the printer announced")
            assert found[0].port == 443 and found[0].txt["TLS"] == "1.2"
            assert found[0].txt["Color"] == "F" and found[0].txt["pdl"] == "application/pdf"
            assert found[0].txt["adminurl"].startswith("https://")
        finally:
            await advertiser.close()
