"""A network with traffic behind the web view: ``python -m controlplane.web``.

    python -m controlplane.web [--network controlplane/examples/abilene.json] [--bind HOST:PORT]
    python -m controlplane.web --screenshot docs/web-view.png [--seconds 12] [--seed 1]

:class:`DemoDriver` runs a network file as an in-process network (:mod:`topo.emunet`) under a
:class:`~controlplane.controller.Controller` on its virtual clock: UDP responders on every
service node (compute delay inversely proportional to the node's capacity), every host sending
requests to the registered services (Poisson, a rate that swells and ebbs over 20 s), and
each interval: the nodes' own load reports (the busy fraction of the interval), the
controller's step (telemetry, decisions), one round of path probes per (ingress gateway, site,
path), and the requests' latencies and deadline hits fed to the page
(:func:`controlplane.web.record_requests`). The network's own ``losses()`` reach the page
through ``ctl.extra_status``.

Without ``--screenshot`` the network runs at wall-clock speed (``--speed``) and the page stays
up until Ctrl-C. With it, ``--seconds`` of virtual time run (a swap to ``--swap-to`` half way),
then headless Chromium (Debian's ``chromium``, driven by Playwright) takes the picture.
"""

from __future__ import annotations

import argparse
import logging
import math
import shutil
import signal
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from controlplane.netdesc import NetworkDescription, load
from controlplane.p4rt import NotPrimary, SwitchUnavailable
from controlplane.web import DEFAULT_WEB, record_requests, serve_web

log = logging.getLogger("controlplane.webdemo")

EXAMPLE = Path(__file__).with_name("examples") / "abilene.json"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUEST_TIMEOUT_S = 1.0
SPORT_BASE = 20000


