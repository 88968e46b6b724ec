"""controlplane.registry: the AISID lifecycle (register, query, migrate, decommission) in SQLite:
validation with named fields, uniqueness, id recycling, classification entries (checked on the
embedded data plane), restart, crash mid-transaction, concurrent calls."""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from routing_nets import CLIENT, EmuNet, build_net, line4
from scapy.layers.inet6 import IPv6

from controlplane.entries import Exact, Lpm, Range, Ternary, entry
from controlplane.netdesc import ServiceDesc
from controlplane.registry import AisidRegistry, RegistryError, UnknownService
from controlplane.routing import RoutingPlan
from traces.constants import CPU_PORT, PuntReason
from traces.layers import CpuPacketIn
from traces.packets import aisid_udp_request

ROOT = Path(__file__).resolve().parents[2]
A1 = "2001:db8:abcd:12:1:2:1:1388"  # performance 5000 (500 ms): best effort
A2 = "2001:db8:abcd:12:1:2:2:14"  # performance 20 (2 ms): deterministic
A3 = "2001:db8:abcd:12:7:7:7:0"


def two_sites():
    return build_net(
        "two-sites",
        [
            ("igw", "ingress_gateway"),
            ("t", "transit"),
            ("e1", "egress_gateway"),
            ("e2", "egress_gateway"),
        ],
        [("igw", "t", 10.0), ("t", "e1", 10.0), ("t", "e2", 10.0)],
        sites=[("e1", 1, (0, 1)), ("e2", 2, (0,))],
    )


@pytest.fixture
def reg(tmp_path):
    r = AisidRegistry(tmp_path / "reg.sqlite", two_sites())
    yield r
    r.close()


def test_register_records_fields_and_defaults(reg):
    r1 = reg.register("llm", A1, "site1", nodes=[2, 1, 2])
    assert (r1.name, r1.aisid, r1.prefix, r1.service_id) == ("llm", A1, "2001:db8:abcd:12::/64", 1)
    assert (r1.object, r1.function, r1.method, r1.performance) == (1, 2, 1, 0x1388)
    assert (r1.traffic_class, r1.deadline_us) == (0, 500_000)
    assert (r1.site, r1.site_id, r1.nodes, r1.state, r1.version) == (
        "site1",
        1,
        (1, 2),
        "active",
        1,
    )
    r2 = reg.register("detect", A2, 2)  # site by id
    assert (r2.service_id, r2.traffic_class, r2.deadline_us, r2.site) == (2, 1, 2000, "site2")
    r3 = reg.register("x", A3, "site2", traffic_class=1, deadline_us=7)
    assert (r3.traffic_class, r3.deadline_us) == (1, 7)
    assert reg.query("llm") == r1 == reg.query(A1) == reg.query("2001:db8:abcd:12:1:2:1:1388 ")
    assert reg.query("nobody") is None and reg.query("2001:db8:abcd:12::9") is None
    assert [s.name for s in reg.services()] == ["llm", "detect", "x"]
    assert [e.event for e in reg.history()] == ["register"] * 3


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"aisid": "2001:db8:abcd:12::zz"}, "aisid", "not an IPv6 address"),
        ({"aisid": {"prefix": "2001:db8:abcd:12::/64", "object": 70000, "function": 1, "method": 1}}, "aisid", "object must be in 0..65535"),
        ({"aisid": 1 << 129}, "aisid", "128-bit"),
        ({"aisid": "2001:db8:ffff:12:1:2:1:1"}, "aisid", "not in any AISID prefix of the network (2001:db8:abcd:12::/64)"),
        ({"aisid": A1}, "aisid", "already registered (service 'llm'"),
        ({"name": "llm"}, "name", "llm is already registered"),
        ({"name": ""}, "name", "non-empty"),
        ({"name": "fd00::1"}, "name", "looks like an address"),
        ({"site": "mars"}, "site", "no site 'mars' (sites: site1, site2)"),
        ({"nodes": [3]}, "nodes", "site site1 has no node 3 (nodes: [1, 2])"),
        ({"traffic_class": 4}, "traffic_class", "0 (best effort) or 1"),
        ({"deadline_us": -1}, "deadline_us", "0..2**32-1"),
    ],
)  # fmt: skip
def test_bad_registrations_name_the_field_and_change_nothing(reg, kwargs, field, text):
    reg.register("llm", A1, "site1")
    before, rev = reg.services(active_only=False), reg.revision()
    args = {"name": "new", "aisid": A3, "site": "site1", **kwargs}
    with pytest.raises(RegistryError) as ei:
        reg.register(args.pop("name"), args.pop("aisid"), args.pop("site"), **args)
    assert ei.value.field == field and str(ei.value).startswith(f"{field}: ")
    assert text in str(ei.value)
    assert reg.services(active_only=False) == before and reg.revision() == rev


