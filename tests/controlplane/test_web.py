"""The live web view (controlplane/web.py): its routes against an in-process line4 network under
a controller, and the page itself in headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import io
import json
import math
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest
from ctl_harness import wait_for

from controlplane import cli
from controlplane.api import ApiServer
from controlplane.controller import Controller
from controlplane.egress import NodeLoad
from controlplane.netdesc import load
from controlplane.web import WIDTH, RequestMetrics, layout, record_requests
from controlplane.webdemo import CHROMIUM_ARGS, chromium_path
from topo.emunet import InProcessNetwork, UdpResponder
from traces.client import RequestRecord
from traces.packets import aisid_udp_request

EXAMPLES = Path(__file__).resolve().parents[2] / "controlplane" / "examples"
NEW_AISID = "2001:db8:abcd:12:3:1:1:64"
SVC8 = "2001:db8:abcd:12:2:1:1:14"  # service 2, node 1 of site4 only
NO_NODE = "no live site (site4 has no live node)"


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """line4 in process, its controller started, the API (with the page) on a free port."""
    desc = load(EXAMPLES / "line4.json")
    for s in desc.switches:
        s.address = "127.0.0.1:0"
    net = InProcessNetwork(desc, seed=1)
    ctl = Controller(
        net.description,
        policy="base1",
        clock=net.controller_clock(),
        state_dir=tmp_path_factory.mktemp("web-state"),
    )
    srv = None
    try:
        ctl.start()
        for site in net.description.sites:
            for node in site.nodes:
                UdpResponder(net.endpoints[node.name], compute_delay_s=0.001)
        srv = ApiServer(ctl, "127.0.0.1:0")
        addr = srv.start()
        yield SimpleNamespace(net=net, ctl=ctl, addr=addr, url=f"http://{addr}")
    finally:
        if srv is not None:
            srv.stop()
        ctl.stop()
        net.stop()


def get(live, path: str):
    with urllib.request.urlopen(live.url + path, timeout=30) as r:
        return json.loads(r.read())


def post(live, path: str, body):
    req = urllib.request.Request(
        live.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def page(live):
    """One Chromium page on the live view (frames every 0.2 s); skipped without a browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; make setup does)")
    exe = chromium_path()
    if exe is None:
        pytest.skip("no Chromium (apt-get install chromium; make setup does as root)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1200})
        pg.set_default_timeout(20_000)
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(f"{live.url}/?interval=0.2")
        pg.wait_for_function("() => Number(document.body.dataset.frames || 0) >= 1")
        pg.errors = errors  # type: ignore[attr-defined]
        try:
            yield pg
        finally:
            browser.close()


def frames(pg) -> int:
    return int(pg.evaluate("() => Number(document.body.dataset.frames || 0)"))


@contextmanager
def node1_dead(live) -> Iterator[float]:
    """Node 1 of site4 reports dead (svc8 loses its only node: an outage from the step that
    follows, at the time yielded); on leaving its report is withdrawn and a step places svc8
    again."""
    ctl = live.ctl
    ctl.telemetry.report_node_load(4, 1, NodeLoad(1.0, 0, 0.0, False))
    try:
        t0 = ctl.clock.now()
        ctl.step()
        yield t0
    finally:
        ctl.telemetry.reported.pop((4, 1), None)
        ctl.step()


def send_svc8(live, n: int, sport: int) -> None:
    """``n`` requests to svc8 from the client, and the network run until they are handled."""
    h = live.net.endpoints["client"]
    for i in range(n):
        h.send(
            aisid_udp_request(
                SVC8, src=h.address, sport=sport + i, payload=b"x",
                src_mac=h.mac, dst_mac=h.gateway_mac,
            )
        )  # fmt: skip
    live.net.run_for(0.05)


def svc8_outage(ctl):
    return next((o for o in ctl.outages.history if o.service == "svc8" and o.t1 is None), None)


def wait_frames(pg, n: int = 2) -> None:
    """Wait until ``n`` more live frames reached the page."""
    pg.wait_for_function("n => Number(document.body.dataset.frames || 0) >= n", arg=frames(pg) + n)


# ------------------------------------------------------------------------------ routes
def test_topology_route_lists_the_network(live):
    t = get(live, "/web/topology")
    sw = {n["name"]: n for n in t["nodes"] if n["kind"] == "switch"}
    assert {n: s["role"] for n, s in sw.items()} == {
        "igw": "ingress_gateway",
        "t2": "transit",
        "t3": "transit",
        "egw": "egress_gateway",
    }
    assert [(lk["a"], lk["b"]) for lk in t["links"]] == [("igw", "t2"), ("t2", "t3"), ("t3", "egw")]
    assert t["geo"] is False
    hosts = [n["name"] for n in t["nodes"] if n["kind"] == "host"]
    nodes = sorted(n["name"] for n in t["nodes"] if n["kind"] == "node")
    assert hosts == ["client"] and nodes == ["node1", "node2"]
    assert ["sw:egw", "site:site4"] in t["attach"] and ["sw:igw", "host:client"] in t["attach"]
    # a line laid out along the page, every element on its own spot
    assert [sw[n]["x"] for n in ("igw", "t2", "t3", "egw")] == sorted(
        sw[n]["x"] for n in ("igw", "t2", "t3", "egw")
    )
    spots = {(n["x"], n["y"]) for n in t["nodes"]}
    assert len(spots) == len(t["nodes"])


def test_geographic_layout_keeps_compass_directions():
    pos, geo = layout(load(EXAMPLES / "abilene.json"))
    assert geo
    assert pos["s9"][0] > pos["s10"][0]  # New York east of Sunnyvale
    assert pos["s11"][1] < pos["s5"][1]  # Seattle north of Houston
    names = sorted(pos)
    closest = min(math.dist(pos[a], pos[b]) for i, a in enumerate(names) for b in names[i + 1 :])
    assert closest >= 0.05 * WIDTH - 1e-6  # the two Atlanta switches pushed apart


def test_switch_route_reads_the_switch(live):
    v = get(live, "/web/switch/igw")
    want = live.ctl.status()["switches"]["igw"]["entries"]
    assert {t: x["entries"] for t, x in v["tables"].items()} == want
    assert {t: x["intent"] for t, x in v["tables"].items()} == want
    assert v["registers"]["active_policy_version"] == live.ctl.version
    assert [p["port"] for p in v["ports"]] == [1, 2]
    assert len(v["tables"]["CpnIngress.aisid.classify"]["sample"]) == 2
    assert "-> " in v["tables"]["CpnIngress.aisid.classify"]["sample"][0]
    egw = get(live, "/web/switch/egw")
    assert set(egw["counters"]["egw_stats"]) == {
        "new", "closed", "collision", "aged", "reply_rewritten", "reply_unknown", "shared",
        "reply_overwritten"
    }  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as e:
        get(live, "/web/switch/nope")
    assert e.value.code == 404


def test_stream_sends_frames(live):
    got = []
    with urllib.request.urlopen(f"{live.url}/web/stream?interval=0.05", timeout=30) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        event = None
        for raw in r:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "frame":
                got.append(json.loads(line[6:]))
                if len(got) == 2:
                    break
    assert [f["version"] for f in got] == [live.ctl.version] * 2
    assert [len(f["links"]) for f in got] == [3, 3]
    assert set(got[0]["switches"]) == {"igw", "t2", "t3", "egw"}


def test_frame_lists_a_service_without_a_live_site(live):
    ctl = live.ctl
    out = get(live, "/web/frame")["outages"]
    assert out["active"] == []
    ended = out["ended"]
    with node1_dead(live) as t0:
        send_svc8(live, 3, 45000)
        wait_for(lambda: svc8_outage(ctl).punted == 3, what="3 punts of svc8")
        f = get(live, "/web/frame")
        assert f["outages"] == {
            "active": [
                {"service": "svc8", "service_id": 2, "reason": NO_NODE, "gateways": ["igw"],
                 "sites": ["site4"], "since": pytest.approx(t0), "punted": 3}
            ],
            "ended": ended,
        }  # fmt: skip
    # served again: no active outage, one more ended
    assert get(live, "/web/frame")["outages"] == {"active": [], "ended": ended + 1}


def test_request_metrics_percentiles_and_deadlines():
    m = RequestMetrics(bucket_s=1.0)
    for i in range(1, 21):  # 1..20 ms at t = 5.x
        m.add("svc", 5.0 + i / 100, i * 1000.0, True, i <= 15)
    m.add("svc", 6.5, None, False, False)
    s = m.summary()["services"]["svc"]
    assert [(b["t"], b["n"], b["ok"]) for b in s] == [(5.0, 20, 20), (6.0, 1, 0)]
    assert (s[0]["p50_ms"], s[0]["p95_ms"]) == (10.0, 19.0)  # nearest rank
    assert (s[0]["deadline_hits"], s[0]["deadline_misses"]) == (15, 5)
    assert (s[1]["p50_ms"], s[1]["deadline_misses"]) == (None, 1)


def test_record_requests_names_services_from_the_registry(live):
    rec = RequestRecord(
        request_id=1, target="2001:db8:abcd:12:1:2:1:1388", proto="udp", data_bytes=100,
        reply_bytes=100, compute_tflop=1.0, rate_bps=None, deadline_us=5000, service=3,
        t_start_us=2_000_000.0, t_last_reply_us=2_004_000.0, outcome="ok",
    )  # fmt: skip
    pending = RequestRecord(1, "x", "udp", 1, 1, 1.0, None, 0, 0)
    assert record_requests(live.ctl, [rec, pending]) == 1
    svc7 = get(live, "/metrics/requests")["services"]["svc7"]
    assert svc7 == [
        {"t": 2.0, "n": 1, "ok": 1, "p50_ms": 4.0, "p95_ms": 4.0,
         "deadline_hits": 1, "deadline_misses": 0}
    ]  # fmt: skip
    before = get(live, "/metrics/requests")["revision"]
    with pytest.raises(urllib.error.HTTPError) as e:
        post(live, "/metrics/requests", {"records": [{"service": "a", "t": 1}, {"t": 2}]})
    assert e.value.code == 400
    assert get(live, "/metrics/requests")["revision"] == before  # nothing added
    out = post(
        live, "/metrics/requests", {"records": [{"service": "b", "t": 3.2, "latency_us": 500}]}
    )
    assert out["added"] == 1
    assert get(live, "/metrics/requests")["services"]["b"][0]["p50_ms"] == 0.5


# ------------------------------------------------------------------------------ the page
def test_page_shows_every_switch(live, page):
    names = page.eval_on_selector_all("[data-switch]", "els => els.map(e => e.dataset.switch)")
    assert sorted(names) == sorted(s.name for s in live.ctl.net.switches)
    assert page.eval_on_selector_all("line[data-link]", "els => els.length") == 3
    assert page.inner_text("#version") == str(live.ctl.version)
    assert page.inner_text("#policy") == live.ctl.policy_name
    rows = page.eval_on_selector_all("#registry tbody tr", "els => els.map(e => e.dataset.service)")
    assert sorted(rows) == ["svc7", "svc8"]
    assert page.errors == []


def test_link_colour_follows_traffic(live, page):
    net, ctl = live.net, live.ctl
    sel = 'line[data-link="igw|t2"]'
    net.run_for(0.1)
    ctl.step()  # a quiet interval: every link measured idle
    page.wait_for_function(f"() => document.querySelector('{sel}').dataset.util === '0'")
    idle = page.get_attribute(sel, "stroke")
    assert idle == "#94a3b8"
    h = net.endpoints["client"]
    for i in range(50):
        h.send(
            aisid_udp_request(
                "2001:db8:abcd:12:1:2:1:1388",
                src=h.address,
                sport=30000 + i,
                payload=b"x" * 500,
                src_mac=h.mac,
                dst_mac=h.gateway_mac,
            )  # fmt: skip
        )
    net.run_for(0.1)
    ctl.step()
    u = ctl.telemetry.last.link_utilisation
    want = max(u[("igw", "t2")], u[("t2", "igw")])
    assert want > 0
    page.wait_for_function(f"() => Number(document.querySelector('{sel}').dataset.util) > 0")
    assert float(page.get_attribute(sel, "data-util")) == pytest.approx(want, rel=1e-9)
    assert page.get_attribute(sel, "stroke") not in (idle, "#cbd2d9")
    assert float(page.get_attribute(sel, "stroke-width")) > 2.5


def test_switch_click_shows_tables_and_counters(live, page):
    page.click('[data-switch="egw"]')
    page.wait_for_selector('#sw-body[data-switch="egw"] #sw-tables')
    want = live.ctl.status()["switches"]["egw"]["entries"]
    shown = page.eval_on_selector_all(
        "#sw-tables tr[data-table]",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.table, Number(r.querySelector('td.n').textContent)]))",
    )
    assert shown == want
    assert "egw_stats" in page.inner_text("#sw-counters")
    assert page.eval_on_selector_all("#sw-ports tbody tr", "els => els.length") == 2