def chromium_path() -> str | None:
    """Debian's Chromium, or None when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class DemoDriver:
    """An in-process network, its controller and synthetic request traffic (module doc)."""

    def __init__(
        self,
        net: NetworkDescription,
        *,
        policy: str = "base1",
        seed: int = 1,
        rate_per_host: float = 60.0,
        payload_bytes: int = 800,
        state_dir: str | Path | None = None,
    ) -> None:
        from controlplane.controller import Controller
        from topo.emunet import InProcessNetwork

        for s in net.switches:
            s.address = "127.0.0.1:0"
        self.rng = np.random.default_rng(seed)
        self.rate_per_host = rate_per_host
        self.payload = b"r" * payload_bytes
        self.net = InProcessNetwork(net, seed=seed)
        self._tmp = None if state_dir else tempfile.TemporaryDirectory(prefix="cpn-web-")
        self.ctl = Controller(
            self.net.description,
            policy=policy,
            clock=self.net.controller_clock(),
            state_dir=state_dir or self._tmp.name,  # type: ignore[union-attr]
        )
        self.ctl.extra_status = lambda: {"losses": self.net.losses()}
        self.pending: dict[tuple[str, int], tuple[float, str, int]] = {}
        self.done: list[dict[str, Any]] = []
        self._sport: dict[str, int] = {}
        self.responders: dict[tuple[int, int], Any] = {}
        self._served: dict[tuple[int, int], int] = {}
        self._last_report = 0.0
        self.sent = 0
        self.probes_skipped = 0  # probe rounds a switch down or a lost primary refused

    # -- setup ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect the controller, start the responders, the hosts and the interval."""
        from topo.emunet import UdpResponder

        self.ctl.start()
        desc = self.net.description
        caps = [n.capacity_tflops for s in desc.sites for n in s.nodes] or [1.0]
        for site in desc.sites:
            for node in site.nodes:
                delay = 0.002 * max(caps) / max(node.capacity_tflops, 1e-3)
                r = UdpResponder(self.net.endpoints[node.name], compute_delay_s=min(delay, 0.05))
                self.responders[(site.site_id, node.node_id)] = r
        for h in desc.hosts:
            if h.kind != "client":
                continue
            ep = self.net.endpoints[h.name]
            ep.record = False
            ep.on_receive(lambda frame, t, name=h.name: self._on_reply(name, frame, t))
            self._sport[h.name] = 0
        self.net.every(0.01, self._send)
        self.net.every(self.ctl.net.controller.interval_s, self._interval)

    # -- traffic -------------------------------------------------------------------------------
    def rate(self, t: float) -> float:
        """Requests per second per host at virtual time ``t``."""
        return self.rate_per_host * (1.0 + 0.7 * math.sin(2 * math.pi * t / 20.0))

    def _send(self) -> None:
        from traces.packets import aisid_udp_request

        services = [r for r in self.ctl.registry.services() if r.state == "active"]
        if not services:
            return
        t = self.net.now()
        for name in self._sport:
            for _ in range(int(self.rng.poisson(self.rate(t) * 0.01))):
                svc = services[int(self.rng.integers(len(services)))]
                ep = self.net.endpoints[name]
                sport = SPORT_BASE + self._sport[name]
                self._sport[name] = (self._sport[name] + 1) % 40000
                pkt = aisid_udp_request(
                    svc.aisid, src=ep.address, sport=sport, payload=self.payload,
                    src_mac=ep.mac, dst_mac=ep.gateway_mac,
                )  # fmt: skip
                self.pending[(name, sport)] = (t, svc.name, svc.deadline_us)
                ep.send(pkt)
                self.sent += 1

    def _on_reply(self, host: str, frame: bytes, t: float) -> None:
        if len(frame) < 58 or frame[12:14] != b"\x86\xdd" or frame[20] != 17:
            return
        dport = struct.unpack_from("!H", frame, 56)[0]
        req = self.pending.pop((host, dport), None)
        if req is None:
            return
        t0, svc, deadline = req
        lat = (t - t0) * 1e6
        self.done.append(
            {"service": svc, "t": t0, "latency_us": lat, "ok": True,
             "deadline_met": (lat <= deadline) if deadline else None}
        )  # fmt: skip

    def report_node_load(self) -> None:
        """Each service node reports its own load: the fraction of the last interval it spent
        computing (requests served × compute delay), its requests and the backlog that makes."""
        from controlplane.egress import NodeLoad

        now = self.net.now()
        dt = max(now - self._last_report, 1e-9)
        self._last_report = now
        for key, r in self.responders.items():
            n = len(r.requests) - self._served.get(key, 0)
            self._served[key] = len(r.requests)
            u = min(1.0, n * r.compute_delay_s / dt)
            self.ctl.telemetry.report_node_load(*key, NodeLoad(u, n, u * r.compute_delay_s * 1e3))

    def _interval(self) -> None:
        self.report_node_load()
        self.ctl.step()
        now = self.net.now()
        for key, (t0, svc, deadline) in list(self.pending.items()):
            if now - t0 > REQUEST_TIMEOUT_S:
                del self.pending[key]
                self.done.append(
                    {"service": svc, "t": t0, "latency_us": None, "ok": False,
                     "deadline_met": False if deadline else None}
                )  # fmt: skip
        if self.done:
            record_requests(self.ctl, self.done)
            self.done = []
        self.probe_round()

    def probe_round(self) -> int:
        """One probe round per (ingress gateway, site, path) in force; returns rounds sent.

        A round the switch cannot take (its session lost, a barrier unanswered, this controller
        a backup) is skipped and counted in :attr:`probes_skipped`; the next interval tries
        again."""
        from controlplane.schedulers import resolve_paths

        d = self.ctl.decisions
        if d is None:
            return 0
        tel = self.ctl.telemetry
        tel.expire_probes(2 * self.ctl.net.controller.interval_s)
        by_id = {r.service_id: r for r in self.ctl.registry.services()}
        sent, seen = 0, set()
        for (gw, sid), site in sorted(d.service_site.items(), key=str):
            if site is None or (gw, site) in seen or sid not in by_id:
                continue
            choice = d.path_split.get((gw, site))
            if choice is None:
                continue
            seen.add((gw, site))
            try:  # the paths installed (equal decided paths are merged into one)
                n_paths = len(resolve_paths(self.ctl.plan, gw, site, choice)[1])
            except ValueError:
                continue
            for pid in range(n_paths):
                try:
                    tel.probe(gw, site, pid, by_id[sid].aisid)
                    sent += 1
                except (KeyError, ValueError, RuntimeError) as e:
                    log.debug("probe %s site %s path %d: %s", gw, site, pid, e)
                except (SwitchUnavailable, NotPrimary) as e:  # a fault: survive it
                    self.probes_skipped += 1
                    log.info("probe %s site %s path %d skipped: %s", gw, site, pid, e)
        return sent

    # -- running -------------------------------------------------------------------------------
    def run(self, seconds: float) -> None:
        self.net.run_for(seconds)

    def run_realtime(
        self, stop: threading.Event, speed: float = 1.0, chunk_s: float = 0.05
    ) -> None:
        """Run the network paced to the wall clock until ``stop`` is set."""
        t_wall, t_virt = time.monotonic(), self.net.now()
        while not stop.is_set():
            self.net.run_for(chunk_s)
            ahead = (self.net.now() - t_virt) / speed - (time.monotonic() - t_wall)
            if ahead > 0:
                stop.wait(ahead)

    def stop(self) -> None:
        self.ctl.stop()
        self.net.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


