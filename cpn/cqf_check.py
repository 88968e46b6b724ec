"""``python -m cpn cqf``: CQF end to end on the in-process network, deterministic beside best
effort.

The controller (a ``SITES+TRANSPORT`` policy, ``base1+d3qn`` by default) fills a line network
(``controlplane/examples/line4.json``: client - igw - t2 - t3 - egw - site4, CQF with cycle T on
the three downstream switch ports) and is told of one deterministic flow (the client to svc8,
Performance 20), whose cycle offset the transport policy decides (``cqf.flow_offsets``). The
client then sends that flow (a small frame every ``det_period_us``) together with best-effort
bursts to svc7 that queue at igw's downstream port. Taps on every link record each packet's
arrival at each switch; a hop's delay is the time between arrivals at consecutive switches less
the link's propagation delay. With offset ``o`` CQF bounds it to (o T, (2 + o) T] (the
(0, 2T] bound for ``o = 0``). Links run at ``rate_bps`` (1 Gb/s by default, so that the bursts
build queues) instead of the file's rates; the data plane is as shipped.
"""

from __future__ import annotations

import argparse
import copy
import logging
import random
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controlplane.controller import Controller
from controlplane.netdesc import NetworkDescription, load
from controlplane.schedulers import DetFlow
from topo.emunet import InProcessNetwork
from topo.emunet.links import SwitchEnd
from traces.flowhash import flow_hash
from traces.packets import aisid_udp_request

log = logging.getLogger("cpn.cqf")

NET_FILE = Path(__file__).resolve().parent.parent / "controlplane/examples/line4.json"
MAGIC = b"cqfchk:"
DET, BE = b"D", b"B"
DET_SPORT, BE_SPORT, DPORT = 40000, 41000, 8080


@dataclass
class CqfResult:
    """What one run measured (delays in µs)."""

    policy: str
    cycle_us: int
    offset: int
    hops: list[tuple[str, str]]
    det_sent: int
    be_sent: int
    det_delivered: int
    be_delivered: int
    det_hop_us: dict[str, list[float]]  # "a->b" -> one delay per deterministic packet
    be_hop_us: dict[str, list[float]]
    det_e2e_us: list[float]
    be_e2e_us: list[float]
    losses: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def bound_us(self) -> tuple[float, float]:
        """CQF per-hop bound (low exclusive, high inclusive) for this flow's offset."""
        return self.offset * self.cycle_us, (2 + self.offset) * self.cycle_us

    def metrics(self) -> list[tuple[str, Any, str]]:
        """``(name, value, unit)`` lines, verdicts computed from the numbers beside them."""
        lo, hi = self.bound_us
        det_all = [d for v in self.det_hop_us.values() for d in v]
        be_all = [d for v in self.be_hop_us.values() for d in v]
        inside = all(lo < d <= hi for d in det_all) and bool(det_all)
        out: list[tuple[str, Any, str]] = [
            ("cqf.policy", self.policy, ""),
            ("cqf.cycle_us", self.cycle_us, "us"),
            ("cqf.flow_offset", self.offset, "cycles"),
            ("cqf.bound_low_us", lo, "us (exclusive)"),
            ("cqf.bound_high_us", hi, "us"),
            ("cqf.deterministic.sent", self.det_sent, "packets"),
            ("cqf.deterministic.delivered", self.det_delivered, "packets"),
            ("cqf.besteffort.sent", self.be_sent, "packets"),
            ("cqf.besteffort.delivered", self.be_delivered, "packets"),
            ("cqf.lost", sum(self.losses.values()), "packets"),
        ]
        for tag, hops, e2e in (
            ("deterministic", self.det_hop_us, self.det_e2e_us),
            ("besteffort", self.be_hop_us, self.be_e2e_us),
        ):
            flat = [d for v in hops.values() for d in v]
            out += [
                (f"cqf.{tag}.per_hop_min_us", _r(min(flat, default=0.0)), "us"),
                (f"cqf.{tag}.per_hop_max_us", _r(max(flat, default=0.0)), "us"),
                (f"cqf.{tag}.per_hop_jitter_max_us", _r(_max_jitter(hops)), "us"),
                (f"cqf.{tag}.e2e_max_us", _r(max(e2e, default=0.0)), "us"),
                (f"cqf.{tag}.e2e_jitter_us", _r(_jitter(e2e)), "us"),
            ]
            for hop, v in hops.items():
                out.append((f"cqf.{tag}.hop.{hop}.max_us", _r(max(v, default=0.0)), "us"))
        n_over = sum(1 for d in be_all if d > hi)
        two_t = 2 * self.cycle_us
        out += [
            ("cqf.deterministic.within_bound", "yes" if inside else "no", ""),
            (
                "cqf.deterministic.within_0_2T",
                "yes" if det_all and all(0 < d <= two_t for d in det_all) else "no",
                f"(offset-0 bound (0, {two_t}] us)",
            ),
            ("cqf.besteffort.over_bound", n_over, "packet-hops"),
            ("cqf.besteffort.exceeds_bound", "yes" if n_over else "no", ""),
        ]
        return out


