"""Which URLs and addresses a webhook may go to, which types an endpoint names, and which
callback URLs lie under an endpoint — pure rules, no network."""

from __future__ import annotations

import pytest

from services.notifications.domain.model import (
    address_refusal,
    covers,
    parse_networks,
    type_matches,
)
from services.notifications.outbound import UrlPolicy

STRICT = UrlPolicy(allow_http=False, allowed_networks=[])


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("::1", "::1 is a loopback address"),
        ("10.0.0.8", "10.0.0.8 is a private address"),
        ("192.168.1.20", "192.168.1.20 is a private address"),
        ("172.16.5.4", "172.16.5.4 is a private address"),
        ("fd12::1", "fd12::1 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("fd00:ec2::254", "fd00:ec2::254 is a cloud metadata address"),
        ("169.254.10.1", "169.254.10.1 is a link-local address"),
        ("fe80::1", "fe80::1 is a link-local address"),
        ("::ffff:127.0.0.1", "127.0.0.1 is a loopback address"),
        ("0.0.0.0", "0.0.0.0 is a private address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
        ("100.64.0.1", "100.64.0.1 is not a public address"),
    ],
)
def test_internal_addresses_are_refused_with_their_kind(address: str, why: str) -> None:
    assert address_refusal(address, []) == why


def test_public_addresses_pass_and_an_operators_networks_are_allowed() -> None:
    assert address_refusal("93.184.216.34", []) is None
    assert address_refusal("2606:2800:220:1::1", []) is None
    allowed = parse_networks(["10.20.0.0/16", "127.0.0.1/32"])
    assert address_refusal("10.20.3.4", allowed) is None
    assert address_refusal("127.0.0.1", allowed) is None
    assert address_refusal("10.21.0.1", allowed) == "10.21.0.1 is a private address"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example/x", "only https URLs are accepted"),
        ("ftp://hooks.example/x", "only https URLs are accepted"),
        ("https://u:p@hooks.example/x", "a URL may not carry credentials"),
        ("https:///x", "the URL has no host"),
        ("https://hooks.example:99999/x", "the URL's port is not a number from 0 to 65535"),
    ],
)
def test_the_form_of_a_url_is_checked_first(url: str, why: str) -> None:
    assert STRICT.form_refusal(url) == why


def test_http_is_accepted_only_when_the_operator_allows_it() -> None:
    assert UrlPolicy(allow_http=True, allowed_networks=[]).form_refusal("http://h.example/") is None
    assert STRICT.form_refusal("https://h.example/") is None
    assert STRICT.literal_refusal("hooks.example") is None
    assert STRICT.literal_refusal("10.0.0.1") == "10.0.0.1 is a private address"


async def test_a_name_resolving_to_loopback_is_refused_naming_the_address() -> None:
    why = await STRICT.refusal("https://localhost/hook")
    assert why is not None and why.startswith("localhost resolves to ")
    assert "loopback address" in why
    assert await STRICT.refusal("https://does-not-exist.invalid/") == (
        "does-not-exist.invalid does not resolve"
    )


def test_type_patterns() -> None:
    assert type_matches("*", "device.claimed") and type_matches("job.*", "job.completed")
    assert not type_matches("job.*", "printer.connection_changed")
    assert type_matches("quota.exceeded", "quota.exceeded")
    assert not type_matches("job.complete", "job.completed")


@pytest.mark.parametrize(
    ("url", "under"),
    [
        ("https://app.example/hooks", True),
        ("https://app.example/hooks/jobs/1", True),
        ("https://app.example/hooksx/1", False),
        ("https://app.example.evil.test/hooks/1", False),
        ("http://app.example/hooks/1", False),
        ("https://app.example:8443/hooks/1", False),
        ("https://x@app.example/hooks/1", False),
    ],
)
def test_a_callback_lies_under_an_endpoint_only_on_its_origin_and_path(
    url: str, under: bool
) -> None:
    assert covers("https://app.example/hooks/", url) is under
