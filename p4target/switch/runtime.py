"""Helpers the generated code calls for the rarer operations (dynamic headers, stacks, unions,
variable-length headers), built once per program."""

from __future__ import annotations

import logging
import random
from typing import Any

from .codegen_expr import RUNTIME_HELPERS, sx
from .program import Program

log = logging.getLogger("p4target.switch")


class ParserError(Exception):
    """Raised inside generated parser code; carries the error value and the cursor."""

    __slots__ = ("code", "pos")

    def __init__(self, code: int, pos: int):
        self.code = code
        self.pos = pos


class AssertFailure(Exception):
    """An ``assert``/``assume`` primitive failed (BMv2 aborts; this switch drops the packet)."""


def peek(data: bytes, pos: int, bit_offset: int, width: int) -> int:
    """``width`` bits starting ``bit_offset`` bits after byte ``pos`` (parser lookahead)."""
    start = pos + bit_offset // 8
    lead = bit_offset % 8
    nbytes = (lead + width + 7) // 8
    chunk = data[start : start + nbytes]
    if len(chunk) < nbytes:
        chunk = chunk + bytes(nbytes - len(chunk))
    x = int.from_bytes(chunk, "big")
    return (x >> (nbytes * 8 - lead - width)) & ((1 << width) - 1)


def build_helpers(prog: Program, rng: random.Random, log_sink: Any) -> dict[str, Any]:
    """Namespace entries for generated code (besides tables and stateful objects)."""
    hf = tuple(tuple(f.index for f in h.fields) for h in prog.headers)
    hb = tuple(h.nbytes for h in prog.headers)
    siblings = tuple(h.siblings for h in prog.headers)
    widths = tuple(tuple((f.width, f.signed, f.vl) for f in h.fields) for h in prog.headers)

    def set_valid(V: list[bool], h: int) -> None:
        V[h] = True
        for s in siblings[h]:
            V[s] = False

    def assign_valid(V: list[bool], h: int, value: int) -> None:
        if value & 1:
            set_valid(V, h)
        else:
            V[h] = False

    def assign_header(F: list[int], V: list[bool], P: Any, dst: int, src: int) -> None:
        if not V[src]:
            V[dst] = False
            return
        set_valid(V, dst)
        for (di, si), (_w, _s, vl) in zip(
            zip(hf[dst], hf[src], strict=False), widths[dst], strict=False
        ):
            F[di] = F[si]
            if vl:
                P.vl[di] = P.vl.get(si, 0)

    def copy_header_raw(F: list[int], V: list[bool], P: Any, dst: int, src: int) -> None:
        V[dst] = V[src]
        for di, si in zip(hf[dst], hf[src], strict=False):
            F[di] = F[si]
        if P.vl:
            for di, si in zip(hf[dst], hf[src], strict=False):
                if si in P.vl:
                    P.vl[di] = P.vl[si]

    def assign_union(F: list[int], V: list[bool], P: Any, dst: int, src: int) -> None:
        for d, s in zip(prog.unions[dst].headers, prog.unions[src].headers, strict=False):
            assign_header(F, V, P, d, s)

    def assign_stack(F, V, S, P, dst_hs, src_hs, dst_i: int, src_i: int) -> None:  # noqa: ANN001
        S[dst_i] = S[src_i]
        for d, s in zip(dst_hs, src_hs, strict=False):
            assign_header(F, V, P, d, s)

    def push(F, V, S, hs, si: int, n: int) -> None:  # noqa: ANN001
        size = len(hs)
        if n <= 0:
            return
        for i in range(size - 1, n - 1, -1):
            _move(F, V, hs[i], hs[i - n])
        for i in range(min(n, size)):
            V[hs[i]] = False
        S[si] = min(size, S[si] + n)

    def pop(F, V, S, hs, si: int, n: int) -> None:  # noqa: ANN001
        size = len(hs)
        if n <= 0:
            return
        for i in range(0, size - n):
            _move(F, V, hs[i], hs[i + n])
        for i in range(max(size - n, 0), size):
            V[hs[i]] = False
        S[si] = max(0, S[si] - n)

    def _move(F: list[int], V: list[bool], dst: int, src: int) -> None:
        V[dst] = V[src]
        for di, si in zip(hf[dst], hf[src], strict=False):
            F[di] = F[si]

    def push_union(F, V, S, us, si: int, n: int) -> None:  # noqa: ANN001
        size = len(us)
        if n <= 0:
            return
        for i in range(size - 1, n - 1, -1):
            for d, s in zip(
                prog.unions[us[i]].headers, prog.unions[us[i - n]].headers, strict=False
            ):
                _move(F, V, d, s)
        for i in range(min(n, size)):
            for h in prog.unions[us[i]].headers:
                V[h] = False
        S[si] = min(size, S[si] + n)

    def pop_union(F, V, S, us, si: int, n: int) -> None:  # noqa: ANN001
        size = len(us)
        if n <= 0:
            return
        for i in range(0, size - n):
            for d, s in zip(
                prog.unions[us[i]].headers, prog.unions[us[i + n]].headers, strict=False
            ):
                _move(F, V, d, s)
        for i in range(max(size - n, 0), size):
            for h in prog.unions[us[i]].headers:
                V[h] = False
        S[si] = max(0, S[si] - n)

    def add_header(F: list[int], V: list[bool], P: Any, h: int) -> None:
        if V[h]:
            return
        for i in hf[h]:
            F[i] = 0
        set_valid(V, h)
        P.lreg += hb[h]

    def hdr_eq(F: list[int], V: list[bool], a: int, b: int) -> bool:
        if not V[a] and not V[b]:
            return True
        if V[a] != V[b]:
            return False
        return all(F[x] == F[y] for x, y in zip(hf[a], hf[b], strict=False))

    def union_eq(F: list[int], V: list[bool], a: int, b: int) -> bool:
        return all(
            hdr_eq(F, V, x, y)
            for x, y in zip(prog.unions[a].headers, prog.unions[b].headers, strict=False)
        )

    def rand(lo: int, hi: int) -> int:
        if lo > hi:
            return lo
        return rng.randint(lo, hi)

    def log_msg(fmt: str, args: tuple[str, ...]) -> None:
        out = []
        it = iter(args)
        i = 0
        while i < len(fmt):
            if fmt.startswith("{}", i):
                out.append(str(next(it, "{}")))
                i += 2
            else:
                out.append(fmt[i])
                i += 1
        log_sink("".join(out))

    def extract_fixed(F: list[int], V: list[bool], P: Any, h: int, pos: int, too_short: int) -> int:
        """Extract header ``h`` at ``pos`` (dynamic path: stacks, unions in stacks)."""
        nb = hb[h]
        d = P.data
        if len(d) - pos < nb:
            raise ParserError(too_short, pos)
        x = int.from_bytes(d[pos : pos + nb], "big")
        total = sum(w for w, _s, _v in widths[h])
        x >>= nb * 8 - total
        shift = total
        for i, (w, s, _vl) in zip(hf[h], widths[h], strict=False):
            shift -= w
            v = (x >> shift) & ((1 << w) - 1)
            F[i] = sx(v, w) if s else v
        set_valid(V, h)
        return pos + nb

    def extract_vl(
        F: list[int],
        V: list[bool],
        P: Any,
        h: int,
        pos: int,
        nbits: int,
        errs: tuple[int, int, int],
    ) -> int:
        """Extract header ``h`` whose variable-length field is ``nbits`` long."""
        too_short, header_too_short, invalid_arg = errs
        if nbits % 8 or nbits < 0:
            raise ParserError(invalid_arg, pos)
        nb = hb[h] + nbits // 8
        d = P.data
        if len(d) - pos < nb:
            raise ParserError(too_short, pos)
        maxlen = prog.headers[h].max_length
        if maxlen and maxlen < nb:
            raise ParserError(header_too_short, pos)
        x = int.from_bytes(d[pos : pos + nb], "big")
        total = sum(w for w, _s, _v in widths[h]) + nbits
        x >>= nb * 8 - total
        shift = total
        for i, (w, s, vl) in zip(hf[h], widths[h], strict=False):
            if vl:
                w = nbits
                P.vl[i] = nbits
            shift -= w
            v = (x >> shift) & ((1 << w) - 1)
            F[i] = sx(v, w) if s else v
        set_valid(V, h)
        return pos + nb

    def header_bytes(F: list[int], P: Any, h: int) -> bytes:
        """Wire bytes of header ``h`` (generic path, used for VL headers and dynamic cases)."""
        x = 0
        total = 0
        for i, (w, _s, vl) in zip(hf[h], widths[h], strict=False):
            if vl:
                w = P.vl.get(i, 0) if P.vl else 0
            x = (x << w) | (F[i] & ((1 << w) - 1))
            total += w
        nb = (total + 7) // 8
        return (x << (nb * 8 - total)).to_bytes(nb, "big")

    ns = dict(RUNTIME_HELPERS)
    ns.update(
        _set_valid=set_valid,
        _assign_valid=assign_valid,
        _assign_header=assign_header,
        _copy_header_raw=copy_header_raw,
        _assign_union=assign_union,
        _assign_stack=assign_stack,
        _push=push,
        _pop=pop,
        _push_union=push_union,
        _pop_union=pop_union,
        _add_header=add_header,
        _hdr_eq=hdr_eq,
        _union_eq=union_eq,
        _rand=rand,
        _log_msg=log_msg,
        _extract_fixed=extract_fixed,
        _extract_vl=extract_vl,
        _header_bytes=header_bytes,
        _peek=peek,
        _PErr=ParserError,
        _AssertFail=AssertFailure,
    )
    return ns