def test_migrate_keeps_the_old_placement_until_finished(reg):
    reg.register("llm", A1, "site1", nodes=[1])
    m = reg.migrate("llm", "site2")
    assert (m.state, m.site, m.site_id, m.nodes) == ("migrating", "site2", 2, ())
    assert (m.previous_site, m.previous_nodes, m.version) == ("site1", (1,), 2)
    assert reg.placement_nodes(m) == [1] and reg.placement_nodes(m, previous=True) == [1]
    with pytest.raises(RegistryError, match="state: service 'llm' is still migrating from site1"):
        reg.migrate(A1, "site1")
    f = reg.finish_migration(A1)
    assert (f.state, f.previous_site, f.previous_nodes, f.site) == ("active", None, None, "site2")
    with pytest.raises(RegistryError, match="already at site2"):
        reg.migrate("llm", "site2")
    with pytest.raises(RegistryError, match="is not migrating"):
        reg.finish_migration("llm")
    with pytest.raises(UnknownService, match="no registered service 'ghost'"):
        reg.migrate("ghost", "site1")
    with pytest.raises(RegistryError, match="nodes: site site1 has no node 9"):
        reg.migrate("llm", "site1", [9])
    h = reg.history("llm")
    assert [e.event for e in h] == ["register", "migrate", "finish_migration"]
    assert h[1].detail == {"from_site": "site1", "from_nodes": [1], "site": "site2", "nodes": []}


def test_decommission_recycles_the_id_and_frees_name_and_aisid(reg):
    for n, a in (("a", A1), ("b", A2), ("c", A3)):
        reg.register(n, a, "site1")
    d = reg.decommission("b")
    assert d.state == "decommissioned" and d.service_id == 2
    assert reg.query("b") is None and reg.answer_unknown(A2) is None
    assert reg.query("b", include_decommissioned=True).state == "decommissioned"
    assert [s.name for s in reg.services()] == ["a", "c"]
    assert len(reg.services(active_only=False)) == 3
    assert reg.register("new", "2001:db8:abcd:12:9:9:9:9", "site2").service_id == 2  # lowest free
    assert reg.register("b", A2, "site2").service_id == 4  # name and AISID may come back
    with pytest.raises(UnknownService):
        reg.decommission("zzz")
    assert reg.answer_unknown(A1).name == "a"
    assert reg.answer_unknown(bytes.fromhex("20010db8abcd00120001000200011388")).name == "a"
    with pytest.raises(RegistryError, match="aisid: "):
        reg.answer_unknown("not-an-aisid")


def test_classify_entries_exact(reg):
    reg.register("llm", A1, "site1")
    reg.register("det", A2, "site2")
    reg.register("gone", A3, "site2")
    reg.decommission("gone")
    got = reg.classify_entries(5, "igw")
    assert got == [
        entry(
            "CpnIngress.aisid.classify",
            {
                "policy_version": Exact(5),
                "prefix": Lpm(0x20010DB8ABCD0012, 64),
                "object": Ternary(1, 0xFFFF),
                "function": Ternary(2, 0xFFFF),
                "method": Ternary(1, 0xFFFF),
                "performance": Range(0x1388, 0x1388),
            },
            "CpnIngress.aisid.set_service",
            {"service_id": 1, "traffic_class": 0, "deadline_us": 500_000},
            priority=1,
        ),
        entry(
            "CpnIngress.aisid.classify",
            {
                "policy_version": Exact(5),
                "prefix": Lpm(0x20010DB8ABCD0012, 64),
                "object": Ternary(1, 0xFFFF),
                "function": Ternary(2, 0xFFFF),
                "method": Ternary(2, 0xFFFF),
                "performance": Range(20, 20),
            },
            "CpnIngress.aisid.set_service",
            {"service_id": 2, "traffic_class": 1, "deadline_us": 2000},
            priority=1,
        ),
    ]
    assert reg.classify_entries(5, "e2") == [e for e in got]  # egress gateways too
    assert reg.classify_entries(5, "t") == []
    with pytest.raises(KeyError, match="no switch named 'x'"):
        reg.classify_entries(5, "x")


def test_state_survives_restart_and_register_configured_is_idempotent(tmp_path):
    net = two_sites()
    net.services = [ServiceDesc("cfg", A3, "site2", [1], 0, 0)]
    path = tmp_path / "reg.sqlite"
    r = AisidRegistry(path, net)
    r.register("llm", A1, "site1")
    r.migrate("llm", "site2")
    assert [x.name for x in r.register_configured()] == ["cfg"]
    before, hist = r.services(active_only=False), r.history()
    r.close()
    r2 = AisidRegistry(path, net)
    assert r2.services(active_only=False) == before and r2.history() == hist
    assert r2.register_configured() == []
    assert r2.query("llm").previous_site == "site1"
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert r2._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    r2.close()


