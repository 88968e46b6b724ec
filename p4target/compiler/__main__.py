"""Command line compatible with p4c-bm2-ss:

    python -m p4target.compiler PROG.p4 -o OUT.json --p4runtime-files OUT.p4info.txtpb \
        [-I DIR] [-D X[=V]] [--arch v1model] [--std p4-16] [--p4runtime-format text|json|binary]

Exit status: 0 on success, 1 when the program has errors (printed as
``file:line:column: error: message``), 2 on an internal compiler error. Uses of the
compiler's extensions to what p4c accepts print as ``file:line:column: warning: message``
(on stderr, like errors) and do not change the exit status.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import CompileError, InternalCompilerError, compile_file

FORMAT_EXT = {"text": ".txt", "json": ".json", "binary": ".bin"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m p4target.compiler",
        description="Compile a P4_16 v1model program to BMv2 JSON and P4Info.",
    )
    p.add_argument("source", help="the P4 program")
    p.add_argument("-o", "--output", help="BMv2 JSON output file (default: PROG.json)")
    p.add_argument(
        "--p4runtime-files",
        help="comma-separated P4Info outputs; format by extension (.txt/.txtpb, .json, .bin)",
    )
    p.add_argument(
        "--p4runtime-file", help="a P4Info output in --p4runtime-format (deprecated p4c flag)"
    )
    p.add_argument(
        "--p4runtime-format",
        choices=sorted(FORMAT_EXT),
        default="text",
        help="format for --p4runtime-file",
    )
    p.add_argument(
        "-I",
        dest="include",
        action="append",
        default=[],
        metavar="DIR",
        help="add an include directory",
    )
    p.add_argument(
        "-D",
        dest="define",
        action="append",
        default=[],
        metavar="X[=V]",
        help="define a preprocessor macro",
    )
    p.add_argument("--arch", default="v1model", help="architecture (only v1model)")
    p.add_argument("--target", default="bmv2", help="target (only bmv2)")
    p.add_argument("--std", default="p4-16", help="language (only p4-16)")
    p.add_argument("--emit-externs", action="store_true", help="accepted for compatibility")
    p.add_argument("-v", "--verbose", action="store_true", help="print timing")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.arch != "v1model":
        print(f"error: architecture {args.arch} is not supported (only v1model)", file=sys.stderr)
        return 1
    if args.std not in ("p4-16", "p4_16"):
        print(f"error: language {args.std} is not supported (only p4-16)", file=sys.stderr)
        return 1
    defines: dict[str, str] = {}
    for d in args.define:
        name, _, value = d.partition("=")
        defines[name] = value if _ else "1"
    start = time.perf_counter()
    try:
        result = compile_file(args.source, args.include, defines)
    except CompileError as e:
        print(str(e), file=sys.stderr)
        return 1
    except InternalCompilerError as e:
        where = f"{e.pos}: " if e.pos else ""
        print(f"{where}internal compiler error: {e}", file=sys.stderr)
        print(
            "This is a bug in the cpn-p4 compiler; please report it with the program.",
            file=sys.stderr,
        )
        return 2
    for line in result.warning_lines():
        print(line, file=sys.stderr)
    out = args.output or str(Path(args.source).with_suffix(".json"))
    outputs = [f for f in (args.p4runtime_files or "").split(",") if f]
    try:
        result.write(out)
        for f in outputs:
            result.write(None, f)
        if args.p4runtime_file:
            path = args.p4runtime_file
            from .p4info import serialize

            data = serialize(
                result.p4info,
                path
                if Path(path).suffix in (".json", ".bin", ".txt", ".txtpb")
                else path + FORMAT_EXT[args.p4runtime_format],
            )
            Path(path).write_bytes(data) if isinstance(data, bytes) else Path(path).write_text(data)
    except CompileError as e:
        print(str(e), file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: cannot write output: {e}", file=sys.stderr)
        return 1
    if args.verbose:
        print(f"compiled {args.source} in {time.perf_counter() - start:.3f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
