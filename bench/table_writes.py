"""The embedded switch's share of a policy swap: P4Runtime table writes applied by the server
(``p4target.runtime.Device``) to a switch running cpn.p4, without gRPC or a controller.

    python bench/table_writes.py [--entries 10000] [--reps 5] [--engine python|native|auto]

Version 1 of ``bench/controlplane.py``'s synthetic scheduler mix is installed, then ``--reps``
times: the next version is inserted beside it as one ``DATAPLANE_ATOMIC`` batch and the older
one deleted (``CONTINUE_ON_ERROR``), as a swap does. Prints (``name: value unit``):

    table_writes.engine: NAME                     the switch engine that ran the program
    table_writes.insert_us_per_entry: U us        CPU time of the atomic insert batch / entries
                                                  (median over reps; 1-2 versions in the tables)
    table_writes.delete_us_per_entry: U us        the same for the deletes
    table_writes.gc_share: F ratio                share of that CPU time spent in Python's cyclic
                                                  garbage collector

On the native engine (unless ``--no-native``) the same run then measures both ways of
bringing native tables up to date, incremental (the default) and wholesale
(``CPN_P4_NATIVE_TABLES=rebuild``), each on a fresh switch:

    switch.native.write_stall_10k.ms: M ms       CPU time of the first packet after an atomic
                                                  batch inserting ``--entries`` entries (cpn.p4,
                                                  beside the previous version; median of reps)
    switch.native.write_stall_10k_rebuild.ms      the same, wholesale
    switch.native.delete_stall_10k.ms             first packet after deleting the older version
    switch.native.insert_one.us: U us             one ``table_add`` into router.p4's ipv4_lpm
                                                  holding 10,000 prefixes + the first packet
                                                  after it, minus a packet alone (median)
    switch.native.insert_one_rebuild.us           the same, wholesale
    ..._ratio                                     wholesale / incremental

CPU time of the calling thread (``time.thread_time``): on a shared machine it is steadier than
wall clock. Requests are encoded by the controller's client before the clock starts.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import shlex
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# this file's folder would shadow the controlplane package with bench/controlplane.py
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from controlplane.entries import ip6  # noqa: E402
from controlplane.p4rt import P4RuntimeClient  # noqa: E402
from controlplane.program import load_program  # noqa: E402
from p4target.compiler import compile_file  # noqa: E402
from p4target.protos import p4runtime_pb2 as P  # noqa: E402
from p4target.runtime.device import Device  # noqa: E402
from p4target.switch import LPM, Switch  # noqa: E402
from p4target.switch.native import native_available, tablesync  # noqa: E402

WR = P.WriteRequest


def _synthetic():  # noqa: ANN202
    """``bench/controlplane.py``'s ``synthetic`` (that file is not an importable module)."""
    spec = importlib.util.spec_from_file_location("cp_bench", ROOT / "bench" / "controlplane.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.synthetic


class GcClock:
    """CPU seconds spent in the cyclic garbage collector while ``active``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.active = False
        self._t = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._t = time.thread_time()
        elif self.active:
            self.seconds += time.thread_time() - self._t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=10000, help="entries per version")
    ap.add_argument("--reps", type=int, default=5, help="versions inserted (and deleted)")
    ap.add_argument("--engine", choices=("python", "native", "auto"), default=None)
    ap.add_argument("--no-native", action="store_true", help="skip the native table-sync part")
    ap.add_argument("--one-reps", type=int, default=200, help="single inserts timed per path")
    args = ap.parse_args(argv)
    print(
        "$ python bench/table_writes.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    )
    prog = load_program()
    sw, dev = _device(prog, args.engine)
    enc = P4RuntimeClient("127.0.0.1:1", 1)  # used for encoding only, never connected
    enc.use_p4info(prog.p4info)
    src = ip6("fc00:0:1::1")
    synthetic = _synthetic()

    def request(op: str, version: int, atomicity: int) -> P.WriteRequest:
        r = WR(device_id=1, atomicity=atomicity)
        ents = synthetic(version, src, args.entries)
        r.updates.extend(enc._encode(i, op, e) for i, e in enumerate(ents))
        return r

    def timed(r: P.WriteRequest) -> float:
        gcc.active = True
        t = time.thread_time()
        errors = dev.write(r)
        dt = time.thread_time() - t
        gcc.active = False
        if errors is not None:
            raise RuntimeError(f"write failed: {next(e for e in errors if e is not None)}")
        return dt

    gcc = GcClock()
    timed(request("insert", 1, WR.DATAPLANE_ATOMIC))
    gcc.seconds = 0.0
    ins, dels = [], []
    for v in range(2, 2 + args.reps):
        r_ins = request("insert", v, WR.DATAPLANE_ATOMIC)
        r_del = request("delete", v - 1, WR.CONTINUE_ON_ERROR)
        ins.append(timed(r_ins))
        dels.append(timed(r_del))
    n = args.entries
    print(f"table_writes.engine: {sw.engine_name}")
    print(
        f"table_writes.insert_us_per_entry: {statistics.median(ins) / n * 1e6:.1f} us   "
        f"(median of {args.reps} batches of {n}; min {min(ins) / n * 1e6:.1f})"
    )
    print(
        f"table_writes.delete_us_per_entry: {statistics.median(dels) / n * 1e6:.1f} us   "
        f"(min {min(dels) / n * 1e6:.1f})"
    )
    print(f"table_writes.gc_share: {gcc.seconds / (sum(ins) + sum(dels)):.2f} ratio")
    if not args.no_native and native_available():
        native_sync_figures(prog, request, args)
    return 0


def _device(prog, engine: str | None) -> tuple[Switch, Device]:  # noqa: ANN001
    """A switch running cpn.p4 behind a P4Runtime ``Device`` (no gRPC)."""
    sw = Switch(engine=engine)
    dev = Device(sw, 1)
    dev.arbitration.check_primary = lambda *a: None  # no StreamChannel: every write is primary's
    req = P.SetForwardingPipelineConfigRequest(
        device_id=1, action=P.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT
    )
    req.config.p4info.CopyFrom(prog.p4info)
    req.config.p4_device_config = prog.json_bytes
    dev.set_pipeline(req)
    return sw, dev


def _cpu(fn, *a) -> float:  # noqa: ANN001
    """CPU seconds of ``fn(*a)``, cyclic GC held off (both paths alike)."""
    gc.disable()
    try:
        t = time.thread_time()
        fn(*a)
        return time.thread_time() - t
    finally:
        gc.enable()


PKT = bytes(64)  # any frame: native tables are brought up to date before it is parsed


def _stalls(prog, request, args) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """First-packet CPU time after each version's insert batch and after each delete batch."""
    sw, dev = _device(prog, "native")
    sw.add_port(1)
    assert dev.write(request("insert", 1, WR.DATAPLANE_ATOMIC)) is None
    sw.receive(1, PKT)
    ins, dels = [], []
    for v in range(2, 2 + args.reps):
        r_ins = request("insert", v, WR.DATAPLANE_ATOMIC)
        r_del = request("delete", v - 1, WR.CONTINUE_ON_ERROR)
        assert dev.write(r_ins) is None
        gc.collect()
        ins.append(_cpu(sw.receive, 1, PKT))
        assert dev.write(r_del) is None
        gc.collect()
        dels.append(_cpu(sw.receive, 1, PKT))
    return ins, dels


def _router_one(reps: int, n: int = 10000) -> tuple[float, float]:
    """(median CPU of ``table_add`` + first packet, median CPU of a packet alone), router.p4's
    ipv4_lpm holding ``n`` prefixes."""
    import random

    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    sw = Switch(compile_file(str(ROOT / "p4src" / "router.p4")).json, engine="native")
    sw.add_port(1)
    rng = random.Random(1)
    t = "RouterIngress.ipv4_lpm"
    seen = set()
    while len(seen) < n:
        plen = rng.choice((16, 20, 24, 28, 32))
        v = rng.getrandbits(32) & ~((1 << (32 - plen)) - 1)
        if (v, plen) not in seen:
            seen.add((v, plen))
            sw.table_add(t, [LPM(v, plen)], "RouterIngress.set_nexthop", [1])
    pkt = bytes(Ether() / IP(dst="10.1.2.3") / UDP() / b"x")
    sw.receive(1, pkt)
    adds, alone = [], []
    for i in range(reps):
        key = [LPM(0x0B000000 | i, 32)]

        def add_and_send(key: list = key) -> None:
            sw.table_add(t, key, "RouterIngress.set_nexthop", [2])
            sw.receive(1, pkt)

        adds.append(_cpu(add_and_send))
        alone.append(_cpu(sw.receive, 1, pkt))
        sw.table_delete(t, sw.table_find(t, key))
        sw.receive(1, pkt)
    return statistics.median(adds), statistics.median(alone)


def native_sync_figures(prog, request, args) -> None:  # noqa: ANN001
    """Incremental and wholesale native table sync, measured back to back in this run."""
    figs: dict[str, tuple[float, float, float]] = {}
    saved = tablesync.incremental
    try:
        for path in ("incremental", "rebuild"):
            tablesync.incremental = path == "incremental"
            ins, dels = _stalls(prog, request, args)
            reps = args.one_reps if path == "incremental" else max(10, args.one_reps // 10)
            add, alone = _router_one(reps)
            figs[path] = (statistics.median(ins), statistics.median(dels), add - alone, alone)
    finally:
        tablesync.incremental = saved
    inc, reb = figs["incremental"], figs["rebuild"]
    n = args.entries
    print(
        f"switch.native.write_stall_10k.ms: {inc[0] * 1e3:.2f} ms   (first packet after "
        f"inserting {n} entries beside {n}; median of {args.reps})"
    )
    print(f"switch.native.write_stall_10k_rebuild.ms: {reb[0] * 1e3:.2f} ms")
    print(f"switch.native.write_stall_10k.ratio: {reb[0] / inc[0]:.1f} x")
    print(
        f"switch.native.delete_stall_10k.ms: {inc[1] * 1e3:.2f} ms   (after deleting the older {n})"
    )
    print(f"switch.native.delete_stall_10k_rebuild.ms: {reb[1] * 1e3:.2f} ms")
    print(f"switch.native.delete_stall_10k.ratio: {reb[1] / inc[1]:.1f} x")
    print(
        f"switch.native.insert_one.us: {inc[2] * 1e6:.1f} us   (router.p4 ipv4_lpm of 10000 "
        f"prefixes; table_add + first packet minus a packet alone, {inc[3] * 1e6:.1f} us)"
    )
    print(f"switch.native.insert_one_rebuild.us: {reb[2] * 1e6:.1f} us")
    print(f"switch.native.insert_one.ratio: {reb[2] / inc[2]:.0f} x")


if __name__ == "__main__":
    raise SystemExit(main())
