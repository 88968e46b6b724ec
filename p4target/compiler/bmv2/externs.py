"""v1model extern functions and extern object methods as BMv2 primitives (the primitive names
and parameter orders simple_switch implements and p4c-bm2-ss emits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import ast as A
from .. import types as T
from ..diagnostics import CompileError, Pos
from ..values import EnumVal
from .actions import ActionBuilder, param
from .expr import Env, b2d, hexstr, width_of
from .storage import ExternLoc, FieldLoc, HeaderLoc, StructLoc

if TYPE_CHECKING:
    from .program import Backend

HASH_ALGOS = {
    "crc32",
    "crc32_custom",
    "crc16",
    "crc16_custom",
    "random",
    "identity",
    "csum16",
    "xor16",
}


class ExternLowering:
    """Mixin of ``Backend``."""

    def log_value(self: Backend, e: A.Expr, env: Env) -> Any:
        """A log_msg argument as p4c gives it to BMv2: a value, a header (printed with its
        fields), or, for a struct, the list of its members."""
        t = e.type
        if isinstance(T.underlying(t), (T.TBits, T.TBool, T.TInt)) or isinstance(t, T.TEnum):
            return self.conv.rvalue(e, env)
        if isinstance(t, T.TStructLike) and t.kind == "header":
            loc = self.conv.loc(e, env)
            if isinstance(loc, HeaderLoc):
                return loc.json()
        if isinstance(t, T.TStructLike) and t.kind == "struct":
            loc = self.conv.loc(e, env)
            if isinstance(loc, StructLoc):
                return [self._log_loc(m) for m in loc.members.values()]
        raise CompileError.at(e.pos, f"log_msg: values of type {t} cannot be logged")

    def _log_loc(self, loc: Any) -> Any:
        if isinstance(loc, StructLoc):
            return [self._log_loc(m) for m in loc.members.values()]
        if isinstance(loc, (HeaderLoc, FieldLoc)):
            return loc.json()
        raise CompileError.at(None, "log_msg: this struct member cannot be logged")

    def extern_call(
        self: Backend, c: A.Call, env: Env, b: ActionBuilder, pos: Pos, result: Any = None
    ) -> None:
        args = {p.name: a for p, a in c.bound}
        frag = self.fragment(pos)
        if c.kind == "extern_method":
            obj = self.conv.loc(c.target.expr, env)
            if isinstance(obj, ExternLoc):
                self.extern_method(obj, c, args, env, b, pos, result)
                return
            raise CompileError.at(pos, f"{c.callee.name}: not supported in this context")
        name = c.callee.name
        block = env.ctx.get("block_kind")
        if name == "mark_to_drop":
            if c.bound:
                sm = self.conv.loc(c.bound[0][1], env)
                hname = sm.header_name if isinstance(sm, StructLoc) else None
                b.emit(
                    "mark_to_drop",
                    [{"type": "header", "value": hname or "standard_metadata"}],
                    pos,
                    frag,
                )
            else:
                b.emit("drop", [], pos, frag)
        elif name == "random":
            b.emit(
                "modify_field_rng_uniform",
                [
                    self.dest(args["result"], env),
                    self.data(args["lo"], env),
                    self.data(args["hi"], env),
                ],
                pos,
                frag,
            )
        elif name == "hash":
            algo = self.algo(args["algo"])
            calc = self.calculation(algo, args["data"], env, pos, b)
            b.emit(
                "modify_field_with_hash_based_offset",
                [
                    self.dest(args["result"], env),
                    self.data(args["base"], env),
                    {"type": "calculation", "value": calc},
                    self.data(args["max"], env),
                ],
                pos,
                frag,
            )
        elif name == "digest":
            lid = self.learn_list(c, args["data"], env, pos, b)
            b.emit(
                "generate_digest", [self.data(args["receiver"], env), hexstr(lid, 32)], pos, frag
            )
        elif name in ("clone", "clone3", "clone_preserving_field_list"):
            kind = args["type"].const
            if not isinstance(kind, EnumVal):
                raise CompileError.at(args["type"].pos, "clone type must be a constant CloneType")
            i2e = kind.name == "I2E"
            if i2e and block not in (None, "ingress"):
                raise CompileError.at(
                    pos, f"{name}(CloneType.I2E, ...) can only be called in ingress"
                )
            if not i2e and block not in (None, "egress"):
                raise CompileError.at(
                    pos, f"{name}(CloneType.E2E, ...) can only be called in egress"
                )
            if name == "clone":
                fl = self.field_list_empty()
            elif name == "clone3":
                fl = self.field_list_from_data(args["data"], env, pos)
            else:
                fl = self.field_list_by_index(self.const_of(args["index"]), pos)
            prim = "clone_ingress_pkt_to_egress" if i2e else "clone_egress_pkt_to_egress"
            b.emit(prim, [self.data(args["session"], env), hexstr(fl, 32)], pos, frag)
        elif name in ("resubmit", "resubmit_preserving_field_list"):
            if block not in (None, "ingress"):
                raise CompileError.at(pos, f"{name} can only be called in ingress")
            fl = (
                self.field_list_from_data(args["data"], env, pos)
                if name == "resubmit"
                else self.field_list_by_index(self.const_of(args["index"]), pos)
            )
            b.emit("resubmit", [hexstr(fl, 32)], pos, frag)
        elif name in ("recirculate", "recirculate_preserving_field_list"):
            if block not in (None, "egress"):
                raise CompileError.at(pos, f"{name} can only be called in egress")
            fl = (
                self.field_list_from_data(args["data"], env, pos)
                if name == "recirculate"
                else self.field_list_by_index(self.const_of(args["index"]), pos)
            )
            b.emit("recirculate", [hexstr(fl, 32)], pos, frag)
        elif name == "truncate":
            b.emit("truncate", [self.data(args["length"], env)], pos, frag)
        elif name in ("assert", "assume"):
            b.emit(name, [param(b2d(self.conv.cond(args["check"], env)))], pos, frag)
        elif name == "log_msg":
            values = []
            data = args.get("data")
            if data is not None:
                items = data.items if isinstance(data, A.ListExpr) else [data]
                for it in items:
                    values.append(self.log_value(it, env))
            b.emit(
                "log_msg",
                [
                    {"type": "string", "value": args["msg"].const},
                    {"type": "parameters_vector", "value": values},
                ],
                pos,
                frag,
            )
        elif name in (
            "verify_checksum",
            "update_checksum",
            "verify_checksum_with_payload",
            "update_checksum_with_payload",
        ):
            raise CompileError.at(pos, f"{name} can only be called in the checksum controls")
        elif name == "verify":
            raise CompileError.at(pos, "verify() can only be called in a parser")
        elif name == "static_assert":
            pass
        else:
            raise CompileError.at(
                pos, f"extern function {name} is not supported by the v1model target"
            )

    def extern_method(
        self: Backend,
        obj: ExternLoc,
        c: A.Call,
        args: dict,
        env: Env,
        b: ActionBuilder,
        pos: Pos,
        result: Any,
    ) -> None:
        etype, m = obj.etype.decl.name, c.callee.name
        frag = self.fragment(pos)
        if etype == "counter" and m == "count":
            b.emit(
                "count",
                [{"type": "counter_array", "value": obj.name}, self.data(args["index"], env)],
                pos,
                frag,
            )
        elif etype == "meter" and m == "execute_meter":
            b.emit(
                "execute_meter",
                [
                    {"type": "meter_array", "value": obj.name},
                    self.data(args["index"], env),
                    self.dest(args["result"], env),
                ],
                pos,
                frag,
            )
        elif etype == "register" and m == "read":
            b.emit(
                "register_read",
                [
                    self.dest(args["result"], env),
                    {"type": "register_array", "value": obj.name},
                    self.data(args["index"], env),
                ],
                pos,
                frag,
            )
        elif etype == "register" and m == "write":
            b.emit(
                "register_write",
                [
                    {"type": "register_array", "value": obj.name},
                    self.data(args["index"], env),
                    self.data(args["value"], env),
                ],
                pos,
                frag,
            )
        elif etype == "direct_counter" and m == "count":
            pass
        elif etype == "direct_meter" and m == "read":
            dest = self.conv.loc(args["result"], env)
            if not isinstance(dest, FieldLoc):
                raise CompileError.at(
                    args["result"].pos, "direct_meter.read: the result must be a field or variable"
                )
            prev = self.direct_meter_targets.get(obj.name)
            if prev is not None and prev != dest.json()["value"]:
                raise CompileError.at(
                    pos, f"{obj.name}: all reads of a direct meter must use the same destination"
                )
            self.direct_meter_targets[obj.name] = dest.json()["value"]
        else:
            raise CompileError.at(pos, f"{etype}.{m} is not supported in this context")

    # -- helpers -------------------------------------------------------------------------------
    def data(self: Backend, e: A.Expr, env: Env) -> dict:
        return param(self.conv.rvalue(e, env))

    def dest(self: Backend, e: A.Expr, env: Env) -> dict:
        loc = self.conv.loc(e, env)
        if not hasattr(loc, "json") or isinstance(loc, (HeaderLoc, StructLoc)):
            raise CompileError.at(e.pos, "expected a field or variable")
        return param(loc.json())

    def const_of(self, e: A.Expr) -> int:
        v = e.const
        if isinstance(v, EnumVal):
            v = v.value
        if not isinstance(v, int):
            raise CompileError.at(e.pos, "expected a compile-time constant")
        return int(v)

    def algo(self, e: A.Expr) -> str:
        v = e.const
        if not isinstance(v, EnumVal) or v.name not in HASH_ALGOS:
            raise CompileError.at(e.pos, "the hash algorithm must be a HashAlgorithm constant")
        return v.name

    def field_values(
        self: Backend, data: A.Expr, env: Env, pos: Pos, b: ActionBuilder | None, what: str
    ) -> list[dict]:
        """Fields of a field list / calculation input; non-field values go to temporaries
        (computed with ``b``) or, for constants, to hexstr with an explicit bitwidth."""
        out: list[dict] = []
        items = data.items if isinstance(data, A.ListExpr) else [data]
        for it in items:
            if it.const is not None:
                w = (
                    width_of(it.type)
                    if not isinstance(it.type, T.TInt)
                    else max(1, int(it.const).bit_length())
                )
                j = self.conv.const_json(it)
                if j.get("type") != "hexstr":
                    j = hexstr(int(bool(it.const)), 1)
                j["bitwidth"] = w
                out.append(j)
                continue
            if isinstance(it, A.ListExpr):
                out.extend(self.field_values(it, env, pos, b, what))
                continue
            try:
                loc = self.conv.loc(it, env)
            except CompileError:
                loc = None
            if loc is not None:
                out.extend(self.loc_fields(loc, it.pos))
                continue
            if b is None:
                raise CompileError.at(
                    it.pos, f"{what}: only fields and constants are supported here"
                )
            tmp = self.storage.alloc(self.temp_name(), it.type)
            self.assign_loc(tmp, it.type, it, env, b, it.pos)
            out.append(tmp.json())
        return out

    def loc_fields(self, loc: Any, pos: Pos) -> list[dict]:
        if isinstance(loc, StructLoc):
            out: list[dict] = []
            for m in loc.members.values():
                out.extend(self.loc_fields(m, pos))
            return out
        if isinstance(loc, HeaderLoc):
            return [f.json() for f in loc.fields.values()]
        if hasattr(loc, "json"):
            j = loc.json()
            if j["type"] in ("field", "runtime_data"):
                return [j]
        raise CompileError.at(pos, "this value cannot be used in a field list")

    def calculation(
        self: Backend,
        algo: str,
        data: A.Expr,
        env: Env,
        pos: Pos,
        b: ActionBuilder | None,
        payload: bool = False,
    ) -> str:
        inputs = self.field_values(data, env, pos, b, "hash")
        if payload:
            inputs.append({"type": "payload", "value": None})
        name = self.names.fresh("calc")
        self.json["calculations"].append(
            {
                "name": name,
                "id": len(self.json["calculations"]),
                "source_info": self.source_info(pos, self.fragment(pos)),
                "algo": algo,
                "input": inputs,
            }
        )
        return name

    def learn_list(
        self: Backend, c: A.Call, data: A.Expr, env: Env, pos: Pos, b: ActionBuilder
    ) -> int:
        t = c.tvars.get("T") if c.tvars else None
        name = t.name if isinstance(t, T.TStructLike) else None
        if name is None:
            name = f"digest_{len(self.json['learn_lists'])}"
        elements = self.field_values(data, env, pos, b, "digest")
        for el in elements:
            if el["type"] != "field":
                raise CompileError.at(pos, "digest: only fields can be sent")
        for ll in self.json["learn_lists"]:
            if ll["name"] == name and ll["elements"] == elements:
                return ll["id"]
        lid = len(self.json["learn_lists"]) + 1
        self.json["learn_lists"].append(
            {
                "id": lid,
                "name": name,
                "source_info": self.source_info(pos, self.fragment(pos)),
                "elements": elements,
            }
        )
        self.digests.append((name, t, lid))
        return lid

    def field_list_empty(self: Backend) -> int:
        fid = len(self.json["field_lists"]) + 1
        self.json["field_lists"].append({"id": fid, "name": self.names.fresh("fl"), "elements": []})
        return fid

    def field_list_from_data(self: Backend, data: A.Expr, env: Env, pos: Pos) -> int:
        fid = len(self.json["field_lists"]) + 1
        elements = self.field_values(data, env, pos, None, "field list")
        self.json["field_lists"].append(
            {"id": fid, "name": self.names.fresh("fl"), "elements": elements}
        )
        return fid

    def field_list_by_index(self: Backend, index: int, pos: Pos) -> int:
        name = f"field_list{index}"
        for fl in self.json["field_lists"]:
            if fl["name"] == name:
                return fl["id"]
        fid = len(self.json["field_lists"]) + 1
        self.json["field_lists"].append({"id": fid, "name": name, "elements": []})
        return fid
