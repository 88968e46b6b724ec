"""Random/mutated packets through sanitizer builds of the native engine, checked against Python.

    python tests/dataplane/native_sancheck.py [--packets N] [--seed S]

Run it under :func:`p4target.switch.native.build.sanitizer_env` (``LD_PRELOAD`` of libasan and
libubsan, ``CPN_P4_NATIVE_SANITIZE=1``): every switch then loads the AddressSanitizer +
UndefinedBehaviorSanitizer build of router.p4 and cpn.p4 (ingress gateway, transit, egress
gateway).  A sanitizer finding aborts the process (non-zero exit); a difference from the Python
engine exits 1.  Prints ``sancheck: N packets, M frames out, 0 differences`` on success.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

import pytest  # noqa: E402
import test_dp_native_diff as diff  # noqa: E402

from p4target.compiler import compile_file  # noqa: E402
from p4target.switch import LPM, Switch  # noqa: E402


def router(engine: str) -> Switch:
    sw = Switch(compile_file(str(ROOT / "p4src" / "router.p4")).json, engine=engine)
    for n in range(4):
        sw.add_port(n)
    sw.table_add("ipv4_lpm", [LPM(0x0A000000, 8)], "set_nexthop", [1])
    sw.table_add("ipv6_lpm", [LPM(0x20010DB8 << 96, 32)], "set_nexthop", [2])
    sw.table_add("nexthop", [1], "forward", [2, 0x100, 2])
    sw.table_add("nexthop", [2], "forward", [3, 0x100, 3])
    return sw


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    mp = pytest.MonkeyPatch()
    py, nat = diff.build("python", mp), diff.build("native", mp)
    rpy, rnat = router("python"), router("native")
    out = 0
    for i in range(args.packets):
        role, port, data = diff.SEEDS[rng.randrange(len(diff.SEEDS))]
        muts = []
        for _ in range(rng.randrange(4)):
            kind = rng.choice(["flip", "cut", "grow"])
            muts.append((kind, rng.randrange(400), rng.randrange(1, 256)))
        frame = diff.mutate(data, muts)
        if rng.random() < 0.1:
            frame = bytes(rng.randrange(256) for _ in range(rng.randrange(80)))
        if port == 255:
            got = [r[role].inject(frame) for r in (py, nat)]
        else:
            got = [r[role].send(port, frame) for r in (py, nat)]
        if got[0] != got[1]:
            print(f"sancheck: packet {i} differs at {role}: {frame.hex()}")
            return 1
        out += sum(len(v) for v in got[1].values())
        for sw in (rpy, rnat):
            sw.receive(rng.randrange(4) if i % 2 else 0, frame)
        a = {n: rpy.ports[n].take() for n in rpy.ports}
        b = {n: rnat.ports[n].take() for n in rnat.ports}
        if a != b:
            print(f"sancheck: router differs on packet {i}: {frame.hex()}")
            return 1
        out += sum(len(v) for v in b.values())
    for r in py:
        if diff.state_of(py[r]) != diff.state_of(nat[r]):
            print(f"sancheck: {r} state differs")
            return 1
    sanitized = all(r.sw._native.sanitize for r in nat.values()) and rnat._native.sanitize
    print(
        f"sancheck: {args.packets} packets, {out} frames out, 0 differences"
        f"{' (sanitizer build)' if sanitized else ' (NOT a sanitizer build)'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
