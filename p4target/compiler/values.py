"""Compile-time values and constant folding of operators."""

from __future__ import annotations

from dataclasses import dataclass

from .types import TBits, TInt, Type


@dataclass(frozen=True)
class EnumVal:
    type: object  # TEnum
    name: str
    value: int | None  # serializable enums: the value; else None (assigned by the back end)

    def __str__(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass(frozen=True)
class ErrorVal:
    name: str

    def __str__(self) -> str:
        return f"error.{self.name}"


@dataclass(frozen=True)
class MatchKindVal:
    name: str


@dataclass(frozen=True)
class ActionVal:
    """A table's action used as a switch label (``action_run``)."""

    decl: object


class FoldError(Exception):
    pass


def fit(value: int, t: Type) -> int:
    """Convert an integer to the representation of ``t`` (wrap for bit/int)."""
    if isinstance(t, TBits):
        return t.wrap(value)
    return value


def fold_binary(op: str, a: int | bool, b: int | bool, t: Type) -> int | bool:
    """Fold an arithmetic/bitwise/comparison operator; ``t`` is the operands' type."""
    if op in ("==", "!="):
        return (a == b) if op == "==" else (a != b)
    if op in ("<", ">", "<=", ">="):
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    if op == "&&":
        return bool(a) and bool(b)
    if op == "||":
        return bool(a) or bool(b)
    a, b = int(a), int(b)
    if op == "+":
        r = a + b
    elif op == "-":
        r = a - b
    elif op == "*":
        r = a * b
    elif op in ("/", "%"):
        if b == 0:
            raise FoldError("division by zero")
        if a < 0 or b < 0:
            raise FoldError("division and modulo are only defined on non-negative values")
        r = a // b if op == "/" else a % b
    elif op == "&":
        r = a & b
    elif op == "|":
        r = a | b
    elif op == "^":
        r = a ^ b
    elif op == "<<":
        if b < 0:
            raise FoldError("negative shift amount")
        r = a << b
    elif op == ">>":
        if b < 0:
            raise FoldError("negative shift amount")
        r = a >> b
    elif op in ("|+|", "|-|"):
        r = a + b if op == "|+|" else a - b
        if isinstance(t, TBits):
            lo = -(1 << (t.w - 1)) if t.signed else 0
            hi = (1 << (t.w - 1)) - 1 if t.signed else (1 << t.w) - 1
            return max(lo, min(hi, r))
        return r
    else:  # pragma: no cover
        raise FoldError(f"cannot fold operator {op}")
    if isinstance(t, TBits):
        if op in ("&", "|", "^") and not t.signed:
            r &= t.mask()
        return t.wrap(r)
    assert isinstance(t, TInt) or t is None or True
    return r


def fold_unary(op: str, a: int | bool, t: Type) -> int | bool:
    if op == "!":
        return not a
    if op == "-":
        return fit(-int(a), t)
    if op == "+":
        return a
    if op == "~":
        if isinstance(t, TBits):
            return t.wrap(~int(a))
        return ~int(a)
    raise FoldError(op)  # pragma: no cover
