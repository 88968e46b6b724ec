"""CQF cycle-length rules for a TSN–5G converged network (draft-tang-detnet-network-resource-scheduling).

The draft fixes the CQF cycle (it calls it the "slot") ``T`` by three rules:

1. *Uniform slot length*: a frame sent by an upstream bridge in one cycle must be received by the
   downstream bridge within that cycle, so ``T`` must be longer than the transmission time of every
   hop, for each of the three hop kinds TSN→TSN, TSN→5G and 5G→TSN.
2. ``T`` is the greatest common divisor of all flow periods (so every flow releases on a cycle
   boundary and the schedule repeats every hyper-period).
3. *Mini-slots*: 5G schedules in mini-slots (2, 4 or 7 OFDM symbols, 100–500 µs) whose boundaries
   coincide with the TSN cycle boundaries, so ``T`` is a whole number of mini-slots; and, since the
   whole 5G system (5GS) is a logical TSN bridge, its forwarding delay must not exceed ``T``.

Durations are exact :class:`fractions.Fraction` microseconds internally (a 15 kHz OFDM symbol is
1000/14 µs), returned as floats. :func:`cycle_length_us` applies the rules; the helpers below it
(5G numerology, hop times, CQF delay bounds) are the pieces the simulator builds on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

#: Subcarrier spacings (kHz) of 5G NR FR1 data channels the case study compares.
SCS_KHZ: tuple[int, ...] = (15, 30, 60)
#: NR type-B ("mini-slot") allocation lengths in OFDM symbols.
MINISLOT_SYMBOLS: tuple[int, ...] = (2, 4, 7)
#: The draft's mini-slot duration window.
MINISLOT_RANGE_US: tuple[int, int] = (100, 500)
#: Hop kinds named by the draft's uniform-slot-length rule.
HOP_KINDS: tuple[str, ...] = ("tsn-tsn", "tsn-5g", "5g-tsn")


def _frac(x: float | int | Fraction) -> Fraction:
    """Exact value of a duration given in µs (floats rounded to the picosecond)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    return Fraction(x).limit_denominator(1_000_000)


def numerology(scs_khz: int) -> int:
    """NR numerology µ of a subcarrier spacing (15·2^µ kHz)."""
    if scs_khz not in (15, 30, 60, 120, 240):
        raise ValueError(f"subcarrier spacing must be 15·2^µ kHz (15..240), got {scs_khz}")
    return {15: 0, 30: 1, 60: 2, 120: 3, 240: 4}[scs_khz]


def slot_us(scs_khz: int) -> Fraction:
    """Duration of one 14-symbol NR slot: 1 ms / 2^µ."""
    return Fraction(1000, 2 ** numerology(scs_khz))


def symbol_us(scs_khz: int) -> Fraction:
    """Average OFDM symbol duration including its cyclic prefix (slot / 14)."""
    return slot_us(scs_khz) / 14


def cyclic_prefix_us(scs_khz: int) -> float:
    """Normal cyclic prefix: 144/2048 of the useful symbol, 4.6875 µs at 15 kHz, halving per doubling."""
    numerology(scs_khz)
    return 4.6875 * 15 / scs_khz


def minislot_us(scs_khz: int, symbols: int) -> Fraction:
    """Duration of an ``symbols``-symbol mini-slot."""
    if symbols not in MINISLOT_SYMBOLS and symbols != 14:
        raise ValueError(f"mini-slots are {MINISLOT_SYMBOLS} symbols (or a 14-symbol slot)")
    return symbol_us(scs_khz) * symbols


def allowed_minislots(scs_khz: int) -> list[tuple[int, Fraction]]:
    """(symbols, duration) of every mini-slot whose duration lies in the draft's 100–500 µs."""
    lo, hi = MINISLOT_RANGE_US
    out = []
    for n in MINISLOT_SYMBOLS:
        d = minislot_us(scs_khz, n)
        if lo <= d <= hi:
            out.append((n, d))
    return out


def aligned_minislot(cycle_us: float | Fraction, scs_khz: int) -> tuple[int, Fraction] | None:
    """The longest allowed mini-slot that tiles the cycle exactly (boundaries aligned), or None."""
    t = _frac(cycle_us)
    fits = [(n, d) for n, d in allowed_minislots(scs_khz) if (t / d).denominator == 1]
    return max(fits, key=lambda nd: nd[1]) if fits else None


def hop_transmission_us(
    frame_bits: float, rate_mbps: float, propagation_us: float = 0.0, processing_us: float = 0.0
) -> float:
    """Time for one hop to move a frame: serialisation + propagation + bridge processing."""
    if rate_mbps <= 0:
        raise ValueError("link rate must be positive")
    return frame_bits / rate_mbps + propagation_us + processing_us


def gcd_us(periods_us: Iterable[float | int | Fraction]) -> Fraction:
    """Greatest common divisor of flow periods (exact; periods may be fractional µs)."""
    fr = [_frac(p) for p in periods_us]
    if not fr:
        raise ValueError("need at least one flow period")
    if any(p <= 0 for p in fr):
        raise ValueError("flow periods must be positive")
    den = math.lcm(*(p.denominator for p in fr))
    g = math.gcd(*(int(p * den) for p in fr))
    return Fraction(g, den)


