"""Settings of the compute-network simulator (one dataclass, JSON round-trippable)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: Device pools nodes draw from, by kind (names of ``agents.latency.devices``).
DEFAULT_DEVICE_POOL: dict[str, tuple[str, ...]] = {
    "gpu": ("1080ti_1", "2080ti_1", "titanx_1", "titanxp_1", "1080ti_32", "titanxp_32"),
    "cpu": ("gold_6240", "silver_4114", "silver_4210r"),
    "edge": ("pixel3", "essential_ph_1", "samsung_a50", "samsung_s7"),
}


@dataclass
class SimConfig:
    """Everything that defines a simulated compute network except the topology itself.

    Times are milliseconds, rates Mbit/s, sizes megabytes (10^6 bytes).
    """

    # decision problem (the paper: 5 candidates, 3 paths)
    n_candidates: int = 5
    k_paths: int = 3
    # placement: 2-4 access points; compute at every other node up to ``max_compute_nodes``
    n_access_min: int = 2
    n_access_max: int = 4
    access_points: tuple[int, ...] | None = None  # fixed access points (else drawn)
    max_compute_nodes: int = 60
    kind_mix: dict[str, float] = field(
        default_factory=lambda: {"gpu": 0.4, "cpu": 0.4, "edge": 0.2}
    )
    device_pool: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {k: tuple(v) for k, v in DEFAULT_DEVICE_POOL.items()}
    )
    devices: dict[int, str] | None = None  # fixed node -> device (else drawn)
    # tasks: Poisson arrivals at each access point, NB201 cells, data sizes log-uniform
    interarrival_ms: float = 25.0
    data_mb_min: float = 0.1
    data_mb_max: float = 10.0
    episode_tasks: int = 100
    # background traffic: a TM series (real Abilene file or gravity model), scaled so the
    # busiest link averages ``background_mlu`` utilisation; one TM interval per ``tm_interval_ms``
    background_mlu: float = 0.6
    tm_interval_ms: float = 500.0
    traffic_matrix_file: str | None = None
    gravity_intervals: int = 288
    max_background_endpoints: int = 40
    # link model: queueing delay q = q0 * u / (1 - u), capped; a new flow gets at least its fair
    # share of what background leaves; capacities in unknown units are rescaled to this median
    queue_q0_ms: float = 0.2
    queue_cap_ms: float = 10.0
    min_bandwidth_share: float = 0.05
    relative_capacity_median_mbps: float = 10_000.0
    # probing: back-to-back probes averaged; measurement noise per probe
    n_probes: int = 3
    probe_noise_ms: float = 0.05
    bandwidth_noise: float = 0.05
    # split ratios below this share are dropped (flowlet tables have finite granularity)
    min_split: float = 0.05
    # compute: measurement noise of the ground truth (device residual spread) on/off
    compute_noise: bool = True

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["device_pool"] = {k: list(v) for k, v in self.device_pool.items()}
        if self.devices is not None:
            d["devices"] = {str(k): v for k, v in self.devices.items()}
        if self.access_points is not None:
            d["access_points"] = list(self.access_points)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SimConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown simulator settings: {sorted(unknown)}")
        d = dict(d)
        if d.get("devices") is not None:
            d["devices"] = {int(k): v for k, v in d["devices"].items()}
        if d.get("access_points") is not None:
            d["access_points"] = tuple(int(a) for a in d["access_points"])
        if "device_pool" in d:
            d["device_pool"] = {k: tuple(v) for k, v in d["device_pool"].items()}
        return cls(**d)

    def replace(self, **changes: Any) -> SimConfig:
        return SimConfig.from_json({**self.to_json(), **changes})


#: Abilene as in the paper's Fig. 13: S8 and S9 (Los Angeles, New York) are the access points,
#: the other ten routers host five CPUs and five GPUs.
ABILENE_ACCESS_POINTS = (7, 8)
ABILENE_DEVICES: dict[int, str] = {
    0: "gold_6240",
    1: "1080ti_1",
    2: "silver_4114",
    3: "2080ti_1",
    4: "silver_4210r",
    5: "titanx_1",
    6: "gold_6240",
    9: "titanxp_1",
    10: "silver_4114",
    11: "1080ti_32",
}


def abilene_config(**changes: Any) -> SimConfig:
    """The paper's Abilene set-up (Fig. 13) with the default simulator settings."""
    base = SimConfig(access_points=ABILENE_ACCESS_POINTS, devices=dict(ABILENE_DEVICES))
    return base.replace(**changes) if changes else base
