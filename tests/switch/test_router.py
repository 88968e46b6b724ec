"""The IPv4 LPM router fixture on the embedded switch: packets in, exact packets out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import raw

from p4target.switch import LPM, Switch

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bmv2" / "router.json"


def frame(dst_ip: str = "10.1.2.3", ttl: int = 64, payload: bytes = b"hello") -> bytes:
    return raw(
        Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02")
        / IP(src="192.168.1.1", dst=dst_ip, ttl=ttl)
        / UDP(sport=1234, dport=80)
        / payload
    )


def expected(pkt: bytes, dmac: str, smac: str) -> bytes:
    e = Ether(pkt)
    e.dst, e.src = dmac, smac
    e[IP].ttl -= 1
    del e[IP].chksum
    return raw(Ether(raw(e)))


@pytest.fixture
def router() -> Switch:
    sw = Switch(json.loads(FIXTURE.read_text()))
    for p in (1, 2, 3):
        sw.add_port(p)
    sw.table_add("MyIngress.ipv4_lpm", [LPM(0x0A000000, 8)], "MyIngress.ipv4_forward", [0xAA, 2])
    sw.table_add("ipv4_lpm", [LPM(0x0A020000, 16)], "ipv4_forward", [0xBB, 3])
    return sw


def test_forwards_with_ttl_and_checksum_rewritten(router: Switch) -> None:
    pkt = frame("10.1.2.3")
    router.port(1).send(pkt)
    out = router.port(2).take()
    assert out == [expected(pkt, "00:00:00:00:00:aa", "00:00:00:00:00:01")]
    assert router.port(3).take() == []


def test_longest_prefix_wins(router: Switch) -> None:
    pkt = frame("10.2.7.7")
    router.port(1).send(pkt)
    assert router.port(3).take() == [expected(pkt, "00:00:00:00:00:bb", "00:00:00:00:00:01")]
    assert router.port(2).take() == []


def test_miss_drops_and_counts(router: Switch) -> None:
    router.port(1).send(frame("11.0.0.1"))
    assert router.port(2).take() == [] and router.port(3).take() == []
    assert router.stats()["drops"]["ingress_drop"] == 1


def test_non_ipv4_goes_to_port_zero_unchanged(router: Switch) -> None:
    arp = raw(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP())
    seen = []
    router.on_transmit(lambda port, data: seen.append((port, data)))
    router.port(1).send(arp)
    assert seen == [(0, arp)]
    assert router.stats()["drops"]["tx_no_port"] == 1


def test_short_packet_sets_parser_error_and_is_forwarded_as_bmv2_does(router: Switch) -> None:
    seen = []
    router.on_transmit(lambda port, data: seen.append((port, data)))
    truncated = frame()[:20]  # Ethernet + 6 bytes of IPv4: extract(ipv4) fails
    router.port(1).send(truncated)
    # ethernet was extracted, ipv4 invalid: ingress skips the table, egress_spec stays 0;
    # the deparser emits ethernet and the unparsed rest comes after it.
    assert seen == [(0, truncated)]
    assert router.stats()["parser_errors"] == {"PacketTooShort": 1}


@pytest.mark.parametrize("n", [0, 1, 13])
def test_tiny_packets_never_raise(router: Switch, n: int) -> None:
    router.port(1).send(bytes(range(n)))
    assert router.stats()["rx"][1]["packets"] == 1


def test_bad_ipv4_checksum_sets_checksum_error_but_forwards(router: Switch) -> None:
    pkt = bytearray(frame())
    pkt[24] ^= 0xFF  # corrupt the IPv4 header checksum
    router.port(1).send(bytes(pkt))
    out = router.port(2).take()
    assert len(out) == 1
    assert (
        Ether(out[0])[IP].chksum
        == Ether(expected(frame(), "0:0:0:0:0:aa", "0:0:0:0:0:1"))[IP].chksum
    )
    assert router.stats()["events"]["checksum_error"] == 1


def test_ttl_wraps_like_p4(router: Switch) -> None:
    router.port(1).send(frame(ttl=0))
    (out,) = router.port(2).take()
    assert Ether(out)[IP].ttl == 255


def test_generated_source_is_kept(router: Switch) -> None:
    src = router.generated_source
    assert "def _parse(" in src and "def _deparse(" in src
