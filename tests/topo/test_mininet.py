"""The Mininet way end to end (root, Debian's mininet): line4 (4 P4 switches, a client, two
service nodes on a shared port) plus a DNS host; the controller fills the tables over P4Runtime,
requests cross real veth interfaces (AISID over UDP and TCP, and a DNS name resolved by the DNS
host's server), the policy is swapped with requests in flight, and the teardown leaves no
interface, namespace or process behind."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest

from controlplane.netdesc import load
from topo.mininet.mn import why_unavailable
from topo.mininet.plan import with_dns_host

pytestmark = [
    pytest.mark.mininet,
    pytest.mark.skipif(why_unavailable() is not None, reason=str(why_unavailable())),
]

LINE4 = Path(__file__).resolve().parents[2] / "controlplane/examples/line4.json"


def _one(run, client: str, spec: dict, timeout_s: float = 30) -> dict:
    n = len(run.records())
    run.submit(client, spec)
    assert run.wait_records(n + 1, timeout_s), f"no record for {spec}"
    [rec] = [r for r in run.records() if r["request_id"] == spec["id"]]
    return rec


def test_line4_on_mininet(tmp_path):
    from topo.mininet.network import existing_interfaces, leftovers, our_processes
    from topo.mininet.run import MininetRun, netns_alive

    net = with_dns_host(load(LINE4))
    svc7, svc8 = net.services
    nodes = {n.name: n for s in net.sites for n in s.nodes}
    run = MininetRun(net, policy="base1", log_dir=tmp_path, binary=None, request_timeout_s=5)
    with run:
        plan = run.plan
        # the network as the file says: interfaces, MACs, host addresses
        assert set(plan.root_interfaces()) <= existing_interfaces()
        assert "02:00:00:01:00:02" in Path("/sys/class/net/igw-eth2/address").read_text()
        out = run.mn["node2"].cmd("ip -6 addr show dev node2-eth0; ip -6 route show table local")
        assert "fd00:4::22/64" in out and "local fd00:4::22" not in out
        # the controller filled every switch over P4Runtime
        st = run.ctl.status()
        assert (st["policy"], st["version"]) == ("base1", 1)
        assert {n: s["state"] for n, s in st["switches"].items()} == dict.fromkeys(
            ("igw", "t2", "t3", "egw"), "ready"
        )
        assert st["switches"]["igw"]["entries"]["CpnIngress.aisid.classify"] == 2
        assert st["switches"]["egw"]["entries"]["CpnIngress.egw.nodes"] == 2

        # an AISID request over UDP through the real interfaces
        rec = _one(run, "client", {"id": 901, "target": svc7.aisid, "bytes": 5000,
                                   "compute_tflop": 0.5, "reply_bytes": 3000})  # fmt: skip
        assert rec["outcome"] == "ok", rec
        assert rec["node_id"] in (1, 2) and rec["reply_bytes"] == 3000
        assert 0 < rec["initiation_latency_us"] < rec["completion_latency_us"] < 5e6
        # TCP to the deterministic service (node 1 only)
        rec = _one(run, "client", {"id": 902, "target": svc8.aisid, "proto": "tcp",
                                   "bytes": 4000, "compute_tflop": 0.2})  # fmt: skip
        assert (rec["outcome"], rec["node_id"]) == ("ok", 1), rec
        # the DNS baseline: the name is resolved by the DNS host's server, then plain routing
        rec = _one(run, "client", {"id": 903, "target": "svc8.cpn.example", "bytes": 2000})
        assert rec["outcome"] == "ok", rec
        assert ipaddress.IPv6Address(rec["address"]) == ipaddress.IPv6Address(
            nodes["node1"].address
        )
        assert rec["resolve_us"] > 0

        # a swap while requests flow: every request answered, new version everywhere
        summary = run.run_workload(10, seed=1, interval_s=0.04, swap_to="base2")
        assert summary.swap_error == ""
        assert (summary.swap["old_version"], summary.swap["new_version"]) == (1, 2)
        assert summary.outcomes == {"ok": 13}, summary.outcomes
        assert summary.phases["before swap"]["requests"] >= 3 + 5
        assert summary.phases["after swap"]["ok"] == summary.phases["after swap"]["requests"] > 0
        st = run.ctl.status()
        assert (st["policy"], st["version"]) == ("base2", 2)
        assert sum(s["served"] for s in summary.nodes.values()) == 13
        assert summary.dns["dns"]["queries"] >= 1
        procs = our_processes(plan)
        assert len(procs) >= 4  # switch processes are still up (programs were stopped)
    # teardown: nothing of the run is left
    assert run.left == [] and leftovers(plan) == []
    assert not any(netns_alive(ino) for ino in run.host_netns.values())
    assert our_processes(plan) == []
    assert os.path.getsize(tmp_path / "igw.log") > 0
