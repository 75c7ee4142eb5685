"""Network lists of the inventory, reached through the registered filters."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.soctrang.mail.plugins.filter.mail_networks import FilterModule

FILTERS = FilterModule().filters()
networks = FILTERS["networks"]
ip_addresses = FILTERS["ip_addresses"]


def test_networks_are_canonical_and_deduplicated() -> None:
    given = ["127.0.0.1", "10.89.0.0/24", " 10.89.0.0/24 ", "::1", "2001:DB8::/32"]
    assert networks(given, "postfix_relay_networks") == [
        "127.0.0.1/32",
        "10.89.0.0/24",
        "::1/128",
        "2001:db8::/32",
    ]


def test_postfix_style_brackets_ipv6() -> None:
    assert networks(["::1", "2001:db8::/32", "192.0.2.0/24"], "x", style="postfix") == [
        "[::1]/128",
        "[2001:db8::]/32",
        "192.0.2.0/24",
    ]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (
            ["10.0.0.1/24"],
            "host bits set; write the network 10.0.0.0/24 or the single host 10.0.0.1/32",
        ),
        (["2001:db8::1/64"], "host bits set"),
        (["10/8"], "not an IPv4/IPv6"),
        (["10.1.2/24"], "not an IPv4/IPv6|abbreviated"),
        (["300.1.1.1"], "not an IPv4/IPv6"),
        (["mail.soctrang.gov.vn"], "not an IPv4/IPv6"),
        ([""], "not an address"),
        ([24], "not an address"),
        ("10.0.0.0/8", "expected a list"),
        (["0.0.0.0/0"], "open relay"),
        (["::/0"], "open relay"),
    ],
)
def test_malformed_networks_name_the_setting_and_the_fix(bad: object, reason: str) -> None:
    with pytest.raises(AnsibleFilterError, match=rf"^postfix_relay_networks: .*(?:{reason})"):
        networks(bad, "postfix_relay_networks")


def test_everything_can_be_allowed_explicitly() -> None:
    assert networks(["0.0.0.0/0"], "x", allow_everything=True) == ["0.0.0.0/0"]


def test_unknown_style_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="style"):
        networks(["127.0.0.1"], "x", style="nginx")


def test_listen_addresses_are_single_addresses() -> None:
    assert ip_addresses(["0.0.0.0", "::", "127.0.0.1", "127.0.0.1"], "postfix_listen_addresses") == [
        "0.0.0.0",
        "::",
        "127.0.0.1",
    ]
    with pytest.raises(AnsibleFilterError, match=re.escape("postfix_listen_addresses: '10.0.0.0/8' is a network")):
        ip_addresses(["10.0.0.0/8"], "postfix_listen_addresses")
    with pytest.raises(AnsibleFilterError, match="not an IPv4/IPv6"):
        ip_addresses(["localhost"], "postfix_listen_addresses")