def _r(x: float) -> float:
    return round(x, 3)


def _jitter(v: list[float]) -> float:
    return max(v) - min(v) if v else 0.0


def _max_jitter(hops: dict[str, list[float]]) -> float:
    return max((_jitter(v) for v in hops.values()), default=0.0)


def network(rate_bps: float) -> NetworkDescription:
    """line4 with ephemeral P4Runtime addresses and every switch-to-switch link at
    ``rate_bps``."""
    nd = copy.deepcopy(load(NET_FILE))
    for s in nd.switches:
        s.address = "127.0.0.1:0"
    names = {s.name for s in nd.switches}
    for ld in nd.links:
        ld.rate_bps = rate_bps
    for s in nd.switches:
        for p in s.ports:
            if p.peer in names:
                p.rate_bps = rate_bps
    if not nd.cqf.ports:
        raise ValueError(f"{NET_FILE}: no CQF port")
    return nd


class FlowController(Controller):
    """A controller told of deterministic flows (its view's ``flows``), whose cycle offsets
    the transport policy decides."""

    def __init__(self, *a: Any, flows: list[DetFlow] | None = None, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.flows: list[DetFlow] = list(flows or [])

    def view(self) -> Any:
        v = super().view()
        v.flows = list(self.flows)
        return v


class _Taps:
    """Arrival times (µs) of tagged packets at every switch (and host) they reach."""

    def __init__(self, net: InProcessNetwork) -> None:
        self.arrivals: dict[bytes, list[tuple[float, str]]] = {}
        for lk in [*net.links, *(hp.link for hp in net.access.values())]:
            names = [e.switch if isinstance(e, SwitchEnd) else "host" for e in lk.ends]
            lk.taps.append(self._tap(names))

    def _tap(self, names: list[str]):
        def tap(side: int, data: bytes, t_us: float, outgoing: bool) -> None:
            if outgoing:
                return
            i = data.find(MAGIC)
            if i >= 0:
                key = data[i + len(MAGIC) : i + len(MAGIC) + 5]
                self.arrivals.setdefault(key, []).append((t_us, names[side]))

        return tap


def run(
    *,
    seed: int = 0,
    policy: str = "base1+d3qn",
    rate_bps: float = 1e9,
    det_packets: int = 100,
    det_period_us: float = 1000.0,
    det_payload: int = 64,
    burst_every_us: float = 2000.0,
    burst_frames: int = 100,
    be_payload: int = 1400,
    recirculate_delay_us: float = 1.0,
) -> CqfResult:
    """Run the check; see the module docstring."""
    if det_packets < 1 or burst_frames < 0 or det_period_us <= 0 or burst_every_us <= 0:
        raise ValueError("det_packets >= 1, burst_frames >= 0 and positive periods required")
    rng = random.Random(seed)
    nd = network(rate_bps)
    svc = {s.name: s for s in nd.services}
    det_svc, be_svc = svc["svc8"], svc["svc7"]
    host = nd.hosts[0]
    note = ""
    with InProcessNetwork(nd, seed=seed) as net, tempfile.TemporaryDirectory() as tmp:
        ctl = FlowController(
            net.description, policy=policy, clock=net.controller_clock(), state_dir=tmp
        )
        for sname in {s for s, _ in nd.cqf.ports}:
            # A CQF hold (offset 1) recirculates until its cycle opens; with the target's
            # default 0 µs per pass, 4096 passes take no virtual time and the hold ends at once.
            net.switches[sname].set_recirculate_delay(recirculate_delay_us)
        ctl.start()
        try:
            sid = next(r.service_id for r in ctl.registry.services() if r.name == det_svc.name)
            # cqf.flow_offsets matches the outer header at every CQF switch (the ingress
            # gateway applies it after encapsulating): source = the gateway's encapsulation
            # source, flow label = the flow hash of the request's 5-tuple.
            label = flow_hash(host.address, det_svc.aisid, 17, DET_SPORT, DPORT)
            ctl.flows = [
                DetFlow(
                    src_prefix=f"{nd.src_address(host.switch)}/128",
                    igw=host.switch,
                    service_id=sid,
                    flow_label=label,
                    bytes_per_cycle=det_payload + 62 + 80,
                )
            ]
            try:
                dec = ctl.decide()
            except Exception as e:  # noqa: BLE001 - a transport policy that cannot decide here
                note = f"{policy} could not decide ({e}); fell back to base1+sa"
                log.warning(note)
                policy = "base1+sa"
                ctl.swap(policy)
                dec = ctl.decide()
            offset = int(next(iter(dec.flow_offsets.values())))
            ctl.step(force=True)  # writes cqf.flow_offsets on the CQF switches
            taps = _Taps(net)
            ep = net.endpoints[host.name]
            counts = {DET: 0, BE: 0}

            def send(kind: bytes, aisid: str, size: int, sport: int) -> None:
                key = kind + struct.pack("!I", counts[kind])
                counts[kind] += 1
                pl = MAGIC + key
                pl += bytes(rng.randrange(256) for _ in range(max(0, size - len(pl))))
                ep.send(
                    aisid_udp_request(
                        aisid,
                        src=host.address,
                        sport=sport,
                        dport=DPORT,
                        payload=pl,
                        src_mac=host.mac,
                        dst_mac=ep.gateway_mac,
                    )
                )

            def burst() -> None:
                for _ in range(burst_frames):
                    send(BE, be_svc.aisid, be_payload, BE_SPORT)

            t0 = net.now() + 0.001
            phase = rng.uniform(0, det_period_us)
            for i in range(det_packets):
                net.at(
                    t0 + (phase + i * det_period_us) / 1e6,
                    send,
                    DET,
                    det_svc.aisid,
                    det_payload,
                    DET_SPORT,
                )
            duration = det_packets * det_period_us / 1e6
            n_bursts = int(duration / (burst_every_us / 1e6))
            for i in range(n_bursts):
                net.at(t0 + i * burst_every_us / 1e6, burst)
            net.run_for(duration + 0.05)
            losses = net.losses()
            res = _analyse(nd, net, taps, counts, offset, policy, losses)
            res.note = note
            return res
        finally:
            ctl.stop()


def _analyse(
    nd: NetworkDescription,
    net: InProcessNetwork,
    taps: _Taps,
    counts: dict[bytes, int],
    offset: int,
    policy: str,
    losses: dict[str, int],
) -> CqfResult:
    path = [s.name for s in nd.switches]  # line4 lists its switches in path order
    hops = [(a, b) for a, b in zip(path, path[1:], strict=False)]
    cqf = {tuple(p) for p in nd.cqf.ports}
    hops = [(a, b) for a, b in hops if (a, nd.switch(a).port_to(b).number) in cqf]
    delay = {(a, b): net.link(a, b).delay_us for a, b in hops}
    out: dict[bytes, tuple[dict[str, list[float]], list[float], int]] = {
        DET: ({f"{a}->{b}": [] for a, b in hops}, [], 0),
        BE: ({f"{a}->{b}": [] for a, b in hops}, [], 0),
    }
    delivered = {DET: 0, BE: 0}
    for key, arr in taps.arrivals.items():
        kind = key[:1]
        t = {}
        for t_us, where in arr:
            t.setdefault(where, t_us)
        per_hop, e2e, _ = out[kind]
        if any(w == "host" for _, w in arr):  # taps see arrivals only: at a service node
            delivered[kind] += 1
        for a, b in hops:
            if a in t and b in t:
                per_hop[f"{a}->{b}"].append(t[b] - t[a] - delay[(a, b)])
        first, last = hops[0][0], hops[-1][1]
        if first in t and last in t:
            e2e.append(t[last] - t[first] - sum(delay.values()))
    return CqfResult(
        policy=policy,
        cycle_us=nd.cqf.cycle_us,
        offset=offset,
        hops=hops,
        det_sent=counts[DET],
        be_sent=counts[BE],
        det_delivered=delivered[DET],
        be_delivered=delivered[BE],
        det_hop_us=out[DET][0],
        be_hop_us=out[BE][0],
        det_e2e_us=out[DET][1],
        be_e2e_us=out[BE][1],
        losses=losses,
    )


def write_report(res: CqfResult, out: Path, command: str) -> tuple[Path, Path]:
    """``cqf-check.md`` and ``cqf-check.png`` (per-hop delay distributions, bound line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    png, md = out / "cqf-check.png", out / "cqf-check.md"
    lo, hi = res.bound_us
    names = list(res.det_hop_us)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    pos = list(range(len(names)))
    ax.boxplot(
        [res.det_hop_us[n] or [0] for n in names],
        positions=[p - 0.2 for p in pos],
        widths=0.3,
        patch_artist=True,
        boxprops={"facecolor": "tab:blue"},
    )
    ax.boxplot(
        [res.be_hop_us[n] or [0] for n in names],
        positions=[p + 0.2 for p in pos],
        widths=0.3,
        patch_artist=True,
        boxprops={"facecolor": "tab:orange"},
    )
    ax.axhline(hi, color="red", ls="--", label=f"CQF bound {hi:g} us ((2+o)T, T={res.cycle_us})")
    if res.offset:
        ax.axhline(2 * res.cycle_us, color="grey", ls=":", label="2T (offset-0 bound)")
    ax.set_xticks(pos, names)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylabel("per-hop delay (us)")
    ax.plot([], [], color="tab:blue", lw=8, label="deterministic (svc8)")
    ax.plot([], [], color="tab:orange", lw=8, label="best effort (svc7)")
    ax.legend(fontsize=8)
    ax.set_title(f"CQF per-hop delay, policy {res.policy}\n{command}", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    lines = [
        "# CQF check",
        "",
        f"Made by `{command}`. Network `controlplane/examples/line4.json` (switch links at the "
        f"rate given), policy `{res.policy}`, cycle T = {res.cycle_us} us, flow offset "
        f"{res.offset}: bound ({lo:g}, {hi:g}] us per hop.",
        "",
        "| metric | value | unit |",
        "|---|---|---|",
        *[f"| {n} | {v} | {u} |" for n, v, u in res.metrics()],
        "",
        f"![per-hop delay]({png.name})",
    ]
    if res.note:
        lines += ["", f"Note: {res.note}"]
    md.write_text("\n".join(lines) + "\n")
    return md, png


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cpn cqf", description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="folder for cqf-check.md/.png")
    ap.add_argument("--policy", default="base1+d3qn", help="SITES+TRANSPORT policy")
    ap.add_argument("--rate-bps", type=float, default=1e9, help="switch-to-switch link rate")
    ap.add_argument("--det-packets", type=int, default=100)
    ap.add_argument("--burst-frames", type=int, default=100)
    a = ap.parse_args(argv)
    try:
        res = run(
            seed=a.seed,
            policy=a.policy,
            rate_bps=a.rate_bps,
            det_packets=a.det_packets,
            burst_frames=a.burst_frames,
        )
    except ValueError as e:
        ap.error(str(e))
    for n, v, u in res.metrics():
        print(f"{n}: {v} {u}".rstrip())
    if res.note:
        print(f"note: {res.note}")
    if a.out is not None:
        cmd = "python -m cpn cqf " + " ".join(argv if argv is not None else [])
        md, png = write_report(res, a.out, cmd.strip())
        print(f"report: {md}\nplot: {png}")
    return 0
