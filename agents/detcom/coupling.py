"""Two-scale coupling of orchestration (large time scale) and transport scheduling (small).

Draft ("Relationship Between Orchestration and Scheduling Algorithm"): orchestration fixes each
task's target computing domain; the transmission scheduler must deliver the task's packets to that
domain — the binary coupling variable ``x_i = 1`` iff task ``i``'s packets reach the domain the
orchestrator chose — and the utilisation achieved by orchestration feeds the transmission reward.

:func:`joint_evaluate` runs an orchestration method on a seeded task stream, hands the chosen
target of every accepted task (``-1`` for a rejected task) and the target's utilisation at
placement to ``agents.detcom.transport.api.evaluate`` and combines the two stages: a task succeeds
end to end when it was accepted, finished its computation within its tolerance and its packets met
their latency bound at the right domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.detcom.orchestration.config import OrchestrationConfig
from agents.detcom.orchestration.evaluate import make_orchestrator, run_method

# The draft's comparison (MAPPO + D3QN against greedy + SA) and the two mixed systems, which
# separate what each stage contributes.
JOINT_SYSTEMS = {
    "mappo+d3qn": ("mappo", "d3qn"),
    "greedy+sa": ("greedy", "sa"),
    "mappo+sa": ("mappo", "sa"),
    "greedy+d3qn": ("greedy", "d3qn"),
}


class TransportUnavailable(RuntimeError):
    """The transport package (``agents.detcom.transport.api``) cannot be used."""


def transport_api() -> Any:
    """``agents.detcom.transport.api`` or :class:`TransportUnavailable` with the reason."""
    try:
        from agents.detcom.transport import api
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        raise TransportUnavailable(f"agents.detcom.transport.api: {exc}") from exc
    return api


@dataclass(frozen=True)
class CouplingInputs:
    """What orchestration hands to transport for one episode."""

    targets: np.ndarray  # [T] chosen domain per task, -1 = rejected
    placed_util: np.ndarray  # [T] target domain's mean utilisation right after placement
    compute_met: np.ndarray  # [T] accepted and finished within tolerance


def orchestrate(
    method: str,
    seed: int,
    n_tasks: int = 3000,
    checkpoint: Path | None = None,
    cfg: OrchestrationConfig | None = None,
) -> tuple[CouplingInputs, dict[str, float]]:
    """Run one orchestration episode; the targets for transport and the orchestration metrics."""
    cfg = cfg or OrchestrationConfig(n_tasks=n_tasks)
    res = run_method(cfg, make_orchestrator(method, seed, checkpoint), seed, episodes=1)
    a = res.assignments
    inputs = CouplingInputs(
        targets=a["winner"][0].astype(np.int64),
        placed_util=a["placed_util"][0].astype(np.float64),
        compute_met=a["met"][0].astype(bool),
    )
    return inputs, res.summary()


def joint_evaluate(
    orchestration: str,
    transport: str,
    scs_khz: int,
    seed: int,
    n_tasks: int = 3000,
    orchestration_checkpoint: Path | None = None,
    transport_checkpoint: Path | None = None,
) -> dict[str, Any]:
    """One joint system (e.g. MAPPO + D3QN) on one seeded episode at one subcarrier spacing."""
    api = transport_api()
    inputs, orch = orchestrate(orchestration, seed, n_tasks, orchestration_checkpoint)
    accepted = inputs.targets >= 0
    # Only accepted tasks are sent; each must reach the domain orchestration chose.
    sent = int(accepted.sum())
    kwargs: dict[str, Any] = {"n_tasks": sent, "targets": inputs.targets[accepted]}
    if transport_checkpoint is not None:
        kwargs["checkpoint"] = transport_checkpoint
    kwargs["utilisation"] = inputs.placed_util[accepted]  # the draft's reward feedback
    tr = api.evaluate(transport, scs_khz, seed, **kwargs)
    out: dict[str, Any] = {
        "orchestration": orchestration,
        "transport": transport,
        "scs_khz": scs_khz,
        "seed": seed,
        "util_var": orch["util_var"],
        "acceptance": orch["acceptance"],
        "compute_deadline_success": orch["deadline_success"],
        "total_cost": float(tr["total_cost"]),
        "total_cost_feedback": float(tr.get("total_cost_feedback", tr["total_cost"])),
        "transport_deadline_success": float(tr["deadline_success"]),
    }
    for key in ("coupling_satisfied", "delivered_to_target"):
        if key in tr:
            out["coupling_satisfied"] = float(tr[key])
            break
    if "per_task_met" in tr:
        net_met = np.asarray(tr["per_task_met"], dtype=bool)
        if net_met.shape == (sent,):
            joint = inputs.compute_met[accepted] & net_met
            out["joint_success"] = float(joint.sum() / len(accepted))
    if "joint_success" not in out:
        # Per-task outcomes not available: independence approximation, flagged as such.
        out["joint_success"] = (
            orch["acceptance"] * orch["deadline_success"] * float(tr["deadline_success"])
        )
        out["joint_success_approximate"] = True
    return out


def compare_joint(
    scs_khz: int,
    seed: int,
    n_tasks: int = 3000,
    orchestration_checkpoint: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Every joint system of :data:`JOINT_SYSTEMS` on the same seed; a system whose policy is
    missing (no trained checkpoint) gets ``{"error": ...}``."""
    out: dict[str, dict[str, Any]] = {}
    for name, (orch, tr) in JOINT_SYSTEMS.items():
        try:
            out[name] = joint_evaluate(
                orch,
                tr,
                scs_khz,
                seed,
                n_tasks,
                orchestration_checkpoint=orchestration_checkpoint if orch == "mappo" else None,
            )
        except FileNotFoundError as exc:
            out[name] = {"error": str(exc)}
    return out