def test_exception_inside_a_transaction_leaves_the_last_committed_state(tmp_path, monkeypatch):
    path = tmp_path / "reg.sqlite"
    r = AisidRegistry(path, two_sites())
    r.register("llm", A1, "site1")
    before, rev = r.services(active_only=False), r.revision()

    def boom(*a, **k):
        raise RuntimeError("crash between the row and its history")

    monkeypatch.setattr(r, "_log", boom)
    for call in (
        lambda: r.register("b", A2, "site1"),
        lambda: r.migrate("llm", "site2"),
        lambda: r.decommission("llm"),
    ):
        with pytest.raises(RuntimeError, match="crash"):
            call()
        assert r.services(active_only=False) == before and r.revision() == rev
    monkeypatch.undo()
    assert r.register("b", A2, "site1").service_id == 2  # usable afterwards
    r.close()
    assert [s.name for s in AisidRegistry(path, two_sites()).services()] == ["llm", "b"]


CHILD = """
import os, pickle, sys
from controlplane.registry import AisidRegistry
net = pickle.load(open(sys.argv[2], "rb"))
r = AisidRegistry(sys.argv[1], net)
r.register("committed", "2001:db8:abcd:12:1:2:1:1388", "site1")
def die(*a, **k):
    os._exit(3)  # the process dies with the transaction open
r._log = die
r.register("lost", "2001:db8:abcd:12:1:2:2:14", "site1")
"""


def test_process_killed_mid_transaction(tmp_path):
    path, netfile = tmp_path / "reg.sqlite", tmp_path / "net.pickle"
    netfile.write_bytes(pickle.dumps(two_sites()))
    p = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(netfile)],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert p.returncode == 3, p.stderr.decode()
    r = AisidRegistry(path, two_sites())
    assert [(s.name, s.service_id) for s in r.services(active_only=False)] == [("committed", 1)]
    assert [e.event for e in r.history()] == ["register"]
    assert r.register("next", A2, "site1").service_id == 2
    r.close()


def test_concurrent_calls_are_serialised(tmp_path):
    r = AisidRegistry(tmp_path / "reg.sqlite", two_sites())
    errors: list[Exception] = []
    won: list[str] = []
    barrier = threading.Barrier(8)

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(10):
            try:
                r.register(f"s{t}-{i}", f"2001:db8:abcd:12:{t + 1:x}:{i + 1:x}:0:0", "site1")
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        try:  # everyone races for the same AISID: exactly one wins
            r.register(f"dup{t}", A1, "site1")
            won.append(f"dup{t}")
        except RegistryError as e:
            assert e.field == "aisid"

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and len(won) == 1
    ids = sorted(s.service_id for s in r.services())
    assert ids == list(range(1, 82))
    assert len(r.history()) == 81
    r.close()


def test_registered_then_decommissioned_on_the_data_plane(cpn_program, tmp_path):
    """Classified while registered; punted as UNKNOWN_AISID once decommissioned."""
    net = line4()
    emu = EmuNet(net, cpn_program)
    plan = RoutingPlan(net)
    reg = AisidRegistry(tmp_path / "reg.sqlite", net)
    svc = reg.register("llm", A1, "site4")
    for s in net.switches:
        emu.install(s.name, plan.base_entries(s.name))
        emu.install(s.name, reg.classify_entries(0, s.name))
    emu.install(
        "igw",
        [entry("CpnIngress.flowlet.service_site", {"policy_version": 0, "service_id": svc.service_id},
               "CpnIngress.flowlet.set_site", {"site_id": 4})]
        + plan.encap_entries(0, "igw", 4, plan.paths("igw", 4, 1)),
    )  # fmt: skip
    client = net.hosts[0]
    req = aisid_udp_request(
        A1, src=CLIENT, src_mac=client.mac, dst_mac=net.switch("igw").port(client.port).mac
    )
    emu.send("igw", client.port, bytes(req))
    assert [s for s, _, _ in emu.tx][:2] == ["igw", "t2"] and emu.punts["igw"] == []
    reg.decommission("llm")
    for s in ("igw", "egw"):
        emu.clear(s, "CpnIngress.aisid.classify")
        emu.install(s, reg.classify_entries(0, s))
    emu.send("igw", client.port, bytes(req))
    assert [(s, p) for s, p, _ in emu.tx] == [("igw", CPU_PORT)]
    [pin] = emu.punts["igw"]
    h = CpuPacketIn(pin)
    assert h.reason == PuntReason.UNKNOWN_AISID and h[IPv6].dst == A1
    assert reg.answer_unknown(h[IPv6].dst) is None
