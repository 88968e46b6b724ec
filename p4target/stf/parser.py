"""Parse STF files (the "simple test format" of p4c's BMv2 tests).

One command per line; ``#`` starts a comment.  Commands (p4c's STF grammar plus the
simple_switch_CLI commands p4c's BMv2 runner passes through):

* ``add TABLE [PRIORITY] KEY:VALUE ... ACTION(PARAM:VALUE, ...) [= ID]``
* ``setdefault TABLE ACTION(PARAM:VALUE, ...)``
* ``packet PORT HEX...`` / ``expect PORT [HEX...] [$]`` (``*`` matches any nibble, a final
  ``$`` requires the exact length; ``expect PORT`` alone accepts any packets on PORT)
* ``wait``, ``no_packet``, ``remove all``
* ``check_counter NAME(INDEX|$ID) [packets|bytes] (==|!=|<|<=|>|>=) NUMBER``
* ``mirroring_add SID PORT``, ``mirroring_add_mc SID MGID``, ``mirroring_delete SID``
* ``mc_mgrp_create MGID``, ``mc_node_create RID PORT...``, ``mc_node_update NODE PORT...``,
  ``mc_node_associate MGID NODE``, ``mc_node_dissociate MGID NODE``, ``mc_mgrp_destroy MGID``,
  ``mc_node_destroy NODE``
* ``counter_read NAME INDEX``, ``counter_write NAME INDEX PACKETS BYTES``, ``counter_reset NAME``
* ``register_read NAME INDEX [== VALUE]`` (the check is this runner's extension),
  ``register_write NAME INDEX VALUE``, ``register_reset NAME``
* ``meter_set_rates NAME INDEX RATE:BURST ...``, ``meter_array_set_rates NAME RATE:BURST ...``

Key values: ``VALUE`` (exact), ``VALUE/LEN`` (lpm), ``VALUE&&&MASK`` (ternary),
``LO->HI`` or ``LO..HI`` (range); hex (``0x``) and binary (``0b``) values may use ``*`` digits
as don't-care, which makes a ternary mask or an LPM prefix the way p4c's runner does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class StfSyntaxError(ValueError):
    def __init__(self, path: str, line: int, msg: str):
        super().__init__(f"{path}:{line}: {msg}")
        self.line = line


@dataclass
class Command:
    name: str
    line: int
    text: str
    args: list[str] = field(default_factory=list)
    # add / setdefault
    table: str = ""
    priority: int | None = None
    keys: list[tuple[str, str]] = field(default_factory=list)
    action: str = ""
    params: list[tuple[str, str]] = field(default_factory=list)
    entry_id: str | None = None
    # packet / expect
    port: int | None = None
    data: str | None = None  # hex nibbles, '*' allowed in expect
    exact_len: bool = False
    # check_counter / register_read check
    counter: str = ""
    index: str = ""
    count_type: str | None = None
    cmp: str | None = None
    value: str | None = None


_ACTION_RE = re.compile(
    r"([A-Za-z_$][\w.$\[\]]*)\s*\((.*)\)\s*(?:=\s*([A-Za-z_$][\w$]*))?\s*$", re.S
)
_CHECK_RE = re.compile(
    r"([A-Za-z_$][\w.$\[\]]*)\s*\(\s*([^)]*?)\s*\)\s*(?:(packets|bytes)\s*)?(?:(==|!=|<=|>=|<|>)\s*(\S+))?\s*$",
    re.I,
)
_CMP_RE = re.compile(r"^(==|!=|<=|>=|<|>)$")


def _params(text: str, path: str, line: int) -> list[tuple[str, str]]:
    out = []
    text = text.strip()
    if not text:
        return out
    for part in text.split(","):
        if ":" not in part:
            raise StfSyntaxError(path, line, f"action argument {part.strip()!r} needs NAME:VALUE")
        k, v = part.split(":", 1)
        out.append((k.strip(), v.strip()))
    return out


def _keys(text: str, path: str, line: int) -> list[tuple[str, str]]:
    toks = text.split()
    merged: list[str] = []
    for t in toks:  # tolerate "key: value" and "key :value"
        if merged and (merged[-1].endswith(":") or t.startswith(":")):
            merged[-1] += t
        else:
            merged.append(t)
    out = []
    for t in merged:
        if ":" not in t:
            raise StfSyntaxError(path, line, f"match field {t!r} needs NAME:VALUE")
        k, v = t.split(":", 1)
        out.append((k, v))
    return out


def _hexdata(tokens: list[str], allow_wild: bool, path: str, line: int) -> str:
    data = "".join(tokens)
    if data.lower().startswith("0x"):
        data = data[2:]
    ok = re.fullmatch(r"[0-9a-fA-F*]*" if allow_wild else r"[0-9a-fA-F]*", data)
    if not ok:
        raise StfSyntaxError(path, line, f"bad packet data {data!r}")
    return data.lower()


def parse_stf(text: str, path: str = "<stf>") -> list[Command]:
    cmds: list[Command] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, _, rest = line.partition(" ")
        name = word.lower()
        rest = rest.strip()
        c = Command(name, lineno, line, rest.split())
        if name == "add":
            tbl, _, rest2 = rest.partition(" ")
            if not tbl:
                raise StfSyntaxError(path, lineno, "add needs a table name")
            c.table = tbl
            rest2 = rest2.strip()
            first, _, after = rest2.partition(" ")
            if re.fullmatch(r"\d+", first):
                c.priority = int(first)
                rest2 = after.strip()
            m = _ACTION_RE.search(rest2)
            if m is None:
                raise StfSyntaxError(path, lineno, "add needs an action call ACTION(...)")
            # the action is the last NAME(...) of the line; keys come before it
            start = m.start()
            c.action = m.group(1)
            c.params = _params(m.group(2), path, lineno)
            c.entry_id = m.group(3)
            c.keys = _keys(rest2[:start], path, lineno)
        elif name == "setdefault":
            tbl, _, rest2 = rest.partition(" ")
            m = _ACTION_RE.fullmatch(rest2.strip())
            if not tbl or m is None:
                raise StfSyntaxError(path, lineno, "setdefault needs TABLE ACTION(...)")
            c.table, c.action = tbl, m.group(1)
            c.params = _params(m.group(2), path, lineno)
        elif name in ("packet", "expect"):
            toks = rest.split()
            if not toks or not re.fullmatch(r"\d+", toks[0]):
                raise StfSyntaxError(path, lineno, f"{name} needs a port number")
            c.port = int(toks[0])
            data = toks[1:]
            if name == "expect" and data and data[-1].endswith("$"):
                c.exact_len = True
                data[-1] = data[-1][:-1]
                if not data[-1]:
                    data.pop()
            if name == "packet":
                c.data = _hexdata(data, False, path, lineno)
                if len(c.data) % 2:
                    # p4c's STF driver turns each pair of nibbles into a byte, and a
                    # lone last nibble into a byte of its own ("..20 0" sends 20 00)
                    c.data = c.data[:-1] + "0" + c.data[-1]
            else:
                c.data = _hexdata(data, True, path, lineno) if data else None
        elif name == "check_counter":
            m = _CHECK_RE.fullmatch(rest)
            if m is None:
                raise StfSyntaxError(
                    path, lineno, "check_counter NAME(INDEX) [packets|bytes] OP VALUE"
                )
            c.counter, c.index = m.group(1), m.group(2)
            c.count_type = m.group(3).lower() if m.group(3) else None
            c.cmp, c.value = m.group(4), m.group(5)
        elif name == "register_read":
            toks = rest.split()
            if len(toks) not in (2, 4) or (len(toks) == 4 and not _CMP_RE.match(toks[2])):
                raise StfSyntaxError(path, lineno, "register_read NAME INDEX [OP VALUE]")
            c.counter, c.index = toks[0], toks[1]
            if len(toks) == 4:
                c.cmp, c.value = toks[2], toks[3]
        elif name in (
            "wait",
            "no_packet",
            "remove",
            "mirroring_add",
            "mirroring_add_mc",
            "mirroring_delete",
            "mirroring_get",
            "mc_mgrp_create",
            "mc_mgrp_destroy",
            "mc_node_create",
            "mc_node_update",
            "mc_node_destroy",
            "mc_node_associate",
            "mc_node_dissociate",
            "counter_read",
            "counter_write",
            "counter_reset",
            "register_write",
            "register_reset",
            "meter_set_rates",
            "meter_array_set_rates",
            "meter_get_rates",
        ):
            pass
        else:
            raise StfSyntaxError(path, lineno, f"unknown STF command {word!r}")
        cmds.append(c)
    return cmds
