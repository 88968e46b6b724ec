"""Time-varying 5G radio channel whose losses depend on the subcarrier spacing.

Per CQF cycle the channel has a large-scale SNR (Gauss–Markov in dB: shadowing and slow fading)
and a multipath state (a Markov chain over RMS delay spreads: line-of-sight, cluttered,
heavily reflective factory hall). The SINR a transport block sees degrades by two impairments
that pull the subcarrier spacing (SCS) in opposite directions:

* inter-carrier interference from Doppler and phase noise, ∝ 1/SCS² (hurts 15 kHz most);
* inter-symbol interference from echoes beyond the cyclic prefix, whose length is ∝ 1/SCS
  (4.69/2.34/1.17 µs): the energy of an exponential power-delay profile past the CP,
  exp(−CP/τ_rms), hurts 60 kHz most in the reflective state.

A transport block of ``bits`` on ``ru`` resource units (one PRB for one mini-slot each) needs a
spectral efficiency ``bits / (ru · REs per RU)``; its block error rate is a logistic waterfall
around the SINR that efficiency needs (Shannon with a coding efficiency and an implementation
gap). HARQ retransmissions chase-combine: the n-th transmission sees ``SINR + 10·log10(n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from agents.detcom.transport.cqf import cyclic_prefix_us


@dataclass(frozen=True)
class ChannelConfig:
    snr_mean_db: float = 18.0
    snr_std_db: float = 4.0
    #: Correlation of the SNR between consecutive cycles of 1 ms (coherence of shadowing).
    snr_corr_per_ms: float = 0.9
    delay_spread_ns: tuple[float, ...] = (40.0, 120.0, 300.0)
    delay_spread_probs: tuple[float, ...] = (0.5, 0.3, 0.2)
    #: Probability the multipath state stays put from one 1 ms cycle to the next.
    delay_spread_stay_per_ms: float = 0.98
    #: Aggregate Doppler + phase-noise ICI power relative to the signal at 15 kHz (∝ 1/SCS²).
    ici_db_at_15khz: float = -20.0
    coding_efficiency: float = 0.8
    implementation_gap_db: float = 1.5
    bler_slope_per_db: float = 1.5

    def __post_init__(self) -> None:
        if len(self.delay_spread_ns) != len(self.delay_spread_probs):
            raise ValueError("one stationary probability per delay-spread state")
        if abs(sum(self.delay_spread_probs) - 1) > 1e-9 or min(self.delay_spread_probs) < 0:
            raise ValueError("delay_spread_probs must be a probability vector")
        if not 0 <= self.snr_corr_per_ms < 1 or not 0 <= self.delay_spread_stay_per_ms <= 1:
            raise ValueError("correlations/stay probabilities must lie in [0, 1)")
        if (
            self.snr_std_db < 0
            or self.bler_slope_per_db <= 0
            or not 0 < self.coding_efficiency <= 1
        ):
            raise ValueError("invalid channel parameters")


def sinr_db(
    snr_db: np.ndarray, delay_spread_ns: np.ndarray, scs_khz: int, cfg: ChannelConfig
) -> np.ndarray:
    """Post-FFT SINR (dB): noise + ICI(SCS) + ISI(CP(SCS), delay spread)."""
    ici = 10 ** (cfg.ici_db_at_15khz / 10) * (15.0 / scs_khz) ** 2
    cp_ns = cyclic_prefix_us(scs_khz) * 1000
    isi = np.exp(-cp_ns / np.asarray(delay_spread_ns, dtype=float))
    noise = 10 ** (-np.asarray(snr_db, dtype=float) / 10)
    return -10 * np.log10(noise + ici + isi)


def required_sinr_db(spectral_efficiency: np.ndarray, cfg: ChannelConfig) -> np.ndarray:
    """SINR a code of the given bits/RE needs at 50 % BLER."""
    se = np.asarray(spectral_efficiency, dtype=float)
    return 10 * np.log10(np.exp2(se / cfg.coding_efficiency) - 1) + cfg.implementation_gap_db


def bler(sinr: np.ndarray, spectral_efficiency: np.ndarray, cfg: ChannelConfig) -> np.ndarray:
    """Block error rate of one transmission (logistic waterfall in dB)."""
    x = cfg.bler_slope_per_db * (np.asarray(sinr) - required_sinr_db(spectral_efficiency, cfg))
    return 0.5 * (1 - np.tanh(0.5 * x))  # = 1 / (1 + e^x), overflow-free


def ar1(rng: np.random.Generator, shape: tuple[int, ...], rho: float) -> np.ndarray:
    """Unit-variance stationary AR(1) along the last axis."""
    z = rng.standard_normal(shape)
    if shape[-1] == 1:
        return z
    tail = lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], z[..., 1:], axis=-1, zi=rho * z[..., :1])[0]
    return np.concatenate([z[..., :1], tail], axis=-1)


def sample_channel(
    rng: np.random.Generator,
    n_envs: int,
    n_cycles: int,
    cycle_us: float,
    scs_khz: int,
    cfg: ChannelConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cycle (SNR dB, delay spread ns, SINR dB) trajectories, each [n_envs, n_cycles]."""
    ms = cycle_us / 1000.0
    rho = cfg.snr_corr_per_ms**ms
    stay = cfg.delay_spread_stay_per_ms**ms
    snr = cfg.snr_mean_db + cfg.snr_std_db * ar1(rng, (n_envs, n_cycles), rho)
    cdf = np.cumsum(np.asarray(cfg.delay_spread_probs))
    n_states = len(cdf)
    # Markov chain "stay, else redraw from the stationary law": the state at cycle k is the
    # draw made at the last redraw at or before k (cycle 0 always draws).
    draws = np.searchsorted(cdf, rng.random((n_envs, n_cycles)), side="right").clip(
        max=n_states - 1
    )
    moves = rng.random((n_envs, n_cycles)) >= stay
    moves[:, 0] = True
    last = np.maximum.accumulate(np.where(moves, np.arange(n_cycles)[None, :], 0), axis=1)
    state = np.take_along_axis(draws, last, axis=1)
    tau = np.asarray(cfg.delay_spread_ns, dtype=float)[state]
    return snr, tau, sinr_db(snr, tau, scs_khz, cfg)
