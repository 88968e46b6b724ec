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
from p4target.protos import p4runtime_pb2 as P  # noqa: E402
from p4target.runtime.device import Device  # noqa: E402
from p4target.switch import Switch  # noqa: E402

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
    args = ap.parse_args(argv)
    print(
        "$ python bench/table_writes.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    )
    prog = load_program()
    sw = Switch(engine=args.engine)
    dev = Device(sw, 1)
    dev.arbitration.check_primary = lambda *a: None  # no StreamChannel: every write is primary's
    req = P.SetForwardingPipelineConfigRequest(
        device_id=1, action=P.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT
    )
    req.config.p4info.CopyFrom(prog.p4info)
    req.config.p4_device_config = prog.json_bytes
    dev.set_pipeline(req)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