def test_register_on_page_shows_in_cli(live, page):
    page.fill("#reg-name", "websvc")
    page.fill("#reg-aisid", NEW_AISID)
    page.select_option("#reg-site", "site4")
    page.fill("#reg-nodes", "1")
    page.click("#reg-btn")
    page.wait_for_selector('#registry tbody tr[data-service="websvc"]')
    assert "registered websvc" in page.inner_text("#reg-result")
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = cli.main(["aisid", "query", "websvc", "--api", live.addr, "--json"])
    assert rc == 0
    rec = json.loads(buf.getvalue())
    assert (rec["aisid"], rec["site"], rec["nodes"], rec["state"]) == (
        NEW_AISID, "site4", [1], "active"
    )  # fmt: skip
    # the same name again: refused, the page says why, the registry is unchanged
    page.fill("#reg-aisid", "2001:db8:abcd:12:4:1:1:64")
    page.click("#reg-btn")
    page.wait_for_selector("#reg-result.err")
    assert "already registered" in page.inner_text("#reg-result")
    assert live.ctl.registry.query("2001:db8:abcd:12:4:1:1:64") is None


def test_swap_control_flips_the_version(live, page):
    ctl = live.ctl
    old = ctl.version
    page.select_option("#swap-policy", "base2")
    page.click("#swap-btn")
    page.wait_for_selector("#swap-confirm:not([hidden])")
    assert "base2" in page.inner_text("#swap-question")
    page.click("#swap-yes")
    page.wait_for_function(f"() => document.querySelector('#version').textContent === '{old + 1}'")
    assert (ctl.version, ctl.policy_name) == (old + 1, "base2")
    page.wait_for_selector(f'#swaps tbody tr:has-text("{old} → {old + 1}")')
    wait_frames(page, 2)  # the header follows the controller's own state, not just the reply
    assert page.inner_text("#policy") == "base2"
    assert page.inner_text("#swap-lost") == "0" and page.inner_text("#losses") == "0"
    assert live.net.losses() == {}
    assert page.errors == []


