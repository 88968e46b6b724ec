"""Flows that collide in the egress gateway's two-choice tables, and their exact packets
(shared by test_dp_egress_two_choice.py and stf_scenarios.py)."""

from __future__ import annotations

from functools import cache

from cpn_harness import AISID_ADDR, CLIENT, MAC, NODES
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from traces.flowhash import egw_flow_slots, flow_signature, reply_signature, reply_slots
from traces.packets import aisid_tcp_request
from traces.srv6 import forwarded

DPORT = 443


@cache
def ports_by_slot(node: int | None = None) -> dict[int, list[int]]:
    """Source ports 1..65535 of TCP flows CLIENT -> AISID:443 by first flow slot (or, with
    ``node``, by first reply slot of CLIENT:port <-> NODES[node]:443)."""
    out: dict[int, list[int]] = {}
    for p in range(1, 65536):
        out.setdefault(slots(p, node)[0], []).append(p)
    return out


def slots(port: int, node: int | None = None) -> tuple[int, int]:
    """The flow's two flow-table slots (or, with ``node``, its two reply-table slots)."""
    if node is None:
        return egw_flow_slots(CLIENT, AISID_ADDR, 6, port, DPORT)
    return reply_slots(CLIENT, NODES[node], 6, port, DPORT)


def signature(port: int, node: int | None = None) -> int:
    """``flow_sig`` (or, with ``node``, ``reply_sig``) of the flow."""
    if node is None:
        return flow_signature(CLIENT, AISID_ADDR, 6, port, DPORT)
    return reply_signature(CLIENT, NODES[node], 6, port, DPORT)


def mates(n: int, node: int | None = None, skip: frozenset[int] = frozenset()) -> list[int]:
    """``n`` ports (none in ``skip``) sharing their first slot, with pairwise distinct second
    slots (none equal to the first) and distinct signatures."""
    for ports in ports_by_slot(node).values():
        pick: list[int] = []
        for p in ports:
            if p in skip:
                continue
            a, b = slots(p, node)
            if b != a and all(slots(q, node)[1] != b for q in pick):
                pick.append(p)
            if len(pick) == n:
                assert len({signature(q, node) for q in pick}) == n
                return pick
    raise AssertionError("no slot mates")


def port_at(slot: int, avoid: set[int], node: int | None = None) -> int:
    """A port whose first slot is ``slot`` and whose second slot is neither ``slot`` nor in
    ``avoid``."""
    for p in ports_by_slot(node).get(slot, []):
        if slots(p, node)[1] not in avoid | {slot}:
            return p
    raise AssertionError(f"no flow with first slot {slot}")


def request(sport: int, node: int, flags: str = "S") -> tuple[Ether, bytes]:
    """A TCP request from the transit (port 1) and the packet the gateway must send to
    ``node`` (port 3): destination rewritten, checksum updated."""
    req = aisid_tcp_request(
        AISID_ADDR, src=CLIENT, sport=sport, dport=DPORT, flags=flags,
        src_mac=MAC["t3"], dst_mac=MAC["egw"],
    )  # fmt: skip
    exp = req.copy()
    exp[IPv6].dst = NODES[node]
    del exp[TCP].chksum
    return req, bytes(forwarded(Ether(bytes(exp)), src_mac=MAC["egw"], dst_mac=MAC["node"]))


def reply(sport: int, node: int, rewritten: bool = True) -> tuple[Ether, bytes]:
    """The node's reply to flow ``sport`` (port 3) and what must leave port 1: the AISID back
    as its source (checksum updated), or unchanged."""
    pkt = (
        Ether(src=MAC["node"], dst=MAC["egw"])
        / IPv6(src=NODES[node], dst=CLIENT)
        / TCP(sport=DPORT, dport=sport, flags="PA")
        / b"answer"
    )
    exp = Ether(bytes(pkt))
    if rewritten:
        exp[IPv6].src = AISID_ADDR
        del exp[TCP].chksum
    return pkt, bytes(forwarded(Ether(bytes(exp)), src_mac=MAC["egw"], dst_mac=MAC["t3"]))
