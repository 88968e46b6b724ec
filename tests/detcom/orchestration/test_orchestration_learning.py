"""MAPPO learns on a seeded short run; checkpoints round-trip; the policy API matches the env."""

import numpy as np
import pytest
import torch

from agents.common.policy import Policy
from agents.detcom.orchestration.baselines import RandomOrchestrator
from agents.detcom.orchestration.config import STAGES, small_config
from agents.detcom.orchestration.evaluate import LearnedOrchestrator, compare, make_orchestrator
from agents.detcom.orchestration.policy import (
    ClusterState,
    DomainState,
    GreedyPolicy,
    MAPPOPolicy,
    TaskRequest,
    load_actor,
)
from agents.detcom.orchestration.ppo import PPOConfig, PPOTrainer
from agents.detcom.orchestration.vecenv import VecOrchestrationEnv

CFG = small_config(deadline_penalty=1.0)  # a 24-iteration run shows balancing clearly
FAST = dict(n_envs=16, rollout=64, gamma=0.95, gae_lambda=0.9, lr=1e-3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("mappo")
    trainer = PPOTrainer(CFG, PPOConfig(algo="mappo", **FAST), seed=0, checkpoint_dir=out)
    trainer.train(total_steps=16 * 64 * 24, progress=False)
    return trainer, out


def test_mappo_lowers_utilisation_variance_against_random(trained):
    trainer, _ = trained
    out = compare(
        CFG, [LearnedOrchestrator(trainer.actor), RandomOrchestrator(0)], seed=3, episodes=6
    )
    rows = out["methods"]
    assert rows["mappo"]["util_var"] < rows["random"]["util_var"]
    assert rows["mappo"]["acceptance"] >= rows["random"]["acceptance"] - 0.02
    # Learning, not luck: the untrained actor does worse on the team reward.
    fresh = PPOTrainer(CFG, PPOConfig(algo="mappo", **FAST), seed=0)
    before = compare(CFG, [LearnedOrchestrator(fresh.actor)], seed=3, episodes=6)["results"][
        "mappo"
    ]
    after = out["results"]["mappo"]
    assert after.mean("return") > before.mean("return")


def test_checkpoint_round_trip_and_resume(trained, tmp_path):
    trainer, out = trained
    actor, meta = load_actor(out / "mappo")
    for a, b in zip(actor.state_dict().values(), trainer.actor.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert meta["provenance"]["seed"] == 0 and meta["config"]["algo"] == "mappo"
    resumed = PPOTrainer(CFG, PPOConfig(algo="mappo", **FAST), seed=0, checkpoint_dir=out)
    assert resumed.try_resume() and resumed.env_steps == trainer.env_steps
    assert len(resumed.history) == len(trainer.history)
    resumed.train(total_steps=trainer.env_steps + 16 * 64, progress=False)
    assert resumed.env_steps == trainer.env_steps + 16 * 64
    other = PPOTrainer(small_config(load=0.5), PPOConfig(algo="mappo", **FAST), checkpoint_dir=out)
    with pytest.raises(ValueError, match="another configuration"):
        other.try_resume()


def test_ippo_trains_with_separate_parameters(tmp_path):
    trainer = PPOTrainer(CFG, PPOConfig(algo="ippo", **FAST), seed=1, checkpoint_dir=tmp_path)
    trainer.train(total_steps=16 * 64 * 2, progress=False)
    w = trainer.actor.net[0].weight
    assert w.shape[0] == CFG.n_domains and not torch.equal(w[0], w[1])
    orch = make_orchestrator("ippo", checkpoint=tmp_path / "ippo")
    assert compare(CFG, [orch], seed=0, episodes=1)["methods"]["ippo"]["episodes"] == 1


def _cluster_from_env(env: VecOrchestrationEnv) -> tuple[TaskRequest, ClusterState]:
    i = env.t
    req = env.tasks.request[0, i].astype(float)
    request = TaskRequest(
        cores=req[0],
        storage_tb=req[1],
        bandwidth_gbps=req[2],
        duration_slots=float(env.tasks.duration[0, i]),
        tolerance_slots=float(env.tasks.tolerance[0, i]),
        stage=STAGES[int(env.tasks.stage[0, i])],
        window_position=i % env.cfg.window,
    )
    domains = tuple(
        DomainState(
            capacity=tuple(env.cap[m]),
            reserved=tuple(env.reserve[m]),
            flow_used=tuple(env.flow_used[0, m]),
            unexpected_used=tuple(env.unexp_used[0, m]),
            held_after=(tuple(env.held[0, 0, m]), tuple(env.held[0, 1, m])),
        )
        for m in range(env.m)
    )
    return request, ClusterState(domains, offered=tuple(env.offered[0]))


def test_policy_interface_matches_the_environment(trained):
    _, out = trained
    policy = MAPPOPolicy.load(out / "mappo")
    assert isinstance(policy, Policy) and isinstance(GreedyPolicy(), Policy)
    learned = LearnedOrchestrator(policy.actor)
    env = VecOrchestrationEnv(CFG, 1, seed=7, auto_reset=False)
    for _ in range(40):
        request, state = _cluster_from_env(env)
        decision = policy.decide(request, state)
        assert decision == policy.decide(request, state)  # deterministic
        bids, grants = learned.act(env)
        winner = int(env.step(bids, grants)[4]["winner"][0])
        assert (decision.domain if decision.accepted else -1) == winner
        if decision.accepted:
            np.testing.assert_allclose(
                env._grants[0, env.t - 1], decision.grant_fraction, rtol=1e-6
            )


def test_greedy_policy_and_bad_inputs():
    state = ClusterState(
        (
            DomainState(capacity=(100, 10, 10), flow_used=(50, 5, 5)),
            DomainState(capacity=(100, 10, 10), flow_used=(20, 2, 2)),
            DomainState(capacity=(100, 10, 10), flow_used=(95, 1, 1)),
        )
    )
    small = TaskRequest(10, 1, 1, duration_slots=4, tolerance_slots=6)
    assert GreedyPolicy().decide(small, state).domain == 1
    too_big = TaskRequest(90, 1, 1, duration_slots=4, tolerance_slots=6)
    assert GreedyPolicy().decide(too_big, state).domain is None
    with pytest.raises(ValueError):
        TaskRequest(1, 1, 1, duration_slots=0, tolerance_slots=1)
    with pytest.raises(ValueError):
        TaskRequest(1, 1, 1, duration_slots=1, tolerance_slots=1, stage="pretraining")
