"""The URL previewer's address guard (server-side request forgery)."""

from __future__ import annotations

import ipaddress

import pytest

from trioserver.media.addresses import (
    BlockedAddress,
    check_addresses,
    is_allowed_address,
    is_public_address,
    parse_networks,
)

PUBLIC = ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "64:ff9b::808:808", "2a00:1450::1"]
NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "127.255.0.9",
    "10.1.2.3",  # private
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2001:db8::1",  # documentation
]


@pytest.mark.parametrize("address", PUBLIC)
def test_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))
    with pytest.raises(BlockedAddress):
        check_addresses([address])


def test_one_bad_address_blocks_the_name() -> None:
    assert len(check_addresses(["8.8.8.8", "1.1.1.1"])) == 2
    with pytest.raises(BlockedAddress):
        check_addresses(["8.8.8.8", "10.0.0.1"])
    with pytest.raises(BlockedAddress):
        check_addresses([])
    with pytest.raises(BlockedAddress):
        check_addresses(["fe80::1%eth0"])
    with pytest.raises(BlockedAddress):
        check_addresses(["not an address"])


def test_allowed_networks() -> None:
    allowed = parse_networks(["127.0.0.0/8", "::1", "10.1.0.0/16"])
    assert is_allowed_address(ipaddress.ip_address("127.0.0.1"), allowed)
    assert is_allowed_address(ipaddress.ip_address("::1"), allowed)
    assert is_allowed_address(ipaddress.ip_address("10.1.2.3"), allowed)
    assert not is_allowed_address(ipaddress.ip_address("10.2.0.1"), allowed)
    assert check_addresses(["127.0.0.1"], allowed) == [ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(ValueError, match="not an IP network"):
        parse_networks(["10.0.0.0/33"])
