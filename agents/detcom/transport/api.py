"""The transport scheduler's public API (contract with the orchestration helper's CLI, coupling
and report): train, evaluate, convergence curves, shipped checkpoints and the CQF cycle rules.

Methods: ``"d3qn"`` (the paper's), ``"dqn"``, ``"ddqn"`` (learned, same budget), ``"sa"``
(offline simulated-annealing plan) and ``"random"``. Every result is reproducible from its seed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from agents.detcom.transport.channel import ChannelConfig
from agents.detcom.transport.cqf import choose_cycle
from agents.detcom.transport.dqn import METHODS as LEARNED
from agents.detcom.transport.dqn import DQNConfig, checkpoint_name, load_q_network, train_q
from agents.detcom.transport.scenario import TransportConfig, TransportModel

METHODS: tuple[str, ...] = (*LEARNED, "sa", "random")
#: Extra references (not in the paper): ``model-greedy``, the per-task expected-cost minimiser that
#: knows the channel model; ``clairvoyant``, the per-task hindsight optimum (knows the realised
#: channel and HARQ outcomes; see :mod:`agents.detcom.transport.bounds`).
REFERENCES: tuple[str, ...] = ("model-greedy", "clairvoyant")
SCS_KHZ: tuple[int, ...] = (15, 30, 60)
#: Named scenarios: the paper's case study, and sensitivity variants with a busier, poorer 5G
#: cell where the spectrum and HARQ decisions weigh more in the cost: "loaded" (15 dB mean SNR,
#: 30 % of the RUs taken by other UEs) and "congested" (12 dB, 45 %).
SCENARIOS: dict[str, dict[str, Any]] = {
    "case-study": {},
    "loaded": {
        "channel": ChannelConfig(snr_mean_db=15.0, snr_std_db=4.0),
        "ru_background_mean": 0.3,
        "ru_background_std": 0.1,
        "ru_background_max": 0.5,
    },
    "congested": {
        "channel": ChannelConfig(snr_mean_db=12.0, snr_std_db=5.0),
        "ru_background_mean": 0.45,
        "ru_background_std": 0.12,
        "ru_background_max": 0.7,
    },
}
POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
#: Policies of further training seeds (``seeds/seed<S>/``, same commands with ``--seed S``), shipped
#: so that comparisons can be made over seeds without retraining.
SEED_POLICY_DIR = POLICY_DIR / "seeds"


def _check(method: str, scs_khz: int, allowed: Sequence[str] = METHODS) -> None:
    if method not in allowed:
        raise ValueError(f"method must be one of {tuple(allowed)}, got {method!r}")
    if scs_khz not in SCS_KHZ:
        raise ValueError(f"scs_khz must be one of {SCS_KHZ}, got {scs_khz!r}")


def case_study(scs_khz: int, n_tasks: int = 3000, scenario: str = "case-study") -> TransportConfig:
    """The paper's case study at one subcarrier spacing (see ``scenario`` for every default), or
    one of :data:`SCENARIOS`."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {tuple(SCENARIOS)}, got {scenario!r}")
    return TransportConfig(scs_khz=scs_khz, n_tasks=n_tasks, **SCENARIOS[scenario])


def default_checkpoint(method: str, scs_khz: int) -> Path:
    """Stem of the shipped checkpoint (``agents/detcom/policies/transport_<m>_scs<S>``)."""
    _check(method, scs_khz, LEARNED)
    return POLICY_DIR / checkpoint_name(method, scs_khz)


def train(
    method: str,
    scs_khz: int,
    seed: int,
    out_dir: Path,
    episodes: int | None = None,
    resume: bool = True,
    progress: bool = True,
    scenario: str = "case-study",
    **overrides: Any,
) -> Path:
    """Train DQN/DDQN/D3QN for one SCS; return the checkpoint stem. Resumable: an interrupted run
    (Ctrl-C or a kill after a periodic save) continues from its ``.train.pt`` state; a finished
    run with the same seed and config returns at once. ``overrides`` set :class:`DQNConfig`
    fields (e.g. ``n_envs``)."""
    _check(method, scs_khz, LEARNED)
    dqn = DQNConfig(method=method, **({"episodes": episodes} if episodes else {}), **overrides)
    return train_q(
        case_study(scs_khz, scenario=scenario),
        dqn,
        seed,
        Path(out_dir),
        resume=resume,
        progress=progress,
    )


