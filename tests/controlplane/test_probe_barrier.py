"""The P4Runtime stream barrier and deterministic probes on the in-process network.

A packet-out sent before :meth:`P4RuntimeClient.barrier` is in the switch (on the virtual
clock) when it returns, and a packet-in the switch emitted before it has been through the
client's callbacks; probes sent from a network callback therefore enter the ingress gateway at
the callback's virtual time, and their results appear at the next poll, whatever the load of
the machine: two processes, one beside a busy loop, record the same probes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from emunet_helpers import IG, fill_direct, line4, line4_entries
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from controlplane.entries import Lpm, entry, ip6_prefix
from controlplane.p4rt import P4RuntimeClient, SwitchUnavailable
from topo.emunet import InProcessNetwork
from traces.constants import PuntReason
from traces.packets import aisid_udp_request

ROOT = Path(__file__).resolve().parents[2]
RECORD = Path(__file__).with_name("probe_record.py")
BUSY = "import time\nt = time.monotonic() + 300\nwhile time.monotonic() < t:\n    pass\n"
UNKNOWN = "2001:db8:ffff:1::/64"  # an AISID prefix with no service: requests are punted
ROUNDS = 20


@pytest.fixture
def net(cpn_program):
    n = InProcessNetwork(line4(), cpn_program, preload_pipeline=True)
    ents = line4_entries(n.description)
    for name, sw in n.switches.items():
        fill_direct(sw, ents[name], cpn_program)
    punt = entry(
        IG + "aisid.prefixes",
        {"prefix": Lpm(ip6_prefix(UNKNOWN)[0] >> 64, 64)},
        IG + "aisid.aisid_prefix",
    )
    fill_direct(n.switches["s1"], [punt], cpn_program)
    yield n
    n.stop()


def test_barrier_orders_packet_outs_and_packet_ins(net, cpn_program):
    s1, h1 = net.description.switch("s1"), net.endpoints["h1"]
    c = P4RuntimeClient(s1.address, s1.device_id, election_id=1)
    c.use_p4info(cpn_program.p4info)
    got: list[tuple[bytes, dict[str, int]]] = []
    c.on_packet_in(lambda payload, meta: got.append((payload, meta)))
    c.connect()
    try:
        frame = bytes(Ether(dst=h1.mac, src=s1.port(1).mac) / IPv6(dst=h1.address) / UDP())
        for i in range(ROUNDS):
            # packet-outs: on the clock at this virtual time once the barrier returns
            before, t = net.clock.pending(), net.now()
            for _ in range(3):
                c.packet_out(frame, egress_port=1)
            c.barrier()
            assert net.clock.pending() == before + 3
            # a request to an unknown AISID: the switch punts it while the network runs; the
            # barrier returns only after the client's callbacks have seen it
            req = aisid_udp_request(
                f"2001:db8:ffff:1::{i + 1:x}", src=h1.address, sport=40000 + i,
                src_mac=h1.mac, dst_mac=h1.gateway_mac,
            )  # fmt: skip
            h1.send(req)
            net.run_for(0.001)
            c.barrier()
            assert len(got) == i + 1
            payload, meta = got[-1]
            assert meta == {"ingress_port": 1, "reason": int(PuntReason.UNKNOWN_AISID)}
            assert Ether(payload)[IPv6].dst == f"2001:db8:ffff:1::{i + 1:x}"
            # all three entered the switch at time t: back to back on h1's access link
            ser = len(frame) * 8 / 10e9
            times = [th for th, f in h1.take() if f == frame]
            assert times == pytest.approx([t + k * ser + 100e-6 for k in (1, 2, 3)], abs=1e-9)
        c.close()
        with pytest.raises(SwitchUnavailable, match="not connected"):
            c.barrier()
    finally:
        c.close()


def _record(seed: int, seconds: float, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(RECORD), str(seed), str(seconds), *extra], cwd=ROOT, env=env,
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _result(p: subprocess.Popen[str]) -> dict:
    out, err = p.communicate(timeout=240)
    assert p.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_probes_are_the_same_in_two_processes_one_beside_a_busy_loop():
    seconds, interval = 0.4, 0.05
    busy = subprocess.Popen([sys.executable, "-c", BUSY])  # beside the first, started first
    try:
        loaded = _record(5, seconds)
        other = _record(5, seconds)
        a, b = _result(loaded), _result(other)
    finally:
        busy.kill()
        busy.wait()
    assert a == b
    probes = a["probes"]
    assert a["lost"] == 0 and len(probes) == 3 * (round(seconds / interval) - 1)
    for _seq, path, ingress, egress, delay, sent, collected in probes:
        assert path == 0 and delay == egress - ingress > 0
        assert ingress == round(sent * 1e6)  # in the switch at the probe call's virtual time
        assert collected == pytest.approx(sent + interval)  # handled at the next poll
        assert egress < collected * 1e6
    assert len({p[4] for p in probes}) > 5  # the traffic ahead of them varies their delays
    polls = {round(t, 6): dict(((g, s, pid), v) for g, s, pid, v in d) for t, d in a["polls"]}
    for t, delays in polls.items():
        round_ = [p[4] for p in probes if p[6] == pytest.approx(t)]
        if round_:
            assert delays[("igw", 4, 0)] == pytest.approx(sum(round_) / len(round_))
