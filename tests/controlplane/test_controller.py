"""The controller end to end: an in-process network (``topo.emunet``) filled and run by
:class:`controlplane.controller.Controller` over P4Runtime, on the network's virtual clock.

Every check reads the switches back over P4Runtime or watches packets cross the network:
start installs the whole intent, a step writes only what changed, the AISID lifecycle
(register, decommission, migrate), a link down, a switch restart, a write the switch refuses
during a swap, a controller killed mid-swap, and a controller restart without a swap."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from ctl_harness import Rig, abilene_net, diamond, line4, two_gateways, wait_for

from controlplane.egress import service_nodes_entry
from controlplane.entries import TableEntry
from controlplane.p4rt import WriteError
from controlplane.routing import RoutingPlan
from controlplane.schedulers import decisions_to_entries
from controlplane.swap import SwapError
from traces.constants import PuntReason
from traces.flowhash import egw_flow_slot

SVC7 = "2001:db8:abcd:12:1:2:1:1388"  # line4's svc7: every node of site4
NEW_AISID = "2001:db8:abcd:12:3:1:1:64"
UDP = 17
DPORT = 8080


def canonical_set(rig: Rig, entries) -> Counter:
    idx = rig.ctl.connections[rig.desc.switches[0].name].client.p4info_index()
    return Counter(idx.canonical(e) for e in entries)


def answered(rig: Rig, host, sports: list[int], aisid: str = SVC7, payload: bytes = b"x") -> int:
    """Send one request per source port, run the network, count the replies from ``aisid``."""
    host.take()
    for sp in sports:
        rig.send(host, aisid, sp, payload)
    rig.net.run_for(0.05)
    return sum(1 for _t, f in host.take() if _reply_from(f, aisid))


def _reply_from(frame: bytes, aisid: str) -> bool:
    import ipaddress

    return len(frame) >= 54 and frame[22:38] == ipaddress.IPv6Address(aisid).packed


# ------------------------------------------------------------------------------ start / step
def test_start_installs_whole_intent_and_serves(rig: Rig) -> None:
    ctl, desc = rig.ctl, rig.desc
    plan = RoutingPlan(desc)
    versioned = decisions_to_entries(1, ctl.decisions, plan, desc)
    status = ctl.status()
    assert status["version"] == 1 and status["policy"] == "base1"
    for sw in desc.switches:
        want = list(plan.base_entries(sw.name))
        want += ctl.registry.classify_entries(1, sw.name)
        want += versioned[sw.name]
        per_table = Counter(e.table for e in want)
        assert status["switches"][sw.name]["state"] == "ready"
        assert status["switches"][sw.name]["entries"] == dict(per_table), sw.name
        held = rig.ctl.connections[sw.name].client.read_entries()
        assert canonical_set(rig, held) == canonical_set(rig, want), sw.name
        sid = ctl.connections[sw.name].client.read_register("CpnEgress.telemetry.switch_id", 0)
        assert sid == {0: sw.device_id}
    # both configured services classified at both gateways, version 1 active
    for gw in ("igw", "egw"):
        assert len(rig.table(gw, "CpnIngress.aisid.classify")) == 2
    assert rig.register("igw") == 1
    h = rig.host()
    assert answered(rig, h, [40000, 40001, 40002]) == 3
    assert sum(len(r.requests) for r in rig.responders.values()) == 3
    assert rig.net.losses() == {}


def test_step_writes_only_changes(rig: Rig) -> None:
    ctl = rig.ctl
    h = rig.host()
    assert answered(rig, h, [41000]) == 1
    ctl.step()  # telemetry has seen the request: whatever follows from it is written now
    n0 = rig.log.count()
    rep = ctl.step()
    assert rep.written == 0 and sum(rep.per_switch.values()) == 0
    assert rig.log.count(n0) == 0
    # a new service: the next interval writes its entries and nothing else
    rec = ctl.registry.register("svc9", NEW_AISID, "site4")
    n1 = rig.log.count()
    rep = ctl.step()
    written = rig.log.records[n1:]
    assert rep.written == len(written) > 0
    for _t, _sw, op, ent in written:
        assert op == "insert" and isinstance(ent, TableEntry), (op, ent)
        ids = {v.value for k, v in ent.match if k == "service_id"}
        ids |= {v for k, v in ent.params if k == "service_id"}
        assert ids == {rec.service_id}, ent
    assert {(sw, e.table) for _t, sw, _op, e in written} >= {
        ("igw", "CpnIngress.aisid.classify"),
        ("egw", "CpnIngress.aisid.classify"),
        ("igw", "CpnIngress.flowlet.service_site"),
        ("egw", "CpnIngress.egw.service_nodes"),
    }
    assert ctl.step().written == 0


# ------------------------------------------------------------------------------ AISID lifecycle
def test_register_and_decommission_change_classification_at_both_gateways(rig: Rig) -> None:
    ctl = rig.ctl
    punts: list[tuple[int, bytes]] = []
    got = threading.Condition()

    def on_packet_in(payload: bytes, meta: dict[str, int]) -> None:
        with got:
            punts.append((meta.get("reason", -1), payload))
            got.notify_all()

    ctl.connections["igw"].client.on_packet_in(on_packet_in)
    h = rig.host()
    # unknown before registration: punted at the ingress gateway, nothing reaches a node
    assert answered(rig, h, [42000], NEW_AISID) == 0
    with got:
        assert got.wait_for(lambda: len(punts) >= 1, 10)
    assert punts[0][0] == PuntReason.UNKNOWN_AISID

    rec = ctl.registry.register("svc9", NEW_AISID, "site4")
    assert ctl.refresh() > 0
    for gw in ("igw", "egw"):
        ids = {e.params_dict["service_id"] for e in rig.table(gw, "CpnIngress.aisid.classify")}
        assert rec.service_id in ids, gw
    assert answered(rig, h, [42001, 42002], NEW_AISID) == 2

    ctl.registry.decommission("svc9")
    assert ctl.refresh() > 0
    for gw in ("igw", "egw"):
        ids = {e.params_dict["service_id"] for e in rig.table(gw, "CpnIngress.aisid.classify")}
        assert rec.service_id not in ids, gw
        assert len(ids) == 2  # svc7 and svc8 stay
    before = len(punts)
    served = sum(len(r.requests) for r in rig.responders.values())
    assert answered(rig, h, [42003], NEW_AISID) == 0
    with got:
        assert got.wait_for(lambda: len(punts) > before, 10)
    assert punts[-1][0] == PuntReason.UNKNOWN_AISID
    assert sum(len(r.requests) for r in rig.responders.values()) == served
    assert answered(rig, h, [42004]) == 1  # the others still served
    assert rig.net.losses() == {}


def test_migrate_new_flows_move_flow_in_progress_stays(rig: Rig) -> None:
    ctl = rig.ctl
    h = rig.host()
    flow = 43000
    # the first flow of svc7 goes to node1 (WLC: no connections yet, first candidate)
    assert answered(rig, h, [flow], payload=b"a") == 1
    assert rig.served_by()[(flow, b"a")] == "node1"
    slot = egw_flow_slot(h.address, SVC7, UDP, flow, DPORT)
    flow_node = "CpnIngress.egw.flow_node"
    assert ctl.connections["egw"].client.read_register(flow_node, slot) == {slot: 1}

    ctl.migrate("svc7", "site4", [2])
    weights = {
        e.match_dict["service_id"].value: e.params_dict
        for e in rig.table("egw", "CpnIngress.egw.service_nodes")
    }
    svc7_id = ctl.registry.query("svc7").service_id
    assert weights[svc7_id]["node_0"] == 2 and weights[svc7_id]["weight_1"] == 0
    assert ctl.registry.query("svc7").state == "active"

    # the flow in progress stays on node1; every new flow goes to node2
    assert answered(rig, h, [flow], payload=b"b") == 1
    new = list(range(43001, 43021))
    assert answered(rig, h, new, payload=b"c") == len(new)
    served = rig.served_by()
    assert served[(flow, b"b")] == "node1"
    assert {served[(sp, b"c")] for sp in new} == {"node2"}
    assert ctl.connections["egw"].client.read_register(flow_node, slot) == {slot: 1}
    assert rig.net.losses() == {}


# ------------------------------------------------------------------------------ faults
def test_link_down_paths_recomputed_and_traffic_moves(tmp_path) -> None:
    rig = Rig(diamond(k_paths=1), tmp_path / "state")
    try:
        ctl = rig.ctl
        ctl.start()
        (before,) = ctl.paths().values()
        assert before["paths"][0]["nodes"] == ["igw", "a", "c", "egw"]
        ac = rig.net.link("a", "c")
        h = rig.host()
        aisid = rig.desc.services[0].aisid
        assert answered(rig, h, list(range(44000, 44010)), aisid) == 10
        carried = sum(ac.frames)
        assert carried >= 10

        rig.net.link_down("a", "c")
        assert ctl.link_down("a", "c") > 0
        (after,) = ctl.paths().values()
        nodes = after["paths"][0]["nodes"]
        assert nodes in (["igw", "b", "d", "egw"], ["igw", "a", "d", "egw"])
        assert answered(rig, h, list(range(44010, 44030)), aisid) == 20
        assert sum(ac.frames) == carried  # nothing more on the dead link
        hops = list(zip(nodes, nodes[1:], strict=False))
        assert all(sum(rig.net.link(a, b).frames) >= 20 for a, b in hops)
        assert rig.net.losses() == {}
        assert ctl.status()["down_links"] == [["a", "c"]]
    finally:
        rig.close()


def test_switch_restart_reconnects_and_reinstalls(rig: Rig) -> None:
    ctl = rig.ctl
    conn = ctl.connections["t2"]
    h = rig.host()
    assert answered(rig, h, [45000]) == 1
    readies = conn.ready_count
    n0 = rig.log.count()
    rig.net.restart_switch("t2")
    wait_for(
        lambda: any(m.startswith("t2 ready: reconciled") for _t, m in ctl.events),
        what="t2 reconnected and reconciled",
    )
    assert conn.ready_count == readies + 1 and conn.last_pipeline == "pushed"
    intent = ctl.intent_for("t2")
    want = len(intent.entries) + sum(1 for r in intent.registers.values() if r.value)
    written = [r for r in rig.log.records[n0:] if r[1] == "t2"]
    assert len(written) == want  # everything, once
    assert rig.log.count(n0) == want  # and nothing on the other switches
    held = ctl.connections["t2"].client.read_entries()
    assert canonical_set(rig, held) == canonical_set(rig, intent.entries.values())
    assert answered(rig, h, [45001, 45002]) == 2
    assert rig.net.losses() == {}


def _fill_service_nodes(rig: Rig, switch: str) -> list[TableEntry]:
    """Fill ``egw.service_nodes`` on ``switch`` up to its size with entries of version 999."""
    client = rig.ctl.connections[switch].client
    size = client.p4info_index().table("CpnIngress.egw.service_nodes").size
    free = size - len(client.read_entries("CpnIngress.egw.service_nodes"))
    filler = [service_nodes_entry(999, i, [(1, 1)]) for i in range(1, free + 1)]
    client.write([("insert", e) for e in filler], atomicity="ROLLBACK_ON_ERROR")
    return filler


@pytest.mark.parametrize("threads", [1, 4])
def test_refused_write_during_swap_rolls_back(rig: Rig, threads: int) -> None:
    """A table full on egw: SwapError, v1 serving, nothing of v2 anywhere (sequential prepare,
    and every switch prepared at once from 4 threads)."""
    ctl = rig.ctl
    ctl.swap_threads = threads
    h = rig.host()
    filler = _fill_service_nodes(rig, "egw")  # egw is the last switch written: igw, t2, t3 first
    with pytest.raises(SwapError, match="egw"):
        ctl.swap("base2")
    assert ctl.version == 1 and ctl.policy_name == "base1"
    assert rig.register("igw") == 1
    for sw in rig.desc.switches:
        assert rig.versions_held(sw.name) <= {1, 999}, sw.name
    assert ctl.store.swaps()[-1].stage == "rolled_back"
    assert answered(rig, h, [46000, 46001]) == 2

    # the table has room again: the same swap goes through
    ctl.connections["egw"].client.write([("delete", e) for e in filler])
    rep = ctl.swap("base2")
    assert rep.new_version == 2 and rig.register("igw") == 2
    for sw in rig.desc.switches:
        assert rig.versions_held(sw.name) <= {2}, sw.name
    assert answered(rig, h, [46002]) == 1
    assert rig.net.losses() == {}


def test_refused_flip_rolls_back(rig: Rig) -> None:
    ctl = rig.ctl
    client = ctl.connections["igw"].client
    real = client.write

    def refuse_version(updates, *, atomicity="CONTINUE_ON_ERROR"):
        ups = list(updates)
        if any(getattr(e, "register", "") == "CpnIngress.active_policy_version" for _, e in ups):
            raise WriteError([(0, "INTERNAL", "refused by the test")], ups)
        return real(ups, atomicity=atomicity)

    client.write = refuse_version
    with pytest.raises(SwapError, match="flipping"):
        ctl.swap("base2")
    client.write = real
    assert ctl.version == 1 and rig.register("igw") == 1
    for sw in rig.desc.switches:
        assert rig.versions_held(sw.name) <= {1}, sw.name
    assert answered(rig, rig.host(), [46100]) == 1


def test_flip_refused_on_second_gateway_drains_before_undo(tmp_path) -> None:
    """igw1 flips, igw2 refuses: igw1 goes back to v1, and the requests igw1 stamped v2 in the
    meantime still find v2 everywhere (drain) before v2 is removed."""
    rig = Rig(two_gateways(), tmp_path / "state")
    try:
        ctl = rig.ctl
        ctl.start()
        assert ctl.ingress_gateways == ["igw1", "igw2"]
        c1 = rig.host("c1")
        client = ctl.connections["igw2"].client
        real = client.write

        def slow_then_refuse(updates, *, atomicity="CONTINUE_ON_ERROR"):
            ups = list(updates)
            if any(
                getattr(e, "register", "") == "CpnIngress.active_policy_version" for _, e in ups
            ):
                rig.net.run_for(15e-6)  # time passes between the two flips: igw1 stamps v2
                raise WriteError([(0, "UNAVAILABLE", "refused by the test")], ups)
            return real(ups, atomicity=atomicity)

        client.write = slow_then_refuse
        for sp in range(46200, 46210):
            rig.send(c1, SVC7, sp, b"v2")
        with pytest.raises(SwapError, match="igw2"):
            ctl.swap("base2")
        client.write = real
        assert ctl.version == 1 and rig.register("igw1") == 1 and rig.register("igw2") == 1
        for sw in rig.desc.switches:
            assert rig.versions_held(sw.name) <= {1}, sw.name
        rig.net.run_for(0.01)
        assert sum(1 for _t, f in c1.take() if _reply_from(f, SVC7)) == 10
        assert rig.net.losses() == {}
    finally:
        rig.close()


def test_failed_cleanup_is_resynced_next_step(rig: Rig) -> None:
    """egw refuses the deletes of v1 after the flip: the swap still completes (v2 serves),
    and the next interval reads egw back and removes what is left of v1."""
    ctl = rig.ctl
    client = ctl.connections["egw"].client
    real = client.write

    def refuse_deletes(updates, *, atomicity="CONTINUE_ON_ERROR"):
        ups = list(updates)
        if ups and all(op == "delete" for op, _ in ups):
            client.write = real  # once
            raise WriteError([(0, "UNAVAILABLE", "refused by the test")], ups)
        return real(ups, atomicity=atomicity)

    client.write = refuse_deletes
    rep = ctl.swap("base2")
    assert rep.cleanup_failed == ["egw"] and ctl.version == 2
    assert rig.versions_held("egw") == {1, 2}
    assert rig.versions_held("igw") == {2}
    ctl.step()
    assert rig.versions_held("egw") == {2}
    assert answered(rig, rig.host(), [46300]) == 1


class Killed(BaseException):
    """The controller process dies here."""


@pytest.mark.parametrize("at", ["prepared", "flipped"])
def test_controller_killed_mid_swap_recovers(tmp_path, at: str) -> None:
    rig = Rig(line4(), tmp_path / "state")
    try:
        ctl = rig.ctl
        ctl.start()
        h = rig.host()
        assert answered(rig, h, [47000]) == 1
        stage = ctl._swap_stage

        def die(swap_id, s, *args):
            stage(swap_id, s, *args)
            if s == at:
                raise Killed(s)

        ctl._swap_stage = die
        # requests already past the ingress gateway (tagged 1) while the swap is cut off
        for sp in range(47001, 47011):
            rig.send(h, SVC7, sp, b"inflight")
        rig.net.run_for(25e-6)  # 10 µs access + 10 µs igw-t2: between igw and egw
        with pytest.raises(Killed):
            ctl.swap("base2")
        ctl.stop()
        new_v = 2
        # a new controller, same state directory, same switches
        ctl2 = rig.new_controller()
        n0 = rig.log.count()
        ctl2.start()
        rec = ctl2.store.swaps()[-1]
        assert rec.stage == "recovered"
        if at == "prepared":
            assert ctl2.version == 1 and ctl2.policy_name == "base1"
            assert rec.detail.startswith("undid")
        else:
            assert ctl2.version == new_v and ctl2.policy_name == "base2"
            assert rec.detail.startswith("finished")
        for sw in rig.desc.switches:
            held = rig.versions_held(sw.name)
            assert held <= {ctl2.version}, (sw.name, held)
        assert rig.versions_held("igw") == {ctl2.version}
        assert rig.register("igw") == ctl2.version
        assert rig.log.count(n0) > 0
        assert ctl2.store.pending_swap() is None
        # the requests in flight at the kill, and new ones, are all answered
        rig.net.run_for(0.05)
        replies = [f for _t, f in h.take() if _reply_from(f, SVC7)]
        assert len(replies) == 10, rig.net.losses()  # every request in flight at the kill
        assert answered(rig, h, [47100, 47101]) == 2
        assert rig.net.losses() == {}
    finally:
        rig.close()


def test_controller_restart_without_swap_writes_nothing(rig: Rig) -> None:
    ctl = rig.ctl
    h = rig.host()
    assert answered(rig, h, [48000]) == 1
    ctl.step()  # the controller has seen every input there is
    for sp in range(48001, 48006):  # in flight across the restart
        rig.send(h, SVC7, sp, b"across")
    rig.net.run_for(25e-6)
    ctl.stop()
    n0 = rig.log.count()
    ctl2 = rig.new_controller()
    ctl2.start()
    assert rig.log.count(n0) == 0  # nothing written: the switches already hold the intent
    assert ctl2.steps[-1].written == 0
    assert ctl2.version == 1 and ctl2.store.pending_swap() is None
    assert {c.last_pipeline for c in ctl2.connections.values()} == {"kept"}
    rig.net.run_for(0.05)
    assert sum(1 for _t, f in h.take() if _reply_from(f, SVC7)) == 5
    ctl2.stop()
    # no controller at all: the switches keep serving
    assert answered(rig, h, [48010, 48011]) == 2
    assert rig.net.losses() == {}


def test_abilene_start_installs_and_serves(tmp_path) -> None:
    """The generated Abilene network: every switch holds its intent; every host reaches every
    service."""
    rig = Rig(abilene_net(), tmp_path / "state")
    try:
        rig.ctl.start()
        for sw in rig.desc.switches:
            held = rig.ctl.connections[sw.name].client.read_entries()
            want = rig.ctl.intent_for(sw.name).entries.values()
            assert canonical_set(rig, held) == canonical_set(rig, want), sw.name
        for hd in rig.desc.hosts:
            h = rig.net.endpoints[hd.name]
            for i, svc in enumerate(rig.desc.services):
                assert answered(rig, h, [49000 + i], svc.aisid) == 1, (hd.name, svc.name)
        assert rig.net.losses() == {}
    finally:
        rig.close()


def test_migrate_to_another_site_keeps_the_flow_in_progress(tmp_path) -> None:
    """A service moved between sites: its active flow keeps sending to the old site (the
    ingress gateway keeps the flow's site, the old site keeps its weights while the service
    drains), new flows go to the new site, and after the pin time the old site lets go."""
    rig = Rig(abilene_net(), tmp_path / "state")
    try:
        ctl, desc = rig.ctl, rig.desc
        ctl.start()
        site1, site2 = desc.sites[0], desc.sites[1]
        aisid = "2001:db8:a15:0:77:1:1:2710"
        rec, _ = ctl.register("mig", aisid, site1.name)
        nodes_of = {n.name: s.name for s in desc.sites for n in s.nodes}
        h = rig.host()
        flow, sent = 45000, []

        def tick() -> None:  # the flow in progress: one request every 100 ms
            payload = b"%03d" % len(sent)
            sent.append(payload)
            rig.send(h, aisid, flow, payload)

        timer = rig.net.every(0.1, tick)
        rig.net.run_for(0.35)
        seen_new: list[str] = []

        def new_flows() -> None:  # while migrating: new flows go to site2 at once
            for sp in range(45001, 45011):
                rig.send(h, aisid, sp, b"new")
            seen_new.append("sent")

        t0 = rig.net.now()
        rig.net.at(t0 + 0.2, new_flows)
        rig.net.at(t0 + 0.5, timer.cancel)  # the flow in progress ends during the migration
        ctl.migrate("mig", site2.name)  # runs the network for the pin and drain time
        assert rig.net.now() - t0 >= ctl.pin_seconds() and seen_new == ["sent"]
        assert ctl.registry.query("mig").state == "active"
        served = rig.served_by()
        assert len(sent) >= 8  # 3 before the migration, 5 during it
        assert {nodes_of[served[(flow, p)]] for p in sent} == {site1.name}  # all of it, site1
        assert {nodes_of[served[(sp, b"new")]] for sp in range(45001, 45011)} == {site2.name}
        egw1 = site1.egress_gateway
        held = {
            e.match_dict["service_id"].value
            for e in rig.table(egw1, "CpnIngress.egw.service_nodes")
        }
        assert rec.service_id not in held  # drained: the old site let go
        assert rig.net.losses() == {}
    finally:
        rig.close()


def test_transport_policy_offsets_reach_the_cqf_switches(tmp_path) -> None:
    """Deterministic services become flows keyed as the CQF switches see them (the ingress
    gateway's encapsulation source), and the transport policy's offsets land on every switch
    with a CQF port."""
    from controlplane.entries import Ternary, ip6

    rig = Rig(line4(), tmp_path / "state", policy="base1+d3qn")
    try:
        ctl = rig.ctl
        ctl.start()
        det = [r for r in ctl.registry.services() if r.traffic_class == 1]
        assert det, "line4 has a deterministic service"
        [flow] = ctl.view().flows
        assert flow.src_prefix == f"{rig.desc.src_address('igw')}/128" and flow.igw == "igw"
        cqf_switches = sorted({sw for sw, _ in rig.desc.cqf.ports})
        for sw in cqf_switches:
            [e] = rig.table(sw, "CpnIngress.cqf.flow_offsets")
            assert e.match_dict["src_addr"] == Ternary(
                ip6(rig.desc.src_address("igw")), (1 << 128) - 1
            )
            assert e.params_dict["offset"] in (0, 1) and e.version() == ctl.version
    finally:
        rig.close()
