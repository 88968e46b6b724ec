"""Configuration of the cross-domain orchestration environment (Det(Com)² case study defaults).

Units: compute in processor cores (each case-study domain has 1000 cores and 1000 TFLOPS, i.e.
1 TFLOPS per core, so TFLOPS utilisation equals core utilisation and is not a separate
dimension), storage in TB, bandwidth in Gb/s (the access bandwidth of the domain's TSN switch;
the case study gives the switches different bandwidths, the values are ours). Time is counted in
orchestration slots (the draft's large time scale); one window of ``window`` tasks arrives per
slot.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from scipy.stats import poisson

RESOURCES = ("compute", "storage", "bandwidth")
STAGES = ("training", "deployment", "inference")
REWARDS = ("deviation", "literal", "variance")


@dataclass(frozen=True)
class OrchestrationConfig:
    """Everything that defines an orchestration instance; ``to_dict``/``from_dict`` round-trip."""

    n_domains: int = 5
    cores: float = 1000.0
    tflops: float = 1000.0
    storage_tb: float = 200.0
    bandwidth_gbps: tuple[float, ...] = (100.0, 100.0, 80.0, 80.0, 60.0)
    n_tasks: int = 3000
    window: int = 10
    # Offered load of the task flows per resource, as a fraction of the capacity left to flows.
    load: float = 0.75
    # Stage profiles (paper: training, deployment, inference): relative demand per resource,
    # mean nominal duration in slots, and the tolerance/duration slack range.
    stage_demand: tuple[tuple[float, float, float], ...] = (
        (1.8, 1.0, 0.8),
        (0.4, 1.6, 0.6),
        (0.8, 0.4, 1.6),
    )
    stage_duration: tuple[float, ...] = (20.0, 10.0, 4.0)
    stage_slack: tuple[tuple[float, float], ...] = ((1.5, 3.0), (1.3, 2.5), (1.1, 1.6))
    demand_sigma: float = 0.7  # log-normal spread of a task's demand around its stage profile
    max_duration: int = 40
    duration_noise: float = 0.15  # actual/declared execution time is log-normal(0, this)
    # Unexpected tasks (draft: compute and storage reserved statistically for them).
    unexpected_rate: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0)  # arrivals per slot per domain
    unexpected_cores: float = 12.0
    unexpected_storage: float = 2.0
    unexpected_duration: int = 3
    reserve_quantile: float = 0.99
    # Agent actions: a bid in [0, 1] (0 = decline) and grant fractions of the request.
    grant_levels: tuple[float, ...] = (0.5, 0.75, 1.0)
    # Reward: "deviation" r_m = -| ||u_target|| - ||u_m|| | (default), the paper's expression
    # taken literally, "literal" r_m = ||u_target|| - ||u_m|| (see README in this package), or
    # "variance": what the results table measures (utilisation variance across domains).
    reward: str = "deviation"
    # Scale of the "variance" reward: r_m = -variance_scale * mean_r (u_m,r - mean_k u_k,r)^2,
    # so sum_m r_m = -variance_scale * M * (the table's utilisation variance at this step).
    variance_scale: float = 100.0
    # Observation extras (off for the first shipped actors): the domain's post-placement view,
    # i.e. the utilisation variance across domains now and if this domain took the full request,
    # computable by each DSC from its own state and the aggregated mean/variance.
    balance_features: bool = False
    # Cost of a task not finished within its tolerance (rejected or late). With 1.0 the learned
    # agents traded ~3 points of deadline success for balance (half grants); 4.0 keeps their
    # deadline success at greedy's (see the package README).
    deadline_penalty: float = 4.0
    priority_weight: float = 0.5  # draft's sort: weight of demand against (low) tolerance
    warmup_fraction: float = 0.2  # slots excluded from the time-averaged metrics

    def __post_init__(self) -> None:
        if self.n_domains < 2:
            raise ValueError("n_domains must be >= 2")
        if len(self.bandwidth_gbps) != self.n_domains:
            raise ValueError("bandwidth_gbps needs one value per domain")
        if len(self.unexpected_rate) != self.n_domains:
            raise ValueError("unexpected_rate needs one value per domain")
        if self.n_tasks % self.window:
            raise ValueError("n_tasks must be a multiple of window")
        if not 0.0 < self.load < 2.0:
            raise ValueError("load must be in (0, 2)")
        if self.reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}")
        if not self.grant_levels:
            raise ValueError("need at least one grant level")
        if any(not 0.0 < g <= 1.0 for g in self.grant_levels):
            raise ValueError("grant levels are fractions in (0, 1]")

    # ---- derived quantities -------------------------------------------------------------
    @property
    def n_slots(self) -> int:
        return self.n_tasks // self.window

    @property
    def n_grant(self) -> int:
        return len(self.grant_levels)

    def capacity(self) -> np.ndarray:
        """[M, 3] capacity per domain and resource."""
        cap = np.empty((self.n_domains, 3))
        cap[:, 0] = self.cores
        cap[:, 1] = self.storage_tb
        cap[:, 2] = self.bandwidth_gbps
        return cap

    def reserve(self) -> np.ndarray:
        """[M, 3] resources reserved statistically for unexpected tasks (compute, storage only).

        The number of unexpected tasks in a domain is Poisson(rate * duration) in steady state;
        the reserve holds its ``reserve_quantile`` quantile of them.
        """
        rate = np.asarray(self.unexpected_rate, dtype=float)
        n = poisson.ppf(self.reserve_quantile, rate * self.unexpected_duration)
        res = np.zeros((self.n_domains, 3))
        res[:, 0] = n * self.unexpected_cores
        res[:, 1] = n * self.unexpected_storage
        return np.minimum(res, 0.5 * self.capacity())

    def demand_scale(self) -> np.ndarray:
        """[3] per-resource scale so the offered flow load equals ``load`` of flow capacity."""
        flow_cap = (self.capacity() - self.reserve()).sum(axis=0)
        prof = np.asarray(self.stage_demand)  # [S, 3]
        dur = np.asarray(self.stage_duration)  # [S]
        mean_lognormal = math.exp(self.demand_sigma**2 / 2)
        mean_dn = math.exp(self.duration_noise**2 / 2)
        expected = (prof * dur[:, None]).mean(axis=0) * mean_lognormal * mean_dn
        return self.load * flow_cap / (self.window * expected)

    def ring_length(self) -> int:
        """Slots a release ring must span: the longest possible effective holding time + 1."""
        longest = self.max_duration * 2.0 / min(self.grant_levels)
        return int(math.ceil(longest)) + self.unexpected_duration + 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrchestrationConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown orchestration config keys: {sorted(unknown)}")
        kw = {k: _tuplify(v) for k, v in data.items()}
        return cls(**kw)

    def replace(self, **changes: Any) -> OrchestrationConfig:
        return OrchestrationConfig.from_dict({**self.to_dict(), **changes})


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def small_config(**changes: Any) -> OrchestrationConfig:
    """A tiny instance for tests and smoke runs (3 domains, 300 tasks)."""
    base = OrchestrationConfig(
        n_domains=3,
        bandwidth_gbps=(100.0, 50.0, 25.0),
        unexpected_rate=(0.5, 1.0, 2.0),
        n_tasks=300,
    )
    return base.replace(**changes) if changes else base


__all__ = ["OrchestrationConfig", "RESOURCES", "REWARDS", "STAGES", "small_config"]
