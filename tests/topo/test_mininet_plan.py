"""The Mininet translation of a network description, without root or Mininet: interface names,
segments, link delays, the switch command lines, the DNS host, the workload, hostprog's CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controlplane.netdesc import load
from topo.mininet.plan import PlanError, eui64_link_local, plan_network, switch_argv, with_dns_host
from topo.mininet.workload import make_requests

ROOT = Path(__file__).resolve().parents[2]
LINE4 = ROOT / "controlplane/examples/line4.json"
ABILENE = ROOT / "controlplane/examples/abilene.json"


def test_line4_plan_names_ports_macs_and_segment():
    plan = plan_network(load(LINE4))
    igw = plan.switch("igw")
    assert igw.intfs == {1: "igw-eth1", 2: "igw-eth2"}
    assert igw.macs == {1: "02:00:00:01:00:01", 2: "02:00:00:01:00:02"}
    assert plan.switch("egw").intfs == {1: "egw-eth1", 3: "egw-eth3"}
    # node1 and node2 share egw port 3: one hub segment, bridge port 1 up, 2 and 3 down
    [seg] = plan.segments
    assert (seg.name, seg.switch, seg.port, seg.members) == ("egwbr3", "egw", 3, ["node1", "node2"])
    node1 = plan.host("node1")
    assert (node1.intf, node1.mac, node1.gateway_mac) == (
        "node1-eth0",
        "02:00:00:00:44:01",
        "02:00:00:04:00:03",
    )
    client = plan.host("client")
    assert (client.address, client.prefix_len, client.gateway_mac) == (
        "fd00:1::10",
        64,
        "02:00:00:01:00:01",
    )
    assert sorted(plan.root_interfaces()) == sorted(
        ["igw-eth1", "igw-eth2", "t2-eth1", "t2-eth2", "t3-eth1", "t3-eth2", "egw-eth1",
         "egw-eth3", "egwbr3", "egwbr3-eth1", "egwbr3-eth2", "egwbr3-eth3"]
    )  # fmt: skip


def test_link_delays_on_both_ends_and_access_one_way():
    plan = plan_network(load(ABILENE))
    net = load(ABILENE)
    for ld in net.links:
        assert plan.switch(ld.a).port_delay_us[ld.a_port] == ld.delay_us
        assert plan.switch(ld.b).port_delay_us[ld.b_port] == ld.delay_us
        assert plan.switch(ld.a).link_rate_bps[ld.a_port] == ld.rate_bps
    table = plan.delay_table()
    assert len(table) == len(net.links) + len(net.hosts) + sum(len(s.nodes) for s in net.sites)
    assert "s1-eth1 <-> s2-eth1: 50 µs each way" in table[0]


def test_switch_argv_embedded_and_bmv2():
    plan = plan_network(load(LINE4))
    igw = plan.switch("igw")
    argv = igw.argv(python="PY")
    assert argv[:3] == ["PY", "-m", "p4target.switch"]
    joined = " ".join(argv)
    for part in (
        "--device-id 1",
        "-i 1@igw-eth1 -i 2@igw-eth2",
        "--no-p4",
        "--grpc-server-addr 127.0.0.1:50051",
        "--cpu-port 255",
        "--priority-queues 8",
        "--port-delay 2@10",
        "--link-rate 2@100000000000",
        "--cqf 2@256:6,7",
        "--queue-depth 1000",
    ):
        assert part in joined
    assert "--port-delay 1@" not in joined  # access port with 0 delay: no flag
    bm = igw.argv(binary="/usr/bin/simple_switch_grpc")
    sep = bm.index("--")
    assert bm[:sep] == [
        "/usr/bin/simple_switch_grpc", "--device-id", "1", "-i", "1@igw-eth1", "-i",
        "2@igw-eth2", "--thrift-port", "60051", "--no-p4",
    ]  # fmt: skip
    assert bm[sep + 1 :] == [
        "--grpc-server-addr", "127.0.0.1:50051", "--cpu-port", "255", "--priority-queues", "8",
    ]  # fmt: skip
    assert switch_argv(device_id=3, intfs={}, grpc_address="h:1", python="P")[-1] == "8"


def test_embedded_switch_cli_accepts_the_command_line():
    from p4target.switch.__main__ import build_parser

    argv = plan_network(load(LINE4)).switch("igw").argv(python="PY")
    args = build_parser().parse_args(argv[3:])
    assert args.no_p4 and args.device_id == 1 and args.cpu_port == 255
    assert args.interface == [(1, "igw-eth1"), (2, "igw-eth2")]
    assert args.port_delay == [(2, "10")] and args.cqf == [(2, "256:6,7")]


def test_names_too_long_for_interfaces_are_refused():
    net = load(LINE4)
    net.hosts[0].name = "averyverylonghost"
    with pytest.raises(PlanError, match="longer than 15"):
        plan_network(net)


def test_with_dns_host_adds_a_valid_dns_host():
    net = with_dns_host(load(LINE4))
    dns = [h for h in net.hosts if h.kind == "dns"]
    assert [(h.name, h.address, h.switch, h.port, h.prefix) for h in dns] == [
        ("dns", "fd53:1::53", "igw", 3, "fd53:1::/64")
    ]
    assert net.switch("igw").port(3).peer == "dns"
    assert plan_network(net).host("dns").gateway_mac == net.switch("igw").port(3).mac


def test_eui64_link_local():
    assert eui64_link_local("02:00:00:01:00:01") == "fe80::ff:fe01:1"
    assert eui64_link_local("00:11:22:33:44:55") == "fe80::211:22ff:fe33:4455"


def test_make_requests_is_seeded_and_names_for_dns():
    net = load(LINE4)
    a, b = make_requests(net, 6, seed=3), make_requests(net, 6, seed=3)
    assert a == b and a != make_requests(net, 6, seed=4)
    assert [spec["target"] for _, spec in a[:2]] == [s.aisid for s in net.services]
    assert {c for c, _ in a} == {"client"}
    mixed = make_requests(net, 4, seed=0, mode="mixed")
    assert [s["target"] for _, s in mixed] == [
        net.services[0].aisid, "svc8.cpn.example", net.services[0].aisid, "svc8.cpn.example",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="mode"):
        make_requests(net, 1, mode="other")


def test_hostprog_refuses_bad_interface(capsys):
    from traces.hostprog import main

    rc = main(["client", "--ifname", "bad/name", "--mac", "02:00:00:00:00:01",
               "--address", "fd00::1", "--gateway-mac", "02:00:00:00:00:02"])  # fmt: skip
    assert rc == 2
    assert "cannot open bad/name" in capsys.readouterr().err
    # no JSON lines were written for a program that never started
    assert not [ln for ln in capsys.readouterr().out.splitlines() if ln and json.loads(ln)]
