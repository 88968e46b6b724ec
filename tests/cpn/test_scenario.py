"""The main job's scenario runner in process: controller, hosts, workload, a swap, faults, report.

Two runs are shared by the tests (module fixtures): line4 (one site, so no site moves) with a
Base1 -> Base2 swap mid-run, and a 6-switch generated network (two sites, links in a cycle)
with every fault injected.
"""

from __future__ import annotations

import json

import pytest

from controlplane.netdesc import load
from controlplane.program import load_program
from controlplane.swap import VERSION_REGISTER
from cpn.report import PLOTS, write_report
from cpn.scenario import Scenario
from traces.workload import WorkloadParams

LINE4 = "controlplane/examples/line4.json"


@pytest.fixture(scope="module")
def program():
    return load_program()


@pytest.fixture(scope="module")
def swap_run(program):
    sc = Scenario(load(LINE4), policy="base1", seed=3, requests=40, interval_s=0.25,
                  params=WorkloadParams(concurrent=10), program=program,
                  command="pytest swap_run")  # fmt: skip
    with sc:
        sc.start()
        w0, w1 = sc.steady_window()
        sc.schedule_swap((w0 + w1) / 2, "base2")
        sc.run()
        igw_version = sc.ctl.connections["igw"].client.read_register(VERSION_REGISTER, 0)[0]
        yield sc, sc.results(), igw_version


def test_swap_mid_run_loses_nothing_and_serves_every_request(swap_run):
    sc, res, igw_version = swap_run
    assert res.losses == {} and res.unexplained_losses == {}
    s = res.summary()
    assert s["lost"] == 0
    assert [r["outcome"] for r in res.requests] == ["ok"] * 40
    assert [p["policy"] for p in res.phases] == ["base1", "base2"]
    assert [p["version"] for p in res.phases] == [1, 2]
    assert s["phases"][0]["n"] > 0 and s["phases"][1]["n"] > 0
    assert s["phases"][0]["n"] + s["phases"][1]["n"] == 40
    # versions: the controller's history, and the ingress gateway's register before and after
    assert s["versions_seen"] == [1, 2] and igw_version == 2
    sw = res.versions["swaps"][0]
    assert sw["ok"] and sw["stages"] == ["prepared", "flipped", "done"]
    assert (sw["from_version"], sw["to_version"]) == (1, 2)
    seen = [v["versions"].get("igw") for v in res.versions["gateways"]]
    assert seen[0] == 1 and seen[-1] == 2 and sorted(set(seen)) == [1, 2]
    # each request started in the phase whose span holds its start
    t_swap = (sw["t_s"] - res.meta["t_start_s"]) * 1e3
    for r in res.requests:
        assert r["phase"] == (0 if r["t_start_ms"] < t_swap else 1)


def test_swap_run_measures_links_and_nodes(swap_run):
    sc, res, _ = swap_run
    names = res.links["names"]
    assert sorted(names) == ["egw>t3", "igw>t2", "t2>igw", "t2>t3", "t3>egw", "t3>t2"]
    # requests go igw -> egw: the forward directions carry far more than the reverse ones
    mean = dict(zip(names, res.links["phase_mean"][0], strict=True))
    assert mean["igw>t2"] > 0 and mean["t2>t3"] > 0 and mean["t3>egw"] > 0
    assert mean["igw>t2"] > 10 * mean["t2>igw"]
    # the link counters charge BULK units for what they stand for: at least the data sent
    lk = sc.net.link("igw", "t2")
    data = sum(r["data_bytes"] for r in res.requests)
    assert lk.bytes[lk.side_of("igw:2")] >= data > 20 * lk.wire_bytes[lk.side_of("igw:2")]
    assert sum(n for n in res.nodes["served"]) == 40
    assert any(u > 0 for u in res.nodes["phase_mean"][1])


def test_report_files(swap_run, tmp_path):
    _, res, _ = swap_run
    page = write_report(res, tmp_path, command="pytest swap_run", title="test")
    text = page.read_text()
    assert "Made by `pytest swap_run`" in text
    assert "| requests started | " in text and "**0**" in text
    for p in PLOTS:
        assert (tmp_path / p).stat().st_size > 5000
        assert f"![{p}]({p})" in text
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["summary"]["lost"] == 0 and len(data["requests"]) == 40


def _diamond():
    """igw -a- c -egw and igw -b- d -egw with an a-d cross link: every link in a cycle, every
    request through transit switches; one site, two nodes (no site moves)."""
    from routing_nets import build_net

    d = build_net(
        "diamond",
        [("igw", "ingress_gateway"), ("a", "transit"), ("b", "transit"), ("c", "transit"),
         ("d", "transit"), ("egw", "egress_gateway")],
        [("igw", "a", 100.0), ("a", "c", 100.0), ("c", "egw", 100.0), ("igw", "b", 100.0),
         ("b", "d", 150.0), ("d", "egw", 100.0), ("a", "d", 200.0)],
        sites=[("egw", 7, (0, 1))],
    )  # fmt: skip
    for n in d.sites[0].nodes:
        n.device = "2080ti_1"
    return d