@dataclass(frozen=True)
class CycleChoice:
    """Outcome of the rules: the cycle, its mini-slot and why it is valid."""

    cycle_us: float
    gcd_us: float
    max_hop_us: float
    minislot_symbols: int | None
    minislot_us: float | None
    minislots_per_cycle: int | None


def choose_cycle(
    hop_tx_us: Mapping[str, float] | Sequence[float],
    flow_periods_us: Sequence[float | int],
    scs_khz: int | None = None,
    *,
    fivegs_residence_us: float | None = None,
    prefer: Literal["gcd", "shortest"] = "gcd",
    max_divisor: int = 64,
) -> CycleChoice:
    """Apply the draft's rules and say which cycle they give (see :func:`cycle_length_us`)."""
    if isinstance(hop_tx_us, Mapping):
        unknown = set(hop_tx_us) - set(HOP_KINDS)
        if unknown:
            raise ValueError(f"unknown hop kinds {sorted(unknown)}; use {HOP_KINDS}")
        hops = list(hop_tx_us.values())
    else:
        hops = list(hop_tx_us)
    if not hops:
        raise ValueError("need the transmission time of at least one hop")
    if any(h < 0 for h in hops):
        raise ValueError("hop transmission times must be non-negative")
    if prefer not in ("gcd", "shortest"):
        raise ValueError("prefer must be 'gcd' (the draft) or 'shortest'")
    g = gcd_us(flow_periods_us)
    max_hop = max(_frac(h) for h in hops)
    reasons: list[str] = []
    divisors = [1] if prefer == "gcd" else range(max_divisor, 0, -1)
    for n in divisors:  # shortest first when prefer == "shortest"
        t = g / n
        if not t > max_hop:
            reasons.append(
                f"T={float(t):g} µs is not longer than the slowest hop ({float(max_hop):g} µs)"
            )
            continue
        if fivegs_residence_us is not None and _frac(fivegs_residence_us) > t:
            reasons.append(
                f"T={float(t):g} µs is shorter than the 5GS bridge delay ({fivegs_residence_us:g} µs)"
            )
            continue
        ms = None
        if scs_khz is not None:
            ms = aligned_minislot(t, scs_khz)
            if ms is None:
                opts = ", ".join(f"{float(d):.3f}" for _, d in allowed_minislots(scs_khz))
                reasons.append(
                    f"T={float(t):g} µs is not a whole number of {scs_khz} kHz mini-slots ({opts} µs)"
                )
                continue
        return CycleChoice(
            cycle_us=float(t),
            gcd_us=float(g),
            max_hop_us=float(max_hop),
            minislot_symbols=ms[0] if ms else None,
            minislot_us=float(ms[1]) if ms else None,
            minislots_per_cycle=int(t / ms[1]) if ms else None,
        )
    detail = reasons[-1] if prefer == "gcd" else "; ".join(dict.fromkeys(reasons[-3:]))
    raise ValueError(f"no CQF cycle satisfies the draft's rules: {detail}")


def cycle_length_us(
    hop_tx_us: Mapping[str, float] | Sequence[float],
    flow_periods_us: Sequence[float | int],
    scs_khz: int | None = None,
    *,
    fivegs_residence_us: float | None = None,
    prefer: Literal["gcd", "shortest"] = "gcd",
) -> float:
    """CQF cycle length ``T`` (µs) by the draft's rules.

    ``hop_tx_us``: transmission time of every hop, either a list or a mapping keyed by hop kind
    (``"tsn-tsn"``, ``"tsn-5g"``, ``"5g-tsn"``; give each kind's slowest hop). ``flow_periods_us``:
    the periods of all flows. ``scs_khz``: when given, ``T`` must tile into whole mini-slots of that
    subcarrier spacing (2/4/7 symbols lasting 100–500 µs). ``fivegs_residence_us``: the 5GS bridge's
    forwarding delay, which must not exceed ``T``.

    ``prefer="gcd"`` (the draft) returns the GCD of the periods and raises ``ValueError`` naming the
    violated rule if the GCD fails one; ``prefer="shortest"`` returns the shortest divisor of the
    GCD that satisfies every rule (lower CQF latency, same period alignment).
    """
    return choose_cycle(
        hop_tx_us,
        flow_periods_us,
        scs_khz,
        fivegs_residence_us=fivegs_residence_us,
        prefer=prefer,
    ).cycle_us


def cqf_delay_bounds_us(n_bridges: int, cycle_us: float) -> tuple[float, float]:
    """End-to-end CQF delay bounds over ``n_bridges`` bridges: [(h−1)·T, (h+1)·T]."""
    if n_bridges < 0:
        raise ValueError("bridge count must be non-negative")
    if n_bridges == 0:
        return 0.0, 0.0
    return (n_bridges - 1) * cycle_us, (n_bridges + 1) * cycle_us


def harq_attempts_per_cycle(minislots_per_cycle: int, minislots_per_attempt: int, gap: int) -> int:
    """HARQ transmissions of one transport block that fit in a cycle.

    A transmission occupies ``minislots_per_attempt`` mini-slots and the next one may start
    ``gap`` mini-slots after it ends (decoding + feedback); at least one always fits.
    """
    if minislots_per_cycle < 1 or minislots_per_attempt < 1 or gap < 0:
        raise ValueError("mini-slot counts must be positive and the gap non-negative")
    if minislots_per_attempt > minislots_per_cycle:
        return 1
    return 1 + (minislots_per_cycle - minislots_per_attempt) // (minislots_per_attempt + gap)
