"""``python -m cpn experiment aisid-vs-dns`` on a small network: the same workload by AISID and by
DNS, DNS messages as real packets crossing the switches, TTL caching, outcomes, the comparison
and its verdicts, the CLI's JSON line and report."""

from __future__ import annotations

import ipaddress
import json

import pytest
from scapy.layers.dns import DNS
from scapy.layers.inet6 import IPv6
from scapy.utils import rdpcap

from controlplane.netdesc import load
from cpn.__main__ import main as cpn_main
from cpn.dnsbaseline import AUTHORITY, RESOLVER, with_dns_hosts
from cpn.experiment_dns import (
    METHODS,
    PAPER,
    compare,
    main,
    pct_change,
    run_method,
    verdict,
    verdicts,
)
from cpn.experiment_dns_report import PLOTS
from traces.workload import Workload, WorkloadParams

ABILENE = "controlplane/examples/abilene.json"
LINE4 = "controlplane/examples/line4.json"
REQUESTS = 24


@pytest.fixture(scope="module")
def abilene(tmp_path_factory):
    """Abilene with its DNS hosts, one workload, and every method run on it (DNS packets
    captured at the authoritative server's port and on the resolver's uplink)."""
    desc, place = with_dns_hosts(load(ABILENE))
    params = WorkloadParams(concurrent=40, types_per_site=10, service_types=10)
    wl = Workload.generate(desc, REQUESTS, 3, params)
    tmp = tmp_path_factory.mktemp("dns")
    runs, caps = {}, {}

    def capture(sc):
        sw = sc.net.description.switch(place.resolver_switch)
        uplink = next(
            p for p in sw.ports if p.peer in {s.name for s in sc.net.description.switches}
        )
        caps["auth"] = sc.net.capture(AUTHORITY, tmp / "auth.pcap")
        caps["uplink"] = sc.net.capture((sw.name, uplink.number), tmp / "uplink.pcap")

    for m in METHODS:
        hooks = [capture] if m == "dns-rr" else []
        runs[m] = run_method(m, desc, wl, place, seed=3, hooks=hooks)
    nocache = run_method("dns-rr", desc, wl, place, seed=3, ttl_s=0)
    return {"desc": desc, "place": place, "wl": wl, "runs": runs, "nocache": nocache,
            "auth_pcap": tmp / "auth.pcap", "uplink_pcap": tmp / "uplink.pcap"}  # fmt: skip


def test_dns_hosts_join_the_network_description():
    desc, place = with_dns_hosts(load(ABILENE))
    dns = [h for h in desc.hosts if h.kind == "dns"]
    assert [h.name for h in dns] == [RESOLVER, AUTHORITY]
    assert (place.resolver_address, place.authority_address) == ("fd0d:1::53", "fd0d:2::53")
    for h in dns:  # a port of the switch faces the host; the description validates
        port = next(p for p in desc.switch(h.switch).ports if p.number == h.port)
        assert port.peer == h.name
    assert "least mean delay to the client hosts' switches" in place.why
    again, place2 = with_dns_hosts(desc)  # the description's own dns hosts are kept
    assert len([h for h in again.hosts if h.kind == "dns"]) == 2
    assert (place2.resolver_switch, place2.authority_address) == (
        place.resolver_switch,
        place.authority_address,
    )


def test_both_modes_run_the_same_workload_and_every_request_ends(abilene):
    runs = abilene["runs"]
    for m, r in runs.items():
        assert r["requests"] == REQUESTS, m
        assert "pending" not in r["outcomes"], m
        assert sum(r["outcomes"].values()) == REQUESTS
        assert r["outcomes"].get("ok") == REQUESTS, (m, r["outcomes"])
        assert r["lost"] == 0
        assert len(r["initiation_ms"]) == REQUESTS
    # AISID initiation: no resolution; every DNS run answers from the same node set
    assert "dns" not in runs["aisid"]
    nodes = sorted(runs["aisid"]["node_names"])
    assert all(sorted(r["node_names"]) == nodes for r in runs.values())
    assert sum(runs["aisid"]["node_served"]) == REQUESTS
    assert all(sum(r["node_served"]) == REQUESTS for r in runs.values())


def test_dns_messages_are_real_packets_through_the_switches(abilene):
    rr = abilene["runs"]["dns-rr"]["dns"]
    auth = [p for p in rdpcap(str(abilene["auth_pcap"])) if p.haslayer(DNS)]
    queries = [p for p in auth if p[DNS].qr == 0]
    answers = [p for p in auth if p[DNS].qr == 1]
    assert len(queries) == rr["authoritative_queries"] == len(answers) > 0
    node_addrs = {
        str(ipaddress.IPv6Address(n.address)) for s in abilene["desc"].sites for n in s.nodes
    }
    names = {st.dns_name for st in abilene["wl"].catalog}
    place = abilene["place"]
    for q in queries:
        qd = q[DNS].qd[0]
        assert qd.qname.decode().rstrip(".") in names and qd.qtype == 28
        assert q[IPv6].src == place.resolver_address and q[IPv6].dst == place.authority_address
        assert q[IPv6].hlim < 64  # routed by a switch on the way
    for a in answers:
        an = a[DNS].an[0]
        assert a[DNS].aa == 1 and an.type == 28 and an.ttl == 30 and an.rdata in node_addrs
    # stub queries from clients crossing the resolver's uplink towards it
    up = [p for p in rdpcap(str(abilene["uplink_pcap"])) if p.haslayer(DNS)]
    stub_q = [p for p in up if p[DNS].qr == 0 and p[IPv6].dst == place.resolver_address]
    assert stub_q and all(p[DNS].rd == 1 and p[IPv6].hlim < 64 for p in stub_q)