def screenshot(
    url: str, path: str | Path, *, switch: str | None = None, width: int = 1440, height: int = 1500
) -> Path:
    """Open ``url`` in headless Chromium, wait for two live frames (and the panel of
    ``switch`` when given), and save a full-page PNG to ``path``."""
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    if exe is None:
        raise RuntimeError("no chromium: apt-get install chromium (make setup does, as root)")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            page.wait_for_function("() => Number(document.body.dataset.frames || 0) >= 2")
            if switch:
                page.click(f'[data-switch="{switch}"]')
                page.wait_for_selector(f'#sw-body[data-switch="{switch}"] #sw-tables')
            page.wait_for_function(
                "() => !document.querySelector('#ch-latency').textContent.includes('no request')"
            )
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m controlplane.web", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--network", default=str(EXAMPLE), help="network file (default: abilene)")
    ap.add_argument("--policy", default="base1")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=60.0, help="requests/s per host (mean)")
    ap.add_argument(
        "--bind", default=DEFAULT_WEB,
        help="HOST:PORT of the page (default 127.0.0.1:8080; another host opens it to the "
        "network, with no authentication)",
    )  # fmt: skip
    ap.add_argument("--speed", type=float, default=1.0, help="virtual seconds per wall second")
    ap.add_argument("--screenshot", default=None, help="PNG to write, then exit")
    ap.add_argument("--seconds", type=float, default=12.0, help="virtual time before the shot")
    ap.add_argument("--swap-to", default="base2", help="policy swapped to half way ('' none)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    logging.getLogger("controlplane.web").setLevel(logging.INFO)
    drv = DemoDriver(
        load(args.network), policy=args.policy, seed=args.seed, rate_per_host=args.rate
    )
    srv = None
    try:
        drv.start()
        if args.screenshot:
            drv.run(args.seconds / 2)
            if args.swap_to:
                drv.ctl.swap(args.swap_to)
            drv.run(args.seconds / 2)
            srv = serve_web(drv.ctl, "127.0.0.1:0")
            gw = drv.ctl.ingress_gateways[0] if drv.ctl.ingress_gateways else None
            out = screenshot(f"http://{srv.address}/", args.screenshot, switch=gw)
            print(
                f"wrote {out} ({drv.ctl.net.name}, seed {args.seed}, {args.seconds:g} s virtual, "
                f"{drv.sent} requests, losses {sum(drv.net.losses().values())})"
            )
            return 0
        srv = serve_web(drv.ctl, args.bind)
        print(f"web view on http://{srv.address}/  ({drv.ctl.net.name}; Ctrl-C stops)", flush=True)
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            drv.run_realtime(stop, speed=args.speed)
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        if srv is not None:
            srv.stop()
        drv.stop()
