"""Deparser order (emit calls), checksum units (verify/update_checksum calls in the checksum
controls) and direct meters, as BMv2 JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import ast as A
from ..diagnostics import CompileError, Pos
from .expr import Env
from .storage import FieldLoc, StructLoc

if TYPE_CHECKING:
    from .program import Backend


class DeparserLowering:
    """Mixin of ``Backend``."""

    def _deparse(self: Backend, body: A.Stmt, env: Env, order: list[str]) -> None:
        stmts = body.stmts if isinstance(body, A.Block) else [body]
        for s in stmts:
            if isinstance(s, A.Block):
                self._deparse(s, env, order)
            elif (
                isinstance(s, A.CallStmt)
                and s.call.kind == "extern_method"
                and s.call.callee.name == "emit"
            ):
                self._emit_order(self.conv.loc(s.call.bound[0][1], env), order, s.pos)
            elif (
                isinstance(s, A.If)
                and isinstance(s.cond, A.Call)
                and s.cond.kind == "builtin"
                and s.cond.callee == "isValid"
                and s.other is None
            ):
                self._deparse(s.then, env, order)
            elif isinstance(s, A.Empty):
                continue
            else:
                raise CompileError.at(
                    s.pos,
                    "only emit() calls (optionally guarded by isValid()) are supported in the deparser",
                )

    def _emit_order(self: Backend, loc: Any, order: list[str], pos: Pos) -> None:
        from .storage import HeaderLoc, StackLoc, UnionLoc

        if isinstance(loc, HeaderLoc):
            if loc.name not in order:
                order.append(loc.name)
        elif isinstance(loc, StackLoc):
            for e in loc.elems:
                self._emit_order(e, order, pos)
        elif isinstance(loc, UnionLoc):
            for m in loc.members.values():
                self._emit_order(m, order, pos)
        elif isinstance(loc, StructLoc):
            for m in loc.members.values():
                self._emit_order(m, order, pos)
        else:
            raise CompileError.at(pos, "emit() needs a header, stack, union or struct of them")

    def _checksums(self: Backend, body: A.Stmt, env: Env, verify: bool) -> None:
        stmts = body.stmts if isinstance(body, A.Block) else [body]
        wanted = (
            ("verify_checksum", "verify_checksum_with_payload")
            if verify
            else ("update_checksum", "update_checksum_with_payload")
        )
        for s in stmts:
            if isinstance(s, A.Block):
                self._checksums(s, env, verify)
                continue
            if isinstance(s, (A.Empty, A.Return)):
                continue
            if (
                isinstance(s, A.CallStmt)
                and s.call.kind == "extern_function"
                and s.call.callee.name in wanted
            ):
                args = {p.name: a for p, a in s.call.bound}
                algo = self.algo(args["algo"])
                payload = s.call.callee.name.endswith("_with_payload")
                calc = self.calculation(algo, args["data"], env, s.pos, None, payload)
                target = self.conv.loc(args["checksum"], env)
                if not isinstance(target, FieldLoc):
                    raise CompileError.at(
                        args["checksum"].pos, "the checksum argument must be a field"
                    )
                cond = args["condition"]
                self.json["checksums"].append(
                    {
                        "name": self.names.fresh("cksum"),
                        "id": len(self.json["checksums"]),
                        "source_info": self.source_info(s.pos),
                        "target": target.json()["value"],
                        "type": "generic",
                        "calculation": calc,
                        "verify": verify,
                        "update": not verify,
                        "if_cond": self.conv.cond(cond, env),
                    }
                )
                continue
            raise CompileError.at(
                s.pos, f"only calls to {' or '.join(wanted)} are allowed in this control"
            )

    def _finish_direct_meters(self) -> None:
        for ext, table, size in self.pending_direct_meters:
            target = self.direct_meter_targets.get(ext.name)
            if target is None:
                raise CompileError.at(
                    ext.decl.pos,
                    f"{ext.name}: direct meter is never read (call {ext.name.rsplit('.', 1)[-1]}.read(...) in the table's actions)",
                )
            self.json["meter_arrays"].append(
                {
                    "name": ext.name,
                    "id": len(self.json["meter_arrays"]),
                    "source_info": self.source_info(ext.decl.pos, ext.decl.name),
                    "is_direct": True,
                    "rate_count": 2,
                    "type": ext.args["type"].const.name,
                    "size": size,
                    "binding": table,
                    "result_target": target,
                }
            )