def test_ttl_caching_reduces_queries(abilene):
    cached = abilene["runs"]["dns-rr"]["dns"]
    none = abilene["nocache"]["dns"]
    # TTL 0: nothing cached, every request waits for a query on the wire (a request for a name
    # already being resolved joins that query); every query goes up to the authoritative server
    assert none["stub_cache_hits"] == 0 and none["resolver_cache_hits"] == 0
    assert none["requests_resolved_on_the_wire"] == REQUESTS
    assert none["resolver_queries"] == none["stub_queries"] == none["authoritative_queries"]
    assert cached["stub_queries"] + cached["stub_cache_hits"] <= REQUESTS
    assert cached["stub_queries"] < none["stub_queries"]
    assert cached["authoritative_queries"] < none["authoritative_queries"]
    assert abilene["nocache"]["latency_ms"] > abilene["runs"]["dns-rr"]["latency_ms"]


def test_load_aware_dns_spreads_answers_over_more_nodes(abilene):
    runs = abilene["runs"]
    busy = {m: sum(1 for s in runs[m]["node_served"] if s) for m in METHODS}
    assert busy["dns-load"] > busy["dns-rr"]
    assert runs["dns-load"]["dns"]["load_measurements"] >= 1


def test_reductions_follow_the_per_method_numbers(abilene):
    runs = {3: abilene["runs"]}
    cmp = compare(runs)
    for dm in ("dns-rr", "dns-nearest", "dns-load"):
        for metric in PAPER:
            a, d = runs[3]["aisid"][metric], runs[3][dm][metric]
            assert cmp[dm][metric]["mean"] == pytest.approx((a - d) / d * 100)
            assert cmp[dm][metric]["sd"] == 0.0


def test_pct_change_and_verdicts_come_from_the_numbers():
    assert pct_change(20.0, 50.0) == pytest.approx(-60.0)
    assert pct_change(1.0, 0.0) is None and pct_change(None, 1.0) is None
    runs = {
        0: {"aisid": {"latency": 10.0, "bandwidth_variance": 2.0, "compute_variance": 1.0},
            "dns-rr": {"latency": 40.0, "bandwidth_variance": 1.0, "compute_variance": 2.0}},
        1: {"aisid": {"latency": 30.0, "bandwidth_variance": 2.0, "compute_variance": 1.0},
            "dns-rr": {"latency": 40.0, "bandwidth_variance": 1.0, "compute_variance": 0.9}},
    }  # fmt: skip
    cmp = compare(runs)
    lat = cmp["dns-rr"]["latency"]
    assert lat["per_seed"] == pytest.approx([-75.0, -25.0])
    assert lat["mean"] == pytest.approx(-50.0) and lat["sd"] == pytest.approx(35.3553, abs=1e-3)
    v = verdicts(cmp)
    assert v[0] == (
        "request initiation latency, AISID vs DNS round robin: -50.0 % ± 35.4 over 2 seeds: "
        "lower with AISID; a smaller reduction than the paper's -61.3 %"
    )
    assert v[1].endswith("+100.0 % ± 0.0 over 2 seeds: NOT lower with AISID (the paper: -32.8 %)")
    assert "lower with AISID on average, but within the spread" in v[2]
    assert "a larger reduction than the paper's -61.3 %" in verdict("latency", "dns-rr", -70, 1, 2)
    assert verdict("latency", "dns-load", None, None, 0).endswith(
        "no number (a method had no value)"
    )


def test_cli_prints_the_json_line_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "x"
    argv = ["experiment", "aisid-vs-dns", "--topology", LINE4, "--requests", "8",
            "--seeds", "0", "1", "--methods", "aisid", "dns-rr", "--interval", "0.25",
            "--out", str(out)]  # fmt: skip
    assert cpn_main(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("aisid-vs-dns: line4: 4 switches, 3 links, 1 ingress / 1 egress")
    line = json.loads(next(ln for ln in text.splitlines() if ln.startswith("{")))
    assert line["seeds"] == [0, 1] and line["baseline"] == "dns-rr" and line["paper"] == PAPER
    assert line["methods"]["aisid"]["ok"] == 16 and line["methods"]["dns-rr"]["ok"] == 16
    data = json.loads((out / "results.json").read_text())
    runs = {int(s): per for s, per in data["runs"].items()}
    cmp = compare(runs)
    for metric in PAPER:
        assert line["reduction_pct"]["dns-rr"][metric]["mean"] == pytest.approx(
            cmp["dns-rr"][metric]["mean"], rel=1e-3, abs=1e-3
        )
    printed = [ln.removeprefix("verdict: ") for ln in text.splitlines() if ln.startswith("verdict")]
    assert printed == verdicts(cmp) and len(printed) == 3
    page = (out / "report.md").read_text()
    assert "Made by `python -m cpn experiment aisid-vs-dns --topology " + LINE4 in page
    assert all(f"- verdict: {v}" in page for v in printed)
    for p in PLOTS:
        assert (out / p).stat().st_size > 5000 and f"]({p})" in page
    assert f"report: {out / 'report.md'}" in text


def test_cli_refuses_bad_input(tmp_path, capsys):
    assert main(["no-such-experiment"]) == 2
    assert "unknown experiment 'no-such-experiment'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["aisid-vs-dns", "--requests", "0", "--out", str(tmp_path)])
    assert e.value.code == 2
    rc = main(["aisid-vs-dns", "--topology", LINE4, "--policy", "nosuch", "--out", str(tmp_path)])
    assert rc == 2 and "unknown policy 'nosuch'" in capsys.readouterr().err
    rc = main(["aisid-vs-dns", "--topology", LINE4, "--methods", "dns-rr", "--out", str(tmp_path)])
    assert rc == 2 and "methods must include aisid" in capsys.readouterr().err
    assert not (tmp_path / "report.md").exists()