def _agent(method: str, scs_khz: int, seed: int, checkpoint: Path | None, scenario: str):
    from agents.detcom.transport.agents import QAgent, RandomAgent
    from agents.detcom.transport.annealing import SimulatedAnnealing

    if method == "random":
        return RandomAgent(seed), None
    if method == "sa":
        return SimulatedAnnealing(seed=seed), None
    if method == "model-greedy":
        from agents.detcom.transport.greedy import ModelGreedy

        return ModelGreedy(), None
    if method == "clairvoyant":
        from agents.detcom.transport.bounds import Clairvoyant

        return Clairvoyant(), None
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint(method, scs_khz)
    if not path.with_suffix(".safetensors").exists() and not path.exists():
        raise FileNotFoundError(
            f"no {method} checkpoint at {path}; train one with "
            f"`python -m agents.detcom.transport train --method {method} --scs {scs_khz}`"
        )
    net, tcfg, _, meta = load_q_network(path)
    if meta["config"]["method"] != method:
        raise ValueError(f"{path} holds a {meta['config']['method']} policy, not {method}")
    if tcfg.scs_khz != scs_khz:
        raise ValueError(f"{path} was trained for {tcfg.scs_khz} kHz, not {scs_khz} kHz")
    want = case_study(scs_khz, scenario=scenario)
    if (tcfg.channel, tcfg.ru_background_mean) != (want.channel, want.ru_background_mean):
        raise ValueError(f"{path} was trained for another scenario than {scenario!r}")
    return QAgent(net, method), path


def evaluate(
    method: str,
    scs_khz: int,
    seed: int,
    n_tasks: int = 3000,
    checkpoint: Path | None = None,
    targets: np.ndarray | None = None,
    n_windows: int = 1,
    utilisation: np.ndarray | None = None,
    scenario: str = "case-study",
) -> dict[str, Any]:
    """Schedule ``n_tasks`` case-study tasks (m1↔m2) drawn from ``seed`` with ``method``.

    ``targets`` (one domain index per task) are orchestration's destinations (the coupling
    variable): each task must be delivered there, and ``coupling_satisfied`` reports the share
    that was, and the result carries ``per_task_met`` / ``per_task_delivered`` (one bool per task,
    first window) so the coupling can join each task's compute and network outcomes.
    ``utilisation`` (with ``targets``, one value in [0, 1] per task) is the utilisation
    orchestration reached at each task's domain: it weighs the task's on-time delivery in the
    reward (the draft's feedback; every method sees it) and gives ``total_cost_feedback``.
    ``scenario`` names one of :data:`SCENARIOS` (learned methods then need a ``checkpoint``
    trained on it). Returns
    ``total_cost``, ``deadline_success``, ``loss_rate`` and the rest of
    :func:`agents.detcom.transport.evaluation.run_episode`'s metrics. Learned methods load
    ``checkpoint`` or the shipped default for ``scs_khz``.
    """
    from agents.detcom.transport.evaluation import run_episode

    _check(method, scs_khz, (*METHODS, *REFERENCES))
    agent, path = _agent(method, scs_khz, seed, checkpoint, scenario)
    out = run_episode(
        agent,
        case_study(scs_khz, n_tasks, scenario),
        seed,
        n_tasks,
        targets,
        n_windows,
        per_task=targets is not None,
        utilisation=utilisation,
    )
    out["checkpoint"] = str(path) if path else None
    return out


def training_seed_dirs() -> list[Path]:
    """Checkpoint directories of every shipped training seed: the default policies (seed 0) first."""
    return [POLICY_DIR, *sorted(p for p in SEED_POLICY_DIR.glob("seed*") if p.is_dir())]


def evaluate_over(
    method: str, scs_khz: int, seed: int, checkpoint_dirs: Sequence[Path], **kwargs: Any
) -> dict[str, Any]:
    """:func:`evaluate` a learned method once per checkpoint directory (e.g. one per training
    seed): the mean of every numeric metric, ``total_cost_std`` (sample standard deviation) and
    each run's ``total_cost`` / ``deadline_success`` / ``loss_rate`` under ``runs``."""
    _check(method, scs_khz, LEARNED)
    runs = [
        evaluate(
            method, scs_khz, seed, checkpoint=Path(d) / checkpoint_name(method, scs_khz), **kwargs
        )
        for d in checkpoint_dirs
    ]
    if not runs:
        raise ValueError("no checkpoint directories given")
    measured = [k for k, v in runs[0].items() if isinstance(v, float)]  # ints: the setup's
    mean = {k: float(np.mean([r[k] for r in runs])) for k in measured}
    keep = ("checkpoint", "total_cost", "deadline_success", "loss_rate")
    return (
        runs[0]
        | mean
        | {
            "checkpoint": None,
            "total_cost_std": float(np.std([r["total_cost"] for r in runs], ddof=1))
            if len(runs) > 1
            else 0.0,
            "runs": [{k: r[k] for k in keep} for r in runs],
        }
    )


