"""``python -m cpn demo`` on a tiny configuration, its choices of network and policy, bad input."""

from __future__ import annotations

import json

import pytest
from scapy.utils import rdpcap

from cpn import demo
from cpn.__main__ import main as cpn_main
from cpn.report import PLOTS, write_report
from cpn.results import ScenarioResults
from traces.workload import Workload

LINE4 = "controlplane/examples/line4.json"


def test_demo_on_line4_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--topology", LINE4, "--requests", "30", "--swap-to", "base2",
            "--interval", "0.25", "--out", str(out), "--no-progress", "--pcap",
            "--web", "127.0.0.1:0"]  # fmt: skip
    fed: list[int] = []
    real = demo._feed_web

    def feed(sc):  # the page gets the finished requests while the job runs
        real(sc)
        fed.append(len(sc.__dict__["_web_fed"]))

    demo._feed_web = feed
    try:
        assert cpn_main(argv) == 0
    finally:
        demo._feed_web = real
    text = capsys.readouterr().out
    assert "  web view: http://127.0.0.1:" in text and "(live while the job runs)" in text
    assert fed and fed[-1] == 30 and fed == sorted(fed)
    assert "cpn demo: line4: 4 switches, 3 links, 1 ingress / 1 egress gateways" in text
    assert "policies: base1 -> base2 in the middle of the steady state (--swap-to base2)" in text
    assert "packets lost: 0 (net.losses() is empty)" in text
    assert "policy versions seen: 1, 2; swap 1 -> 2 at " in text
    assert f"report: {out / 'report.md'}" in text
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert summary["lost"] == 0 and summary["versions_seen"] == [1, 2]
    assert summary["requests"] == 30 and summary["overall"]["ok"] == 30
    assert [p["policy"] for p in summary["phases"]] == ["base1", "base2"]
    assert summary["node_jobs"] == {"stray_units": 0, "stray_jobs": 0, "incomplete": 0,
                                    "expired": 0}  # fmt: skip
    assert "service nodes:" not in text
    # units with no request, on a node: a summary line and the report's numbers
    d = json.loads((out / "results.json").read_text())
    d.pop("summary")
    res = ScenarioResults(**d)
    res.nodes["job_stats"][0].update(stray_units=3, stray_jobs=1, incomplete=1, expired=2)
    lines = demo.format_summary(res, None, []).splitlines()
    assert (
        "service nodes: 3 stray units (1 job) with no request, 1 incomplete job (request, "
        "not all its data), 2 jobs expired"
    ) in lines
    page = write_report(res, tmp_path / "again", command="x").read_text()
    assert (
        "- Service nodes: 3 stray units (1 job) with no request, 1 incomplete job (request, "
        "not all its data), 2 jobs expired (`ServiceNode.job_stats`: node1 expired 2, "
        "incomplete 1, stray_jobs 1, stray_units 3)"
    ) in page
    assert res.summary()["node_jobs"] == {"stray_units": 3, "stray_jobs": 1, "incomplete": 1,
                                          "expired": 2}  # fmt: skip
    page = (out / "report.md").read_text()
    command = "python -m cpn demo --topology " + LINE4
    assert f"Made by `{command}" in page
    for p in PLOTS:
        assert (out / p).stat().st_size > 5000
    # the workload's trace file replays the same requests
    w = Workload.load(out / "workload.jsonl")
    assert len(w.requests) == 30 and w.seed == 0
    # pcaps of the client and of a node: real frames, the client's first one a request to an AISID
    client = rdpcap(str(out / "pcap" / "client.pcap"))
    node = rdpcap(str(out / "pcap" / "node1.pcap"))
    assert len(client) > 30 and len(node) > 0
    assert client[0]["IPv6"].dst.startswith("2001:db8:abcd:12:")


def test_demo_refuses_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        demo.main(["--requests", "0", "--out", str(tmp_path)])
    assert e.value.code == 2
    assert demo.main(["--topology", "no-such-topology", "--out", str(tmp_path)]) == 2
    assert "no topology 'no-such-topology'" in capsys.readouterr().err
    rc = demo.main(["--topology", LINE4, "--swap-to", "nosuch", "--out", str(tmp_path)])
    assert rc == 2 and "unknown policy 'nosuch'" in capsys.readouterr().err
    assert not (tmp_path / "report.md").exists()
    assert cpn_main([]) == 2 and cpn_main(["frobnicate"]) == 2 and cpn_main(["--help"]) == 0


def test_network_and_policy_choice():
    dn = demo.build_network("abilene", seed=0)
    d = dn.desc
    assert (len(d.switches), len(d.ingress_gateways), len(d.egress_gateways)) == (12, 3, 2)
    assert dn.params.concurrent == 150 and dn.requests == 450
    assert dn.params.types_per_site == 20  # both sites provide every type: 2 per type
    assert sum(n.capacity_tflops for s in d.sites for n in s.nodes) == pytest.approx(3000.0)
    assert {lk.rate_bps for lk in d.links} == {100e9} and {lk.delay_us for lk in d.links} == {5000}
    assert demo.choose_swap(d, "base1", "auto") == ("rlmscpn", "rlmscpn loads on Abilene")
    assert demo.choose_swap(d, "base1", "none")[0] is None
    line = demo.build_network(LINE4, seed=0)
    # a network file runs as it is, at Table 3's load per TFLOPS: 200 TFLOPS -> 10 in flight
    assert line.params.concurrent == 10 and line.requests == 30
    assert "10 requests in flight for its 200 TFLOPS" in line.notes[0]
    target, why = demo.choose_swap(line.desc, "base1", "auto")
    assert target in ("mappo", "base3") and why.startswith(f"{target} loads on line4 (rlmscpn: ")
