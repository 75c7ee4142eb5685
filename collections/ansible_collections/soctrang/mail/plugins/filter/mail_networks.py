"""Validation and normalisation of the networks named in an inventory.

The MTA and the mail store trust some networks more than others: the relay
networks may send without authentication, the webmail hosts may log in users
who still have to change their password, and the daemons listen on given
addresses. A typo in one of these lists is a security problem (an open relay)
or an outage, so every such list goes through these filters before anything
is rendered, and a malformed entry stops the run with the name of the setting
that holds it.

Each filter is documented in its own file beside this one (networks.yml,
ip_addresses.yml), which ansible-doc reads.
"""

from __future__ import annotations

from collections.abc import Iterable

import netaddr
from ansible.errors import AnsibleFilterError

STYLES = ("cidr", "postfix")


def _entries(value: object, setting: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise AnsibleFilterError(f"{setting}: expected a list of addresses or networks, got {value!r}")
    entries = list(value)
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise AnsibleFilterError(f"{setting}: {entry!r} is not an address or a network (expected a string)")
    return [entry.strip() for entry in entries]


def _parse_network(entry: str, setting: str) -> netaddr.IPNetwork:
    try:
        network = netaddr.IPNetwork(entry)
    except (netaddr.AddrFormatError, ValueError, TypeError) as error:
        raise AnsibleFilterError(
            f"{setting}: {entry!r} is not an IPv4/IPv6 address or network; "
            "write it as 192.0.2.10, 192.0.2.0/24 or 2001:db8::/32"
        ) from error
    # netaddr accepts abbreviated legacy forms ("10/8", "10.1"); a mail
    # system's trust list must say exactly what it means.
    address_part = entry.split("/", 1)[0]
    if network.version == 4 and address_part.count(".") != 3:
        raise AnsibleFilterError(f"{setting}: {entry!r} is abbreviated; write all four parts of the IPv4 address")
    if network.ip != network.network:
        host_prefix = 32 if network.version == 4 else 128
        raise AnsibleFilterError(
            f"{setting}: {entry!r} has host bits set; write the network {network.cidr} "
            f"or the single host {network.ip}/{host_prefix}"
        )
    return network


def _format(network: netaddr.IPNetwork, style: str) -> str:
    if style == "postfix" and network.version == 6:
        return f"[{network.network}]/{network.prefixlen}"
    return str(network.cidr)


def networks(
    value: object,
    setting: str = "networks",
    style: str = "cidr",
    allow_everything: bool = False,
) -> list[str]:
    """Canonical, de-duplicated CIDR strings for the networks in `value`."""
    if style not in STYLES:
        raise AnsibleFilterError(f"soctrang.mail.networks: style must be one of {', '.join(STYLES)}, got {style!r}")
    result: list[str] = []
    for entry in _entries(value, setting):
        network = _parse_network(entry, setting)
        if network.prefixlen == 0 and not allow_everything:
            raise AnsibleFilterError(
                f"{setting}: {entry!r} covers every address on the Internet; list the networks that are "
                "really trusted (trusting all of them makes an open relay)"
            )
        formatted = _format(network, style)
        if formatted not in result:
            result.append(formatted)
    return result


def ip_addresses(value: object, setting: str = "addresses") -> list[str]:
    """Canonical, de-duplicated single addresses (no prefix) in `value`."""
    result: list[str] = []
    for entry in _entries(value, setting):
        if "/" in entry:
            raise AnsibleFilterError(f"{setting}: {entry!r} is a network; a single address is expected here")
        address = str(_parse_network(entry, setting).ip)
        if address not in result:
            result.append(address)
    return result


class FilterModule:
    """Network filters of the mail system."""

    def filters(self) -> dict[str, object]:
        return {
            "networks": networks,
            "ip_addresses": ip_addresses,
        }