def cost_floor(
    scs_khz: int, seed: int, n_tasks: int = 3000, n_windows: int = 1, scenario: str = "case-study"
) -> dict[str, float]:
    """The least total cost *any* scheduler can reach on the windows :func:`evaluate` draws from
    ``seed`` (every task sent once, cleanly, on the smallest spectrum level), and its wired part,
    which no decision changes (see :mod:`agents.detcom.transport.bounds`)."""
    from agents.detcom.transport.bounds import cost_floor as floor

    _check("random", scs_khz)
    return floor(case_study(scs_khz, n_tasks, scenario), seed, n_windows)


def history(checkpoint: Path) -> dict[str, Any]:
    """Training history stored beside a checkpoint (per-episode cost and reward)."""
    p = Path(checkpoint)
    p = p.with_suffix("") if p.suffix in (".safetensors", ".json") else p
    hp = p.with_suffix(".history.json")
    if not hp.exists():
        raise FileNotFoundError(f"no training history beside {p} ({hp.name})")
    return json.loads(hp.read_text())


def convergence(
    method: str,
    scs_khz: int,
    seed: int,
    checkpoint: Path | None = None,
    out_dir: Path | None = None,
    episodes: int | None = None,
    metric: Literal["cost", "reward", "eval"] = "cost",
    progress: bool = False,
) -> list[float]:
    """Per-episode training cost (or reward) for Fig. 5a; ``metric="eval"``: the greedy policy's
    cost per 3000 tasks on fixed validation windows, measured every few windows during training
    (at the episodes listed in the history's ``eval_episode``).

    Reads the history of ``checkpoint``, else of the shipped default if it was trained with this
    ``seed`` (and ``episodes``, when given), else trains into ``out_dir`` (resumable).
    Each value is one training episode (``DQNConfig.tasks_per_episode`` tasks, with exploration).
    """
    _check(method, scs_khz, LEARNED)
    key = {"cost": "episode_cost", "reward": "episode_reward", "eval": "eval_cost_per_3000"}[metric]
    if checkpoint is not None:
        return list(history(checkpoint)[key])
    default = default_checkpoint(method, scs_khz)
    try:
        h = history(default)
        if h.get("seed") == seed and (episodes is None or len(h[key]) == episodes):
            return list(h[key])
    except FileNotFoundError:
        pass
    if out_dir is None:
        raise FileNotFoundError(
            f"no {method} history for seed {seed} at {scs_khz} kHz; pass out_dir to train one"
        )
    stem = train(method, scs_khz, seed, Path(out_dir), episodes=episodes, progress=progress)
    return list(history(stem)[key])


def validation_reference(
    method: str, scs_khz: int, tasks_per_episode: int = 300, windows: int = 8
) -> float:
    """A non-learning method's cost per 3000 tasks on the training's validation windows."""
    from agents.detcom.transport.dqn import VALIDATION_SEED
    from agents.detcom.transport.evaluation import run_episode

    _check(method, scs_khz, ("sa", "random", *REFERENCES))
    agent, _ = _agent(method, scs_khz, 0, None, "case-study")
    r = run_episode(agent, case_study(scs_khz, tasks_per_episode), VALIDATION_SEED, n_envs=windows)
    return r["total_cost"] / tasks_per_episode * 3000


def cycle_length_us(
    hop_tx_us: Mapping[str, float] | Sequence[float] | None = None,
    flow_periods_us: Sequence[float] | None = None,
    scs_khz: int | None = None,
    *,
    fivegs_residence_us: float | None = None,
    prefer: Literal["gcd", "shortest"] = "gcd",
) -> float:
    """CQF cycle length by the draft's rules (see :func:`agents.detcom.transport.cqf.cycle_length_us`).

    With no hop times/periods: the case study's cycle at ``scs_khz`` (default 60 kHz), derived
    from its network (slowest hop of each kind), flow periods and mini-slots.
    """
    if hop_tx_us is None and flow_periods_us is None:
        return TransportModel(case_study(scs_khz or 60)).T_us
    if hop_tx_us is None or flow_periods_us is None:
        raise ValueError("give both hop_tx_us and flow_periods_us (or neither for the case study)")
    return choose_cycle(
        hop_tx_us,
        flow_periods_us,
        scs_khz,
        fivegs_residence_us=fivegs_residence_us,
        prefer=prefer,
    ).cycle_us
