"""The BMv2 back end: elaborates the v1model ``main`` package (instances, storage for headers,
metadata and locals), lowers each block and assembles the BMv2 JSON document, collecting the
control-plane description used for P4Info on the way."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from .. import ast as A
from .. import types as T
from ..diagnostics import CompileError, Pos
from ..frontend import FrontEnd
from ..values import EnumVal
from .actions import StmtLowering
from .control import ControlLowering
from .deparse import DeparserLowering
from .expr import Env, ExprConverter, width_of
from .externs import ExternLowering
from .parse import ParserLowering
from .sideeffects import order_side_effects
from .storage import ExternLoc, FieldLoc, PacketLoc, Storage, StructLoc
from .tables import TableLowering

JSON_VERSION = [2, 23]
COMPILER = "cpn-p4 embedded compiler (p4target.compiler)"
ARCH_PARAMS = ("parser", "verify", "ingress", "egress", "compute", "deparser")


class Names:
    """Unique names for JSON objects (tables, actions, conditionals, calculations...)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, name: str) -> str:
        self.used.add(name)
        return name

    def fresh(self, base: str) -> str:
        name, k = base, 0
        while name in self.used:
            name = f"{base}_{k}"
            k += 1
        self.used.add(name)
        return name


class SubBlock:
    """An instance of a control/parser declared inside another block."""

    def __init__(self, decl: Any, prefix: str, env: Env):
        self.decl, self.prefix, self.env = decl, prefix, env
        self.applied = False
        self.inits: list = []


