"""``python -m p4target.stf PROG.p4 TEST.stf [--json PROG.json] [--target embedded|bmv2]
[-I DIR] [-D X[=V]] [-v]``

Exit status: 0 the test passed, 1 it failed (mismatches printed), 2 it could not run
(bad arguments, unreadable files, compile errors, BMv2 missing for ``--target bmv2``).

``python -m p4target.stf --corpus DIR [--jobs N] [--report FILE] [--timeout S]`` runs every
``DIR/NAME.p4`` that has a ``DIR/NAME.stf`` (see :mod:`.corpus`).
"""

from __future__ import annotations

import argparse
import os
import sys

from . import StfError, StfSyntaxError, run_stf


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m p4target.stf", description="Run an STF test.")
    ap.add_argument(
        "files", nargs="*", metavar="FILE", help="PROG.p4 TEST.stf (or TEST.stf with --json)"
    )
    ap.add_argument("--corpus", metavar="DIR", help="run every DIR/NAME.p4 that has a DIR/NAME.stf")
    ap.add_argument("--jobs", "-j", type=int, default=1, help="with --corpus: tests at once")
    ap.add_argument("--report", metavar="FILE", help="with --corpus: write the table (.json: JSON)")
    ap.add_argument(
        "--timeout", type=float, default=120.0, help="with --corpus: seconds per test (120)"
    )
    ap.add_argument("--json", help="run this BMv2 JSON instead of compiling PROG.p4")
    ap.add_argument("--target", choices=("embedded", "bmv2"), default="embedded")
    ap.add_argument("-I", dest="include", action="append", default=[], metavar="DIR")
    ap.add_argument("-D", dest="defines", action="append", default=[], metavar="X[=V]")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.corpus is not None:
        if args.files or args.json:
            ap.error("--corpus takes no FILE and no --json")
        from .corpus import main_corpus

        opts = ["--target", args.target]
        for d in args.include:
            opts += ["-I", os.path.abspath(d)]
        for d in args.defines:
            opts += ["-D", d]
        return main_corpus(args.corpus, args.jobs, args.report, opts, args.timeout)
    if len(args.files) == 2:
        p4, stf = args.files
    elif len(args.files) == 1 and args.json:
        p4, stf = None, args.files[0]
    else:
        ap.error("give PROG.p4 TEST.stf, or TEST.stf with --json")
    defines = {}
    for d in args.defines:
        k, _, v = d.partition("=")
        defines[k] = v or "1"
    try:
        result = run_stf(
            stf,
            p4=p4,
            json=args.json,
            target=args.target,
            include_dirs=args.include,
            defines=defines,
            verbose=args.verbose,
        )
    except (StfError, StfSyntaxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - compile errors etc.: report, no traceback
        name = type(exc).__name__
        if name == "CompileError":
            print(str(exc), file=sys.stderr)
        else:
            print(f"error: {name}: {exc}", file=sys.stderr)
        return 2
    if result.ok:
        print(f"PASS {stf}")
        return 0
    print(f"FAIL {stf}")
    for m in result.mismatches:
        print(m)
    return 1


if __name__ == "__main__":
    sys.exit(main())
