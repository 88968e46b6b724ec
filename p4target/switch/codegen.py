"""Compile a BMv2 JSON program into Python functions, once, at load time.

:func:`compile_program` writes one Python module's source (parser states, actions, control
nodes, deparser, checksums, hash calculations) specialised to the program's layout, execs it
and returns the entry points.  Nothing walks the JSON per packet.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from .codegen_control import ControlGenMixin
from .codegen_expr import ExprGen
from .codegen_parser import ParserGenMixin
from .codegen_pipeline import PipelineGenMixin
from .codegen_prims import PrimGen
from .errors import ConfigError
from .hashes import csum16_of_int, make_hash
from .program import Program


@dataclass
class CompiledProgram:
    """Entry points of a compiled program (all take ``F, V, S, P``)."""

    parse: Any
    verify_checksums: Any
    ingress: Any
    egress: Any
    update_checksums: Any
    deparse: Any
    actions: dict[int, Any]
    field_lists: dict[int, Any]
    learn_lists: dict[int, Any]
    source: str
    namespace: dict[str, Any] = field(repr=False, default_factory=dict)


class Generator(ParserGenMixin, ControlGenMixin, PipelineGenMixin):
    def __init__(self, prog: Program, objects: dict[str, Any]):
        self.prog = prog
        self.lines: list[str] = []
        self.late: list[str] = []
        self.consts: dict[str, Any] = {}
        self.tables = objects["tables"]  # {(pipeline, name): Table}
        self._fresh = itertools.count()
        self.consts["_reg_index"] = objects["reg_index"]
        self.consts["_counter_index"] = objects["counter_index"]
        self.consts["_meter_index"] = objects["meter_index"]
        self.consts["_vset_index"] = objects["vset_index"]
        self.consts["_calc_index"] = {name: i for i, name in enumerate(prog.calculations)}
        self.consts["_cur_param_widths"] = None
        self.eg = ExprGen(prog, self.consts)
        self.prims = PrimGen(self.eg, self.consts)

    def w(self, line: str) -> None:
        self.lines.append(line)

    def fresh(self) -> int:
        return next(self._fresh)


def compile_program(
    prog: Program, objects: dict[str, Any], helpers: dict[str, Any]
) -> CompiledProgram:
    """Generate, exec and return the program's functions.

    ``objects`` holds the switch objects the code refers to: ``tables`` {(pipeline, name):
    Table}, ``registers``/``counters``/``meters``/``vsets`` lists with their ``*_index`` name
    maps, ``profiles`` {name: ActionProfile}; ``helpers`` the runtime namespace.
    """
    g = Generator(prog, objects)
    ns: dict[str, Any] = dict(helpers)
    ns["_csum16i"] = csum16_of_int
    hashes: dict[str, Any] = {}
    for i, (name, calc) in enumerate(prog.calculations.items()):
        hn = f"_h{i}"
        hashes[name] = make_hash(calc.get("algo", ""))
        ns[hn] = hashes[name]
        g.gen_calc(f"_calc{i}", calc.get("algo", ""), calc.get("input", []), hn)
    # action profile selectors
    for pipe in prog.pipelines:
        for ap in pipe.get("action_profiles", []):
            sel = ap.get("selector")
            if sel:
                hn = f"_hs{ap['id']}"
                ns[hn] = make_hash(sel.get("algo", ""))
                g.gen_calc(f"_sel{ap['id']}", sel.get("algo", ""), sel.get("input", []), hn)
    for action in prog.actions.values():
        g.gen_action(action)
    g.gen_parser()
    g.gen_checksums()
    g.gen_deparser()
    pipe_fns: dict[str, str] = {}
    for pipe in prog.pipelines:
        pipe_fns[pipe["name"]] = g.gen_pipeline(pipe)
    fl = g.gen_field_lists()
    ll = g.gen_learn_lists()
    source = "\n".join(g.lines + g.late) + "\n"
    for key, value in g.consts.items():  # layout tables (_HF, _HS<i>, _UH, ...)
        if not key.endswith("_index") and key != "_cur_param_widths":
            ns[key] = value
    for key, value in objects["bindings"].items():
        ns[key] = value
    try:
        code = compile(source, "<p4 program>", "exec")
        exec(code, ns)  # noqa: S102 - our own generated source
    except SyntaxError as exc:  # pragma: no cover - a generator bug
        raise ConfigError(f"internal error: generated code does not compile: {exc}") from exc
    for pipe in prog.pipelines:
        for ap in pipe.get("action_profiles", []):
            prof = objects["profiles"].get(ap["name"])
            if prof is not None and ap.get("selector"):
                prof.selector = ns[f"_sel{ap['id']}"]

    def pipe_fn(*names: str) -> Any:
        for n in names:
            if n in pipe_fns:
                return ns[pipe_fns[n]]
        return _noop

    ingress = pipe_fn("ingress")
    egress = pipe_fn("egress")
    if ingress is _noop and len(prog.pipelines) >= 1:
        ingress = ns[pipe_fns[prog.pipelines[0]["name"]]]
    if egress is _noop and len(prog.pipelines) >= 2:
        egress = ns[pipe_fns[prog.pipelines[1]["name"]]]
    return CompiledProgram(
        parse=ns["_parse"],
        verify_checksums=ns["_verify_checksums"],
        ingress=ingress,
        egress=egress,
        update_checksums=ns["_update_checksums"],
        deparse=ns["_deparse"],
        actions={aid: ns[f"_a{aid}"] for aid in prog.actions},
        field_lists={k: ns[v] for k, v in fl.items()},
        learn_lists={k: ns[v] for k, v in ll.items()},
        source=source,
        namespace=ns,
    )


def _noop(F: Any, V: Any, S: Any, P: Any) -> None:
    return None


def compile_prologues(prog: Program, sf: Any, with_qmeta: bool, drop_port: int) -> dict[str, Any]:
    """simple_switch's standard-metadata writes around the pipelines, specialised to the
    program's field slots: ``ig_new(F, P, itype, now)`` (a packet from a port),
    ``ig_keep(F, P, itype)`` (resubmit/recirculate: the field list brought the rest),
    ``ig_post(F, P)`` (parser and checksum errors), ``eg_pre(F, P, port, qid, now)``."""

    def put(lines: list[str], name: str, value: str) -> None:
        slot = getattr(sf, name)
        if slot is not None:
            lines.append(f"    F[{slot}] = ({value}) & {hex(prog.fields[slot].mask)}")

    ig_new = ["def ig_new(F, P, itype, now):"]
    put(ig_new, "ingress_port", "P.in_port")
    put(ig_new, "ingress_global_timestamp", "int(now)")
    put(ig_new, "instance_type", "itype")
    put(ig_new, "packet_length", "P.ilen")
    ig_keep = ["def ig_keep(F, P, itype):"]
    put(ig_keep, "instance_type", "itype")
    put(ig_keep, "packet_length", "P.ilen")
    ig_post = ["def ig_post(F, P):"]
    put(ig_post, "parser_error", "P.err")
    put(ig_post, "checksum_error", "P.cksum_err")
    eg = ["def eg_pre(F, P, port, qid, now):", "    n = int(now)"]
    put(eg, "egress_global_timestamp", "n")
    if with_qmeta:
        put(eg, "enq_timestamp", "int(P.enq_ts)")
        put(eg, "enq_qdepth", "P.enq_depth")
        put(eg, "deq_timedelta", "n - int(P.enq_ts)")
        put(eg, "deq_qdepth", "P.deq_depth")
        put(eg, "qid", "qid")
    put(eg, "egress_port", "port")
    put(eg, "egress_spec", str(drop_port + 1))
    put(eg, "packet_length", "P.lreg")
    ns: dict[str, Any] = {}
    src = "\n".join(
        "\n".join(fn if len(fn) > 1 else fn + ["    return"])
        for fn in (ig_new, ig_keep, ig_post, eg)
    )
    exec(compile(src + "\n", "<p4 prologues>", "exec"), ns)  # noqa: S102
    return {k: ns[k] for k in ("ig_new", "ig_keep", "ig_post", "eg_pre")}
