"""Heuristic orchestrators: the draft's greedy, round-robin and random.

Each picks one domain per task (or rejects it) and grants the full request; it acts through the
same environment as the learned agents by letting the chosen domain bid and every other decline,
so all methods share one set of rules and metrics. Tasks reach them in the draft's priority order
(the environment queues each window sorted by demand and tolerance).
"""

from __future__ import annotations

import numpy as np

from agents.detcom.orchestration.vecenv import VecOrchestrationEnv


def choice_to_actions(
    env: VecOrchestrationEnv, choice: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """[N] domain index (-1 reject) -> (bids [N, M], grants [N, M, 3]) with full grants."""
    bids = np.zeros((env.n, env.m))
    grants = np.full((env.n, env.m, 3), int(np.argmax(env.grant)), dtype=np.int64)
    rows = np.nonzero(choice >= 0)[0]
    bids[rows, choice[rows]] = 1.0
    return bids, grants


def feasible(env: VecOrchestrationEnv) -> np.ndarray:
    """[N, M] whether the current task's full request fits each domain's flow capacity."""
    req = env.tasks.request[:, min(env.t, env.cfg.n_tasks - 1)].astype(np.float64)
    return (req[:, None, :] <= env.free() + 1e-9).all(axis=-1)


class GreedyOrchestrator:
    """Draft: among domains meeting the task's requirements, the one with the lowest utilisation.

    A domain's utilisation is the mean over compute, storage and bandwidth of (flows +
    unexpected) / capacity; ties go to the lower domain index.
    """

    name = "greedy"

    def reset(self, env: VecOrchestrationEnv) -> None:
        pass

    def choose(self, env: VecOrchestrationEnv) -> np.ndarray:
        ok = feasible(env)
        util = env.utilisation().mean(axis=-1)
        util = np.where(ok, util, np.inf)
        choice = util.argmin(axis=1)
        return np.where(ok.any(axis=1), choice, -1)

    def act(self, env: VecOrchestrationEnv) -> tuple[np.ndarray, np.ndarray]:
        return choice_to_actions(env, self.choose(env))


class RoundRobinOrchestrator:
    """The next domain in cyclic order whose capacity fits the task."""

    name = "round_robin"

    def reset(self, env: VecOrchestrationEnv) -> None:
        self.pointer = np.zeros(env.n, dtype=np.int64)

    def choose(self, env: VecOrchestrationEnv) -> np.ndarray:
        ok = feasible(env)
        m = env.m
        order = (self.pointer[:, None] + np.arange(m)) % m  # [N, M] candidate order
        ok_in_order = np.take_along_axis(ok, order, axis=1)
        first = ok_in_order.argmax(axis=1)
        choice = order[np.arange(env.n), first]
        any_ok = ok.any(axis=1)
        self.pointer = np.where(any_ok, (choice + 1) % m, self.pointer)
        return np.where(any_ok, choice, -1)

    def act(self, env: VecOrchestrationEnv) -> tuple[np.ndarray, np.ndarray]:
        return choice_to_actions(env, self.choose(env))


class RandomOrchestrator:
    """A uniformly random domain among those whose capacity fits the task."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self, env: VecOrchestrationEnv) -> None:
        pass

    def choose(self, env: VecOrchestrationEnv) -> np.ndarray:
        ok = feasible(env)
        score = np.where(ok, self.rng.random(ok.shape), -1.0)
        choice = score.argmax(axis=1)
        return np.where(ok.any(axis=1), choice, -1)

    def act(self, env: VecOrchestrationEnv) -> tuple[np.ndarray, np.ndarray]:
        return choice_to_actions(env, self.choose(env))


def greedy_assign(
    capacity: np.ndarray,
    used: np.ndarray,
    requests: np.ndarray,
    tolerance: np.ndarray,
    weight: float = 0.5,
) -> np.ndarray:
    """The draft's batch greedy on one window: the 2-D 0/1 decision matrix DR [tasks, domains].

    ``capacity`` and ``used`` are [M, R] (capacity here is what task flows may use, i.e. after
    the reserve), ``requests`` [I, R], ``tolerance`` [I]. Tasks are served by decreasing
    ``weight * demand - (1 - weight) * tolerance`` (demand and tolerance normalised by their
    means); each goes to the feasible domain with the lowest mean utilisation.
    """
    capacity = np.asarray(capacity, dtype=float)
    used = np.asarray(used, dtype=float).copy()
    requests = np.asarray(requests, dtype=float)
    tolerance = np.asarray(tolerance, dtype=float)
    demand = (requests / np.maximum(requests.mean(axis=0), 1e-12)).mean(axis=1)
    tol = tolerance / max(float(tolerance.mean()), 1e-12)
    order = np.argsort(-(weight * demand - (1 - weight) * tol), kind="stable")
    decision = np.zeros((len(requests), len(capacity)), dtype=np.int8)
    for i in order:
        ok = (used + requests[i] <= capacity + 1e-9).all(axis=1)
        if not ok.any():
            continue
        util = np.where(ok, (used / capacity).mean(axis=1), np.inf)
        m = int(util.argmin())
        decision[i, m] = 1
        used[m] += requests[i]
    return decision


BASELINES = {
    "greedy": GreedyOrchestrator,
    "round_robin": RoundRobinOrchestrator,
    "random": RandomOrchestrator,
}
