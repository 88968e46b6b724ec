"""Mutated programs (deleted characters, inserted tokens, dropped or duplicated lines) compile
or fail with a CompileError: never an internal error or an exception escaping the compiler."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from p4target.compiler import CompileError, compile_source

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "tests" / "p4").glob("*.p4")) + [ROOT / "p4src" / "router.p4"]
TOKENS = [";", "{", "}", "(", ")", "<", ">", "=", "+", "1", "bit<8>", "hdr", ".", ",", "apply",
          "table", "x", "0x1F", "&&&", "..", "[", "]", '"s"', "@", "if", "else", "return", "exit",
          "++", "|+|", "?", ":", "#if", "state", "transition"]  # fmt: skip


def mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(lines))
        line = lines[k]
        op = rng.random()
        if op < 0.3 and line:
            j = rng.randrange(len(line))
            lines[k] = line[:j] + line[j + 1 :]
        elif op < 0.6:
            j = rng.randrange(len(line) + 1)
            lines[k] = line[:j] + rng.choice(TOKENS) + line[j:]
        elif op < 0.8:
            del lines[k]
        else:
            lines.insert(k, rng.choice(lines))
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_programs_only_raise_compile_errors(seed):
    rng = random.Random(seed)
    for _ in range(15):
        path = rng.choice(SOURCES)
        src = mutate(path.read_text(), rng)
        try:
            compile_source(src, str(path))
        except CompileError as e:
            assert e.diagnostics and all(len(d) == 4 for d in e.diagnostics)