@pytest.fixture(scope="module")
def fault_run(program):
    params = WorkloadParams(service_types=4, types_per_site=4, concurrent=40,
                            compute_tflop=(0.1, 1.0))  # fmt: skip
    sc = Scenario(_diamond(), policy="base2", seed=5, requests=60, interval_s=0.05,
                  params=params, program=program)  # fmt: skip
    with sc:
        sc.start()
        span = max(r.t_us for r in sc.workload.requests) / 1e6
        recs = {  # targets chosen when each fault happens: the busiest node, link, switch
            "bad_input": sc.schedule_fault("bad_input", 0.1 * span),
            "kill_node": sc.schedule_fault("kill_node", 0.3 * span),
            "link_down": sc.schedule_fault("link_down", 0.5 * span, detect_s=0.002),
            "restart_switch": sc.schedule_fault("restart_switch", 0.7 * span, downtime_s=0.01),
        }
        sc.run()
        yield sc, sc.results(), recs, span


def test_faults_run_without_crashing(fault_run):
    sc, res, recs, _ = fault_run
    assert [a.error for a in sc.history] == [""] * len(sc.history)
    assert len(res.faults) == 4
    # every frame the network lost is explained by the fault that lost it, and each fault
    # (the bad input: its one truncated frame) lost some
    assert res.unexplained_losses == {}
    assert sum(res.losses.values()) == sum(sum(f.values()) for f in res.fault_losses)
    per = {
        f["kind"]: sum(lost.values()) for f, lost in zip(res.faults, res.fault_losses, strict=True)
    }
    assert per["bad_input"] == 1
    assert per["kill_node"] > 0 and per["link_down"] > 0 and per["restart_switch"] > 0


def test_killed_node_is_dropped_by_the_controller(fault_run):
    sc, res, recs, _ = fault_run
    k = recs["kill_node"]
    name = k.target
    assert not sc.nodes[name].alive
    assert k.detail["weights_without_node"] is True and k.detail["flows_evicted"] > 0
    assert k.detail["t_react_s"] - k.t_s <= sc.interval_s + 1e-9
    lost = res.fault_losses[res.faults.index(k.to_dict())]
    assert set(lost) <= {f"{name}/node_dead"}
    # after the controller reacted, no request is sent to the dead node: its losses stop
    site, nd = sc.node_desc[name]
    weights = sc.ctl.decisions.service_nodes
    assert all(n != nd.node_id for (s, _), w in weights.items() if s == site.site_id for n, _ in w)


def test_link_down_recomputes_paths(fault_run):
    sc, res, recs, _ = fault_run
    f = recs["link_down"]
    a, b = f.target.split("-")
    assert f.detail["writes"] > 0 and f.detail["paths_changed"] == ["igw->site7"]
    assert frozenset((a, b)) in sc.ctl.down_links
    lost = res.fault_losses[res.faults.index(f.to_dict())]
    assert set(lost) == {f"{sc.net.link(a, b).name}/link_down"}
    for info in sc.ctl.paths().values():
        for p in info["paths"]:
            hops = list(zip(p["nodes"], p["nodes"][1:], strict=False))
            assert (a, b) not in hops and (b, a) not in hops


def test_restarted_switch_is_reinstalled(fault_run):
    sc, res, recs, _ = fault_run
    f = recs["restart_switch"]
    name = f.target
    assert sc.net.description.switch(name).role == "transit"
    assert f.detail["reinstalled"] is True and f.detail["pipeline"] == "pushed"
    assert sc.net.restarts[name] == 1
    assert f"{name} ready: reconciled" in f.detail["reinstall"]
    conn = sc.ctl.connections[name]
    assert conn.state == "ready" and conn.ready_count == 2


def test_requests_after_the_faults_succeed(fault_run):
    sc, res, recs, span = fault_run
    settled = (recs["restart_switch"].t_s + 0.05 - res.meta["t_start_s"]) * 1e3
    late = [r for r in res.workload_requests() if r["t_start_ms"] > settled]
    assert late and all(r["outcome"] == "ok" for r in late)
    bad = [r for r in res.requests if r["injected"]]
    assert len(bad) == 1 and bad[0]["outcome"] == "timeout"
    assert res.drops["data_plane"].get("parser_truncated") == 1


def test_scenario_refuses_bad_input():
    with pytest.raises(ValueError, match="mode"):
        Scenario(load(LINE4), mode="carrier-pigeon")
    with pytest.raises(ValueError, match="requests"):
        Scenario(load(LINE4), requests=-1)
    sc = Scenario(load(LINE4))
    with pytest.raises(RuntimeError, match="start"):
        sc.run_until(1.0)
    with pytest.raises(ValueError, match="unknown fault"):
        sc.schedule_fault("meteor", 1.0)
    sc.stop()
