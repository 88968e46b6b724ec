"""D3QN transport policy for the control plane: a deterministic flow's (cycle offset, spectrum).

The control plane describes one flow (:class:`FlowRequest`) and what it sees of the network
(:class:`TransportState`); :meth:`TransportPolicy.decide` answers a :class:`FlowDecision`
greedily (no exploration), so the same request and state always get the same answer. Domain
indices are 0-based (0 = m1); the decision is in network terms (CQF cycle offset, 5G resource
units and share of the carrier), never P4 names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
import torch

from agents.detcom.transport.dqn import load_q_network
from agents.detcom.transport.networks import QNetwork
from agents.detcom.transport.scenario import TransportConfig, TransportModel
from agents.detcom.transport.sim import build_observation


@dataclass(frozen=True)
class FlowRequest:
    """A deterministic flow's frame to schedule."""

    src: int  # source domain (0-based)
    dst: int  # destination domain, as orchestration chose it
    deadline_us: float  # end-to-end latency bound
    #: Utilisation orchestration reached in ``dst`` when it placed the task (the feedback; 0: none).
    utilisation: float = 0.0


@dataclass(frozen=True)
class TransportState:
    """What the controller knows when it schedules the frame.

    ``queue_frames``: frames that still fit in the path's bottleneck CQF queue for the cycle
    now filling (offset 0) and the next one (offset 1). ``ru_free_share``: free share of the 5G
    resource units in the cycle the 5GS would carry the frame, for offsets 0 and 1.
    ``sinr_db``: the latest 5G channel report. ``pending``: frames still to schedule this cycle.
    """

    queue_frames: tuple[float, float] = (10.0, 10.0)
    ru_free_share: tuple[float, float] = (1.0, 1.0)
    sinr_db: float = 18.0
    pending: int = 0


@dataclass(frozen=True)
class FlowDecision:
    cycle_offset: int  # 0: the CQF queue filling now; 1: the other queue (one cycle later)
    resource_units: int  # PRB × mini-slot units on the 5G hop (0 if the path has no 5G hop)
    spectrum_share: float  # those units as a share of the carrier's units in one cycle
    uses_5g: bool
    scs_khz: int
    cycle_us: float
    worst_case_latency_us: float  # CQF bound of the path with this offset, if nothing is lost


class TransportPolicy:
    """A trained transport Q-network (D3QN by default) behind the ``Policy`` protocol."""

    def __init__(self, net: QNetwork, cfg: TransportConfig, name: str = "d3qn-transport") -> None:
        self.net = net.eval()
        self.cfg = cfg
        self.model = TransportModel(cfg)
        self.name = name

    @classmethod
    def load(cls, path: str | Path) -> Self:
        net, cfg, dqn, _ = load_q_network(path)
        return cls(net, cfg, name=f"{dqn.method}-transport")

    @classmethod
    def default(cls, scs_khz: int = 60, method: str = "d3qn") -> Self:
        from agents.detcom.transport.api import default_checkpoint

        return cls.load(default_checkpoint(method, scs_khz))

    def _check(self, r: FlowRequest) -> None:
        n = self.cfg.n_domains
        if not (0 <= r.src < n and 0 <= r.dst < n):
            raise ValueError(f"domains are 0..{n - 1}, got {r.src}->{r.dst}")
        if not r.deadline_us > 0:
            raise ValueError("deadline_us must be positive")
        if not 0.0 <= r.utilisation <= 1.0:
            raise ValueError(f"utilisation must lie in [0, 1], got {r.utilisation}")

    def decide_batch(
        self, requests: list[FlowRequest], states: list[TransportState]
    ) -> list[FlowDecision]:
        if len(requests) != len(states):
            raise ValueError("one state per request")
        for r in requests:
            self._check(r)
        m = self.model
        src = np.array([r.src for r in requests], dtype=np.int64)
        dst = np.array([r.dst for r in requests], dtype=np.int64)
        rid = m.route_id(src, dst)
        deadline = np.floor(np.array([r.deadline_us for r in requests]) / m.T_us + 1e-9)
        obs = build_observation(
            np.array([s.queue_frames for s in states], dtype=float),
            np.array([s.ru_free_share for s in states], dtype=float),
            np.array([s.sinr_db for s in states], dtype=float),
            src,
            dst,
            deadline,
            m.base_latency_cycles(rid),
            np.array([s.pending for s in states], dtype=float),
            self.cfg.n_domains,
            np.array([r.utilisation for r in requests], dtype=float),
        )
        with torch.no_grad():
            act = self.net.greedy(torch.from_numpy(obs)).numpy()
        q, lev = m.decode(act)
        has5 = m.route["fivegs_hop"][rid] >= 0
        base = m.base_latency_cycles(rid)
        out = []
        for i in range(len(requests)):
            ru = int(m.spectrum_levels[lev[i]]) if has5[i] else 0
            out.append(
                FlowDecision(
                    cycle_offset=int(q[i]),
                    resource_units=ru,
                    spectrum_share=ru / m.ru_per_cycle,
                    uses_5g=bool(has5[i]),
                    scs_khz=self.cfg.scs_khz,
                    cycle_us=m.T_us,
                    worst_case_latency_us=float((base[i] + q[i] * (base[i] > 0)) * m.T_us),
                )
            )
        return out

    def decide(self, request: FlowRequest, state: TransportState) -> FlowDecision:
        return self.decide_batch([request], [state])[0]
