"""STF value syntax: numbers, match-key values and name resolution as p4c's runner does it."""

from __future__ import annotations

import re

from p4target.switch import LPM, Exact, Optional, Range, Ternary
from p4target.switch.matchkeys import KeySpec, MatchValue


class StfError(ValueError):
    """A command cannot be applied (unknown name, bad value...)."""


_BITS = {"0x": 4, "0b": 1, "0o": 3}


def parse_number(text: str) -> int:
    """Decimal, ``0x``/``0b``/``0o``, dotted IPv4 or colon-separated MAC; ``*`` digits read as 0."""
    t = text.strip().replace("_", "")
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", t):
        parts = [int(x) for x in t.split(".")]
        if any(p > 255 for p in parts):
            raise StfError(f"bad IPv4 address {text!r}")
        return int.from_bytes(bytes(parts), "big")
    if re.fullmatch(r"[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}", t):
        return int.from_bytes(bytes(int(x, 16) for x in t.split(":")), "big")
    neg = t.startswith("-")
    if neg:
        t = t[1:]
    t = t.replace("*", "0")
    try:
        v = int(t, 0) if t[:2].lower() in _BITS else int(t, 10)
    except ValueError:
        raise StfError(f"bad number {text!r}") from None
    return -v if neg else v


def _digit_mask(text: str) -> tuple[int, int] | None:
    """p4c's ternary shorthand: each written hex/bin digit is exact, each ``*`` a wildcard."""
    t = text.strip()
    prefix = t[:2].lower()
    if prefix not in _BITS:
        return None
    bits = _BITS[prefix]
    digits = t[2:]
    value = mask = 0
    for d in digits:
        value <<= bits
        mask <<= bits
        if d != "*":
            value |= int(d, 16 if bits == 4 else 8 if bits == 3 else 2)
            mask |= (1 << bits) - 1
    return value, mask


def _prefix_of(mask: int, width: int) -> int | None:
    full = (1 << width) - 1
    for plen in range(width + 1):
        if full ^ ((1 << (width - plen)) - 1) == mask:
            return plen
    return None


def key_value(text: str, spec: KeySpec) -> MatchValue:
    """A match value for key field ``spec`` from its STF text."""
    w = spec.width
    full = (1 << w) - 1
    mt = spec.match_type
    t = text.strip()
    if "&&&" in t:
        v, m = (parse_number(x) for x in t.split("&&&", 1))
        v &= full
        m &= full
        if mt == "lpm":
            plen = _prefix_of(m, w)
            if plen is None:
                raise StfError(f"{spec.name}: mask {m:#x} is not a prefix")
            return LPM(v & m, plen)
        if mt == "optional":
            return Optional(v if m else None)
        if mt == "range":
            raise StfError(f"{spec.name}: range key cannot take a ternary value")
        if mt in ("exact", "valid") and m != full:
            raise StfError(f"{spec.name}: exact key cannot take a mask")
        return Ternary(v & m, m) if mt == "ternary" else Exact(v)
    for sep in ("->", ".."):
        if sep in t and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", t):
            lo, hi = (parse_number(x) for x in t.split(sep, 1))
            if mt != "range":
                raise StfError(f"{spec.name}: only range keys take LO{sep}HI")
            return Range(lo, hi)
    if "/" in t:
        v_txt, plen_txt = t.split("/", 1)
        v = parse_number(v_txt) & full
        plen = int(plen_txt)
        if not 0 <= plen <= w:
            raise StfError(f"{spec.name}: prefix length {plen} out of range")
        mask = full ^ ((1 << (w - plen)) - 1)
        if mt == "lpm":
            return LPM(v & mask, plen)
        if mt == "ternary":
            return Ternary(v & mask, mask)
        raise StfError(f"{spec.name}: only lpm/ternary keys take VALUE/LEN")
    if mt == "ternary":
        dm = _digit_mask(t)
        if dm is not None:
            v, m = dm
            return Ternary(v & m & full, m & full)
        return Ternary(parse_number(t) & full, full)
    if mt == "lpm":
        dm = _digit_mask(t)
        if dm is not None and "*" in t:
            v, m = dm
            nd = len(t) - 2
            bits = _BITS[t[:2].lower()]
            plen = min(w, (nd - t.count("*")) * bits)
            return LPM((v << max(0, w - nd * bits)) & full & (full ^ ((1 << (w - plen)) - 1)), plen)
        return LPM(parse_number(t) & full, w)
    if mt == "optional":
        if t in ("*", "_"):
            return Optional(None)
        return Optional(parse_number(t))
    if mt == "range":
        v = parse_number(t)
        return Range(v, v)
    if "*" in t:
        raise StfError(f"{spec.name}: exact key cannot take wildcards")
    return Exact(parse_number(t))


def default_key_value(spec: KeySpec) -> MatchValue:
    """What p4c's runner uses for a key field the STF line does not mention."""
    w = spec.width
    if spec.match_type == "ternary":
        return Ternary(0, 0)
    if spec.match_type == "lpm":
        return LPM(0, 0)
    if spec.match_type == "optional":
        return Optional(None)
    if spec.match_type == "range":
        return Range(0, (1 << w) - 1)
    return Exact(0)


def resolve_name(kind: str, name: str, names: list[str]) -> str:
    """Exact name, else a unique ``.suffix``, else a unique plain suffix (p4c's rule)."""
    if name in names:
        return name
    for cands in (
        [n for n in names if n.endswith("." + name)],
        [n for n in names if n.endswith(name)],
    ):
        if len(cands) == 1:
            return cands[0]
        if len(cands) > 1:
            raise StfError(f"{kind} name {name!r} is ambiguous: {', '.join(sorted(cands))}")
    raise StfError(f"unknown {kind} {name!r}")


def resolve_key(name: str, keys: list[KeySpec]) -> int:
    """Index of the key field STF calls ``name`` (p4c's TableKeyInstance.set rules)."""
    m = re.match(r"(.*)\$([0-9]+)(.*)", name)
    if m:
        name = f"{m.group(1)}[{m.group(2)}]{m.group(3)}"
    forms: list[list[str]] = [[k.name, k.target] for k in keys]

    def find(pred) -> int | None:  # noqa: ANN001
        hits = [i for i, fs in enumerate(forms) if any(pred(f) for f in fs)]
        if len(hits) > 1:
            raise StfError(f"key field {name!r} is ambiguous")
        return hits[0] if hits else None

    for pred in (
        lambda f: f == name,
        lambda f: f == name + "$",
        lambda f: f == name + ".$valid$",
        lambda f: name.endswith(".valid") and f == name[:-5] + "$valid$",
        lambda f: f.endswith("." + name) or f.endswith("." + name + "$"),
        lambda f: name == "valid" and f.endswith("$valid$"),
    ):
        i = find(pred)
        if i is not None:
            return i
    raise StfError(f"unknown key field {name!r} (keys: {', '.join(k.name for k in keys)})")