def test_outage_banner_and_topology_marks(live, page):
    ctl = live.ctl
    banner, row = "#outages", '#outage-list li[data-service="svc8"]'
    assert page.is_hidden(banner)
    marked = "() => [...document.querySelectorAll('.outage[data-switch], .outage[data-site]')]" \
        ".map(e => e.dataset.switch || e.dataset.site).sort()"  # fmt: skip
    assert page.evaluate(marked) == []
    with node1_dead(live):
        page.wait_for_selector(row)  # visible: the banner is shown
        assert page.is_visible(banner) and "svc8" in page.inner_text("#outage-names")
        send_svc8(live, 2, 46000)
        wait_for(lambda: svc8_outage(ctl).punted == 2, what="2 punts of svc8")
        page.wait_for_function(
            f"() => document.querySelector('{row}').textContent.includes('2 packets punted')"
        )
        text = page.inner_text(row)
        assert text.startswith("svc8 (service 2): " + NO_NODE) and "punted at igw" in text
        assert page.evaluate(marked) == ["igw", "site4"]
        assert "svc8" in page.get_attribute('[data-site="site4"]', "data-outage").split()
    page.wait_for_selector(banner, state="hidden")  # served again: the banner goes
    assert page.is_hidden("#outage-pill")
    assert page.eval_on_selector_all("#outage-list li", "els => els.length") == 0
    assert page.evaluate(marked) == []
    assert "ended earlier" in page.text_content("#outages-note")
    assert page.errors == []


# ------------------------------------------------------------------------------ the demo driver
def test_demo_driver_feeds_every_chart(tmp_path):
    from controlplane.web import frame, history
    from controlplane.webdemo import DemoDriver

    drv = DemoDriver(load(EXAMPLES / "line4.json"), seed=3, state_dir=tmp_path)
    try:
        drv.start()
        drv.run(3.0)
        f, h = frame(drv.ctl), history(drv.ctl)
        reqs = drv.ctl.request_metrics.summary()["services"]
    finally:
        drv.stop()
    assert drv.sent > 100
    assert set(reqs) == {"svc7", "svc8"}
    recorded = sum(b["n"] for bs in reqs.values() for b in bs)
    assert recorded == drv.sent - len(drv.pending) - len(drv.done)
    assert all(b["p50_ms"] is not None for bs in reqs.values() for b in bs)
    assert f["losses_total"] == 0 and f["extra"] == {"losses": {}}
    assert set(f["node_util"]) == {"4>1", "4>2"} and 0 < max(f["node_util"].values()) < 1
    assert list(f["path_delay_us"]) == ["igw>4>0"] and f["path_delay_us"]["igw>4>0"] > 0
    assert h["t"] == [0.0, 1.0, 2.0, 3.0]
