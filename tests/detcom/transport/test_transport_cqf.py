"""The draft's CQF cycle-length rules on worked examples."""

from fractions import Fraction

import pytest

from agents.detcom.transport import api
from agents.detcom.transport.cqf import (
    aligned_minislot,
    allowed_minislots,
    choose_cycle,
    cqf_delay_bounds_us,
    cycle_length_us,
    cyclic_prefix_us,
    gcd_us,
    harq_attempts_per_cycle,
    hop_transmission_us,
    minislot_us,
)

# A 7 kbit task in one Ethernet frame: 7000 + 42 B overhead × 8 = 7336 bits on the wire.
FRAME = 7336


def test_hop_times_of_the_case_study():
    assert hop_transmission_us(FRAME, 100) == pytest.approx(73.36)
    assert hop_transmission_us(FRAME, 1000, propagation_us=0.5, processing_us=2) == pytest.approx(
        9.836
    )
    with pytest.raises(ValueError):
        hop_transmission_us(FRAME, 0)


def test_minislots_respect_the_100_to_500_us_window():
    # 15 kHz symbols last 1000/14 µs: 2, 4, 7 symbols = 142.9, 285.7, 500 µs (all allowed).
    assert allowed_minislots(15) == [
        (2, Fraction(1000, 7)),
        (4, Fraction(2000, 7)),
        (7, Fraction(500)),
    ]
    # 30 kHz: the 2-symbol mini-slot (71.4 µs) is below 100 µs.
    assert [n for n, _ in allowed_minislots(30)] == [4, 7]
    # 60 kHz: only 7 symbols (125 µs) reaches 100 µs.
    assert allowed_minislots(60) == [(7, Fraction(125))]
    assert minislot_us(60, 7) == 125
    assert cyclic_prefix_us(15) == pytest.approx(4.6875) and cyclic_prefix_us(60) == pytest.approx(
        1.171875
    )


def test_case_study_cycle_is_the_gcd_of_the_periods():
    hops = {"tsn-tsn": hop_transmission_us(FRAME, 1000), "tsn-5g": 73.36, "5g-tsn": 73.36}
    for scs, (sym, per_cycle) in {15: (7, 2), 30: (7, 4), 60: (7, 8)}.items():
        c = choose_cycle(hops, [1000, 2000, 4000], scs)
        assert c.cycle_us == 1000.0 and c.gcd_us == 1000.0
        assert (c.minislot_symbols, c.minislots_per_cycle) == (sym, per_cycle)
    assert api.cycle_length_us() == 1000.0
    assert api.cycle_length_us([73.36], [1500, 2500]) == 500.0  # gcd(1500, 2500)


def test_gcd_handles_fractional_periods():
    assert gcd_us([Fraction(1000, 3), Fraction(2000, 3)]) == Fraction(1000, 3)
    assert gcd_us([250.5, 501]) == Fraction(501, 2)
    with pytest.raises(ValueError):
        gcd_us([])


def test_cycle_must_be_longer_than_every_hop():
    # gcd(1000, 1500) = 500 µs, but a 600 µs hop (e.g. 60 kbit at 100 Mb/s) does not fit.
    with pytest.raises(ValueError, match="not longer than the slowest hop"):
        cycle_length_us({"tsn-tsn": 10.0, "tsn-5g": 600.0}, [1000, 1500])
    # Equal is not enough: the draft says "greater than".
    with pytest.raises(ValueError, match="slowest hop"):
        cycle_length_us([500.0], [500])
    with pytest.raises(ValueError, match="unknown hop kinds"):
        cycle_length_us({"tsn-wifi": 1.0}, [1000])


def test_cycle_must_tile_into_aligned_minislots():
    # 250 µs is no whole number of 15 kHz mini-slots (142.9/285.7/500 µs) ...
    with pytest.raises(ValueError, match="mini-slots"):
        cycle_length_us([73.36], [250, 500], scs_khz=15)
    # ... but two 125 µs mini-slots at 60 kHz.
    assert cycle_length_us([73.36], [250, 500], scs_khz=60) == 250.0
    assert aligned_minislot(1000, 15) == (7, Fraction(500))
    assert aligned_minislot(Fraction(2000, 7), 15) == (4, Fraction(2000, 7))
    assert aligned_minislot(300, 30) is None


def test_5gs_bridge_delay_at_most_one_cycle():
    with pytest.raises(ValueError, match="5GS"):
        cycle_length_us([73.36], [500, 1000], scs_khz=60, fivegs_residence_us=600)


def test_shortest_valid_divisor_of_the_gcd():
    # gcd = 1000 µs; divisors 1000/n: 125 fits the mini-slots but the 5GS needs 250 µs; 200 is
    # not a multiple of 125; so 250 µs (four per hyper-period of 1000 µs).
    c = choose_cycle([73.36], [1000, 2000], 60, fivegs_residence_us=250, prefer="shortest")
    assert c.cycle_us == 250.0 and c.minislots_per_cycle == 2
    # Without a radio: the shortest divisor longer than the slowest hop (1000/13 = 76.9 µs).
    assert cycle_length_us([73.36], [1000], prefer="shortest") == pytest.approx(1000 / 13)


def test_cqf_bounds_and_harq_attempts():
    assert cqf_delay_bounds_us(3, 1000) == (2000, 4000)
    assert cqf_delay_bounds_us(0, 1000) == (0.0, 0.0)
    assert harq_attempts_per_cycle(8, 1, 1) == 4  # 60 kHz: slots 0, 2, 4, 6
    assert harq_attempts_per_cycle(2, 1, 1) == 1  # 15 kHz: no room for a retransmission
    assert harq_attempts_per_cycle(8, 2, 1) == 3
    assert harq_attempts_per_cycle(4, 8, 1) == 1
