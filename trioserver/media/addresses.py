"""Which addresses the URL previewer may connect to (a guard against
server-side request forgery). Pure functions over IP addresses: no I/O.

Only globally routable unicast addresses are allowed, unless an address lies
in a network the administrator allowed explicitly (``url_preview_allowed_ips``).
An IPv6 address that embeds an IPv4 one (IPv4-mapped, 6to4, NAT64) is judged
by the IPv4 address it leads to.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class BlockedAddress(Exception):
    """The name resolves to an address the previewer must not contact."""


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR ranges (``"127.0.0.0/8"``, ``"::1/128"``, or single addresses);
    raises ``ValueError`` naming a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP network such as 10.0.0.0/8") from None
    return tuple(networks)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """A globally routable unicast address (not private, loopback, link-local,
    multicast, reserved, unspecified, shared or documentation space)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
    return bool(
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_unspecified
    )


def is_allowed_address(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> bool:
    """Public, or inside one of the ``allowed`` networks."""
    if any(address.version == net.version and address in net for net in allowed):
        return True
    return is_public_address(address)


def check_addresses(addresses: Iterable[str], allowed: Sequence[IPNetwork] = ()) -> list[IPAddress]:
    """The resolved ``addresses`` of a name, parsed, if every one is allowed;
    else :class:`BlockedAddress` (one bad address blocks the name: the
    connection could go to any of them)."""
    parsed: list[IPAddress] = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            raise BlockedAddress(f"{text!r} is not an IP address") from None
        if "%" in text or not is_allowed_address(address, allowed):
            raise BlockedAddress(f"{address} is not a public address")
        parsed.append(address)
    if not parsed:
        raise BlockedAddress("the name has no addresses")
    return parsed