class Backend(
    StmtLowering, ExternLowering, ControlLowering, ParserLowering, TableLowering, DeparserLowering
):
    def __init__(self, fe: FrontEnd, sources: dict[str, str] | None = None):
        self.fe = fe
        self.tracker: dict = {"pos": None}
        checker = fe.checker
        self.checker = checker
        self.error_type = checker.error_type
        self.error_codes = {name: i + 1 for i, name in enumerate(checker.errors)}
        self.conv = ExprConverter(self.error_codes)
        self.storage = Storage()
        self.names = Names()
        self.ids: dict[str, int] = defaultdict(int)
        self.node_counter = 2
        self.sources = dict(sources or {})
        self._lines: dict[str, list[str]] = {}
        self.json: dict[str, Any] = {
            "header_types": self.storage.header_types,
            "headers": self.storage.headers,
            "header_stacks": self.storage.header_stacks,
            "header_union_types": self.storage.header_union_types,
            "header_unions": self.storage.header_unions,
            "header_union_stacks": [],
            "field_lists": [],
            "errors": [],
            "enums": [],
            "parsers": [],
            "parse_vsets": [],
            "deparsers": [],
            "meter_arrays": [],
            "counter_arrays": [],
            "register_arrays": [],
            "calculations": [],
            "learn_lists": [],
            "actions": [],
            "pipelines": [],
            "checksums": [],
            "force_arith": [],
            "extern_instances": [],
            "field_aliases": [],
        }
        self.action_cache: dict = {}
        self.cp_actions: dict[str, Any] = {}
        self.cp_tables: list = []
        self.cp_externs: list[tuple[str, ExternLoc]] = []
        self.applied_tables: dict[str, tuple[Pos, Any]] = {}
        self.direct_meter_targets: dict[str, list] = {}
        self.pending_direct_meters: list = []
        self.inplace_externs: dict = {}
        self.digests: list = []
        self.value_sets: list = []
        self.global_env = Env(prefix="", local_prefix="", call_results={})
        nd = checker.globals.names.get("NoAction")
        self.noaction = nd if isinstance(nd, A.ActionDecl) else None

    # -- helpers used by the lowering mixins ------------------------------------------------------------
    def next_id(self, kind: str) -> int:
        v = self.ids[kind]
        self.ids[kind] += 1
        return v

    def source_info(self, pos: Pos | None, fragment: str = "") -> dict | None:
        if pos is None or pos.line == 0:
            return None
        return {
            "filename": pos.file,
            "line": pos.line,
            "column": pos.col,
            "source_fragment": fragment or self.fragment(pos),
        }

    def fragment(self, pos: Pos | None) -> str:
        if pos is None:
            return ""
        lines = self._lines.get(pos.file)
        if lines is None:
            text = self.sources.get(pos.file)
            if text is None:
                try:
                    text = Path(pos.file).read_text()
                except OSError:
                    text = ""
            lines = self._lines[pos.file] = text.split("\n")
        if not 0 < pos.line <= len(lines):
            return ""
        frag = lines[pos.line - 1][pos.col - 1 :].strip()
        cut = frag.find(";")
        return frag[:cut] if cut >= 0 else frag

    def synth_name(self, pos: Pos | None) -> str:
        if pos is None:
            return "act"
        stem = re.sub(r"[^A-Za-z0-9]", "", Path(pos.file).stem) or "p4"
        return f"{stem}l{pos.line}"

    def local_name(self, env: Env, name: str) -> str:
        return f"{env.ctx.get('local_prefix', '')}{name}"

    def temp_name(self) -> str:
        return "tmp"

    def decl_env(self, d: Any, env: Env) -> Env:
        e = env.get(d)
        return e if isinstance(e, Env) else self.global_env

    def note_action_use(self, d: A.ActionDecl, env: Env) -> None:
        owner = self.decl_env(d, env)
        name = self.cp_name(d, owner.ctx.get("prefix", ""))
        self.check_cp_action_name(name, d)
        if not d.anno("hidden") and name not in self.cp_actions:
            from .tables import CPAction, _param_name

            params = [
                (_param_name(p), width_of(p.type), p.type, p.annotations)
                for p in d.params
                if p.direction == ""
            ]
            self.cp_actions[name] = CPAction(name, d, params, d.annotations)

    def check_cp_action_name(self, name: str, d: A.ActionDecl) -> None:
        """Two different actions may not share a control-plane name (P4Runtime names them)."""
        prev = self.cp_actions.get(name)
        if prev is not None and prev.decl is not d and not d.anno("hidden"):
            raise CompileError.at(
                d.pos,
                f"{d.name}: control-plane name {name} is already the name of action "
                f"{prev.decl.name} at line {prev.decl.pos.line}",
            )

    def cp_name(self, decl: Any, prefix: str) -> str:
        a = decl.anno("name") if hasattr(decl, "anno") else None
        n = a.string_arg() if a is not None else None
        if n:
            if n.startswith("."):
                return n[1:]
            return f"{prefix}.{n}" if prefix else n
        return f"{prefix}.{decl.name}" if prefix else decl.name

    # -- externs ------------------------------------------------------------------------------------
    def make_extern(
        self, name: str, etype: T.TExtern, call: A.Call, env: Env, pos: Pos
    ) -> ExternLoc:
        decl_node = getattr(call, "decl_node", None)
        args = {p.name: a for p, a in call.bound}
        loc = ExternLoc(name, etype, decl_node or _PosDecl(pos, name), args)
        kind = etype.decl.name
        si = self.source_info(pos, name.rsplit(".", 1)[-1])
        if kind == "counter":
            self.json["counter_arrays"].append(
                {
                    "name": name,
                    "id": len(self.json["counter_arrays"]),
                    "source_info": si,
                    "size": self._const(args["size"]),
                    "is_direct": False,
                }
            )
        elif kind == "meter":
            self.json["meter_arrays"].append(
                {
                    "name": name,
                    "id": len(self.json["meter_arrays"]),
                    "source_info": si,
                    "is_direct": False,
                    "size": self._const(args["size"]),
                    "rate_count": 2,
                    "type": args["type"].const.name,
                }
            )
        elif kind == "register":
            elem = etype.args[0] if etype.args else None
            if not isinstance(T.underlying(elem), (T.TBits, T.TBool)) and not isinstance(
                elem, T.TEnum
            ):
                raise CompileError.at(
                    pos, f"{name}: only registers of bit<>/int<> values are supported by BMv2"
                )
            size = self._const(args["size"])
            if size == 0:
                raise CompileError.at(pos, f"{name}: direct registers are not supported by BMv2")
            self.json["register_arrays"].append(
                {
                    "name": name,
                    "id": len(self.json["register_arrays"]),
                    "source_info": si,
                    "size": size,
                    "bitwidth": width_of(elem),
                }
            )
        elif kind in ("direct_counter", "direct_meter", "action_profile", "action_selector"):
            pass
        elif kind in ("packet_in", "packet_out"):
            pass
        else:
            raise CompileError.at(pos, f"extern {kind} is not supported by the v1model target")
        self.cp_externs.append((kind, loc))
        return loc

    def _const(self, e: A.Expr) -> int:
        v = e.const
        if isinstance(v, EnumVal):
            return int(v.value or 0)
        if not isinstance(v, int):
            raise CompileError.at(e.pos, "expected a compile-time constant")
        return int(v)

    # -- elaboration ----------------------------------------------------------------------------------
    def run(self) -> dict:
        fe = self.fe
        order_side_effects(fe.program)
        for d in fe.program.decls:
            if isinstance(d, (A.ActionDecl, A.FunctionDecl)):
                self.global_env.bind(d, self.global_env)
            elif isinstance(d, A.Instance) and d.name != "main":
                if isinstance(d.type, T.TExtern):
                    d.call.decl_node = d
                    self.global_env.bind(
                        d,
                        self.make_extern(
                            self.cp_name(d, ""), d.type, d.call, self.global_env, d.pos
                        ),
                    )
        main = fe.main
        if not (isinstance(main.type, T.TBlock) and main.type.decl.name == "V1Switch"):
            raise CompileError.at(
                main.pos,
                "the main package must be a V1Switch (only the v1model architecture is supported)",
            )
        blocks: dict[str, tuple[Any, str, list]] = {}
        for (_p, a), role in zip(main.call.bound, ARCH_PARAMS, strict=True):
            blocks[role] = self._block_of(a)
        pdecl = blocks["parser"][0]
        h_type = pdecl.params[1].type
        m_type = pdecl.params[2].type
        sm_type = pdecl.params[3].type
        self.std_type = sm_type
        self.storage.std_metadata_type(sm_type)
        sm_loc = StructLoc(sm_type, {}, "standard_metadata")
        for n, ft in sm_type.fields:
            sm_loc.members[n] = FieldLoc("standard_metadata", n, width_of(ft), False, ft == T.BOOL)
        self.storage._instance_names.add("standard_metadata")
        self.storage.add_instance("standard_metadata", "standard_metadata", True)
        hdr_loc = self._alloc_headers(h_type, "")
        meta_loc = self._alloc_meta(m_type)
        self._field_lists(m_type, meta_loc)
        shared = {"hdr": hdr_loc, "meta": meta_loc, "sm": sm_loc}

        pdecl, pprefix, pargs = blocks["parser"]
        penv = self._block_env(
            pdecl, pprefix, pargs, "parser", [PacketLoc("in"), hdr_loc, meta_loc, sm_loc]
        )
        self.json["parsers"].append(self.lower_parser_with_inits(pdecl, penv))
        for role, json_name in (("ingress", "ingress"), ("egress", "egress")):
            decl, prefix, args = blocks[role]
            env = self._block_env(decl, prefix, args, role, [hdr_loc, meta_loc, sm_loc])
            pipeline = {
                "name": json_name,
                "id": len(self.json["pipelines"]),
                "source_info": self.source_info(decl.pos, decl.name),
                "init_table": None,
                "tables": [],
                "action_profiles": [],
                "conditionals": [],
            }
            self.json["pipelines"].append(pipeline)
            body = A.Block(decl.body.pos, self._init_stmts(decl) + list(decl.body.stmts))
            pipeline["init_table"] = self.lower_control(body, env, pipeline)
        ddecl, dprefix, dargs = blocks["deparser"]
        denv = self._block_env(ddecl, dprefix, dargs, "deparser", [PacketLoc("out"), hdr_loc])
        order: list[str] = []
        self._deparse(ddecl.body, denv, order)
        self.json["deparsers"].append(
            {
                "name": "deparser",
                "id": 0,
                "source_info": self.source_info(ddecl.pos, ddecl.name),
                "order": order,
                "primitives": [],
            }
        )
        for role, verify in (("compute", False), ("verify", True)):
            decl, prefix, args = blocks[role]
            env = self._block_env(decl, prefix, args, role, [hdr_loc, meta_loc])
            self._checksums(decl.body, env, verify)
        self._finish_direct_meters()
        self._finish(sm_type)
        del shared
        return self.json

    def _block_of(self, a: A.Expr) -> tuple[Any, str, list]:
        if isinstance(a, A.Call) and a.kind == "constructor":
            decl = a.callee
            return decl, self.cp_name(decl, ""), a.bound
        if isinstance(a, A.PathExpr) and isinstance(a.decl, A.Instance):
            inst = a.decl
            return inst.call.callee, inst.name, inst.call.bound
        raise CompileError.at(a.pos, "V1Switch arguments must be parser/control instantiations")

    def _block_env(self, decl: Any, prefix: str, ctor_args: list, kind: str, locs: list) -> Env:
        env = Env(self.global_env, prefix=prefix, local_prefix="", block_kind=kind, call_results={})
        if len(decl.params) != len(locs):
            raise CompileError.at(
                decl.pos, f"{decl.name}: expected {len(locs)} parameters for the v1model {kind}"
            )
        for p, loc in zip(decl.params, locs, strict=True):
            env.bind(p, loc)
        self._bind_ctor(decl, ctor_args, env)
        self._bind_locals(decl, env, prefix, "")
        return env

    def _bind_ctor(self, decl: Any, ctor_args: list, env: Env, outer: Env | None = None) -> None:
        from .storage import ValueLoc

        for p, a in ctor_args:
            if a is None:
                continue
            if isinstance(getattr(p, "type", None), T.TBlock):
                # a parser/control instance passed as a constructor argument: the parameter
                # stands for that instance (applying it applies the instance)
                sub = (outer or self.global_env).get(getattr(a, "decl", None))
                if not isinstance(a, A.PathExpr) or not isinstance(sub, SubBlock):
                    raise CompileError.at(
                        a.pos, f"{p.name}: pass a parser or control instance declared by name"
                    )
                env.bind(p, sub)
                continue
            env.bind(p, ValueLoc(a, env))

    def _bind_locals(self, decl: Any, env: Env, prefix: str, local_prefix: str) -> None:
        for d in decl.locals:
            if isinstance(d, A.VarDecl):
                env.bind(d, self.storage.alloc(f"{local_prefix}{d.name}", d.type))
            elif isinstance(d, A.Instance):
                if isinstance(d.type, T.TExtern):
                    d.call.decl_node = d
                    env.bind(
                        d, self.make_extern(self.cp_name(d, prefix), d.type, d.call, env, d.pos)
                    )
                elif isinstance(d.type, T.TBlock):
                    sub_decl = d.call.callee
                    sub_prefix = self.cp_name(d, prefix)
                    sub_env = Env(
                        self.global_env,
                        prefix=sub_prefix,
                        local_prefix=f"{local_prefix}{d.name}_",
                        block_kind=env.ctx.get("block_kind"),
                        call_results={},
                    )
                    self._bind_ctor(sub_decl, d.call.bound, sub_env, env)
                    sub = SubBlock(sub_decl, sub_prefix, sub_env)
                    if isinstance(sub_decl, (A.ControlDecl, A.ParserDecl)):
                        self._bind_locals(sub_decl, sub_env, sub_prefix, f"{local_prefix}{d.name}_")
                        sub.inits = self._init_stmts(sub_decl)
                    env.bind(d, sub)
            elif isinstance(d, (A.ActionDecl, A.TableDecl)):
                env.bind(d, env)
            elif isinstance(d, A.ValueSetDecl):
                name = self.cp_name(d, prefix)
                w = width_of(d.type) if not isinstance(d.type, T.TStructLike) else d.type.width()
                self.json["parse_vsets"].append(
                    {
                        "name": name,
                        "id": len(self.json["parse_vsets"]),
                        "source_info": self.source_info(d.pos, d.name),
                        "compressed_bitwidth": w,
                    }
                )
                self.value_sets.append((name, d))
                env.bind(d, env)
                d.cp_name = name

    def value_set_name(self, d: A.ValueSetDecl, env: Env) -> str:
        return d.cp_name

    def _init_stmts(self, decl: Any) -> list[A.Stmt]:
        """Initializers of block-level variables run at the start of the block."""
        out: list[A.Stmt] = []
        for d in decl.locals:
            if isinstance(d, A.VarDecl) and d.init is not None:
                path = A.PathExpr(d.pos, d.name)
                path.decl, path.type = d, d.type
                out.append(A.Assign(d.pos, path, d.init))
        return out

    def lower_parser_with_inits(self, decl: A.ParserDecl, env: Env) -> dict:
        inits = self._init_stmts(decl)
        if inits:
            for st in decl.states:
                if st.name == "start":
                    st.stmts = inits + list(st.stmts)
        return self.lower_parser(decl, env)

    # -- storage for the architecture's parameters ---------------------------------------------------
    def _alloc_headers(self, t: T.Type, prefix: str) -> StructLoc:
        if not isinstance(t, T.TStructLike) or t.kind != "struct":
            raise CompileError.at(None, f"the headers type must be a struct, not {t}")
        loc = StructLoc(t, {})
        for n, ft in t.fields:
            name = f"{prefix}{n}"
            if isinstance(ft, T.TStructLike) and ft.kind == "header":
                loc.members[n] = self.storage.new_header(name, ft, exact=True)
            elif isinstance(ft, T.TStructLike) and ft.kind == "header_union":
                loc.members[n] = self.storage.new_union(name, ft)
            elif isinstance(ft, T.TStack):
                loc.members[n] = self.storage.new_stack(name, ft)
            elif isinstance(ft, T.TStructLike) and ft.kind == "struct":
                loc.members[n] = self._alloc_headers(ft, f"{name}.")
            else:
                loc.members[n] = self.storage.alloc(f"hdr.{name}", ft)
        return loc

    def _alloc_meta(self, t: T.Type) -> StructLoc:
        if not isinstance(t, T.TStructLike) or t.kind != "struct":
            raise CompileError.at(None, f"the metadata type must be a struct, not {t}")
        loc = self.storage.alloc("userMetadata", t)
        assert isinstance(loc, StructLoc)
        return loc

    def _field_lists(self, m_type: T.TStructLike, meta: StructLoc) -> None:
        lists: dict[int, list] = {}
        for f in m_type.decl.fields:
            a = f.anno("field_list")
            if a is None or not a.args:
                continue
            for e in a.args:
                self.checker.check_expr(e, self.checker.globals)
                v = e.const.value if isinstance(e.const, EnumVal) else e.const
                if not isinstance(v, int):
                    raise CompileError.at(e.pos, "@field_list needs constant indexes")
                lists.setdefault(v, []).extend(self.loc_fields(meta.members[f.name], f.pos))
        for idx in sorted(lists):
            self.json["field_lists"].append(
                {
                    "id": len(self.json["field_lists"]) + 1,
                    "name": f"field_list{idx}",
                    "elements": lists[idx],
                }
            )

    def _finish(self, sm_type: T.TStructLike) -> None:
        self.storage.finish_scalars()
        self.json["errors"] = [[n, c] for n, c in self.error_codes.items()]
        enums = []
        for d in self.fe.program.decls:
            if isinstance(d, A.EnumDecl) and d.underlying is None:
                et = self.checker.enum_types[id(d)]
                if not et.builtin:
                    enums.append(
                        {"name": d.name, "entries": [[m, i] for i, m in enumerate(et.members)]}
                    )
        self.json["enums"] = enums
        aliases = []
        for f in sm_type.decl.fields:
            a = f.anno("alias")
            if a is not None and a.string_arg():
                aliases.append([a.string_arg(), ["standard_metadata", f.name]])
        self.json["field_aliases"] = aliases
        self.json["program"] = self.fe.filename
        self.json["__meta__"] = {"version": JSON_VERSION, "compiler": COMPILER}


class _PosDecl:
    def __init__(self, pos: Pos, name: str):
        self.pos, self.name = pos, name
        self.annotations: list = []

    def anno(self, name: str) -> Any:
        return None
