"""Seeded short runs: D3QN learns (beats random); training resumes exactly; policy round trip."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from agents.common.checkpoint import load_checkpoint
from agents.detcom.transport import api
from agents.detcom.transport.agents import QAgent, RandomAgent
from agents.detcom.transport.dqn import DQNConfig, load_q_network, train_q
from agents.detcom.transport.env import TransportVecEnv
from agents.detcom.transport.evaluation import run_episode
from agents.detcom.transport.policy import FlowRequest, TransportPolicy, TransportState
from agents.detcom.transport.scenario import TransportConfig

CFG = TransportConfig(scs_khz=60)
SHORT = DQNConfig(
    method="d3qn",
    episodes=48,
    n_envs=16,
    tasks_per_episode=100,
    learning_starts=512,
    eps_episodes=24,
    checkpoint_every=1,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("d3qn")
    return train_q(CFG, SHORT, seed=0, out_dir=out, progress=False)


def test_short_d3qn_run_beats_random(trained):
    net, tcfg, dqn, meta = load_q_network(trained)
    assert dqn.method == "d3qn" and net.dueling and meta["provenance"]["seed"] == 0
    d3qn = run_episode(QAgent(net, "d3qn"), CFG, seed=77, n_tasks=600)
    rnd = run_episode(RandomAgent(77), CFG, seed=77, n_tasks=600)
    assert d3qn["total_cost"] < 0.5 * rnd["total_cost"], (d3qn["total_cost"], rnd["total_cost"])
    assert d3qn["deadline_success"] > rnd["deadline_success"] + 0.1
    hist = api.history(trained)
    assert len(hist["episode_cost"]) == 48 and hist["seed"] == 0
    assert api.convergence("d3qn", 60, 0, checkpoint=trained) == hist["episode_cost"]
    assert (
        api.convergence("d3qn", 60, 0, checkpoint=trained, metric="reward")
        == hist["episode_reward"]
    )
    # The curve learns: late episodes cost less than the first (random-policy) ones.
    assert np.mean(hist["episode_cost"][-16:]) < np.mean(hist["episode_cost"][:16])


def test_the_best_validation_check_is_shipped(trained):
    from agents.detcom.transport.dqn import validation_cost

    net, tcfg, dqn, meta = load_q_network(trained)
    hist = api.history(trained)
    costs, episodes = hist["eval_cost_per_3000"], hist["eval_episode"]
    best = int(np.argmin(costs))
    sel = meta["config"]["selected"]
    assert sel["episode"] == episodes[best] == hist["selected_episode"]
    assert sel["validation_cost"] == pytest.approx(costs[best], abs=1e-3)
    # The shipped weights score exactly that on the validation windows.
    assert validation_cost(net, tcfg, dqn.tasks_per_episode, dqn.eval_windows) == pytest.approx(
        costs[best], abs=1e-3
    )


def test_interrupted_training_resumes_exactly(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    dqn = replace(SHORT, episodes=48, tasks_per_episode=40, learning_starts=128)
    full = train_q(CFG, dqn, seed=3, out_dir=tmp_path / "full", progress=False)
    calls = {"n": 0}
    real_step = TransportVecEnv.step

    def flaky(self, actions):
        calls["n"] += 1
        if calls["n"] == 40 * 2 + 5:  # during the third window
            raise KeyboardInterrupt
        return real_step(self, actions)

    monkeypatch.setattr(TransportVecEnv, "step", flaky)
    with pytest.raises(KeyboardInterrupt):
        train_q(CFG, dqn, seed=3, out_dir=tmp_path / "cut", progress=False)
    state = tmp_path / "cut" / "transport_d3qn_scs60.train.pt"
    assert state.exists()
    monkeypatch.setattr(TransportVecEnv, "step", real_step)
    resumed = train_q(CFG, dqn, seed=3, out_dir=tmp_path / "cut", progress=False)
    assert not state.exists()
    a, _ = load_checkpoint(full)
    b, _ = load_checkpoint(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert api.history(full)["episode_cost"] == api.history(resumed)["episode_cost"]
    # A finished run with the same seed and config is not retrained.
    assert train_q(CFG, dqn, seed=3, out_dir=tmp_path / "cut", progress=False) == resumed


def test_policy_round_trip_and_determinism(trained):
    pol = TransportPolicy.load(trained)
    assert pol.name == "d3qn-transport"
    req = FlowRequest(src=0, dst=1, deadline_us=4000.0)
    good = TransportState(queue_frames=(5, 5), ru_free_share=(0.8, 0.8), sinr_db=20.0)
    d1, d2 = pol.decide(req, good), pol.decide(req, good)
    assert d1 == d2
    assert d1.cycle_offset in (0, 1) and d1.uses_5g and d1.resource_units > 0
    assert 0 < d1.spectrum_share <= 1 and d1.cycle_us == 1000.0
    assert d1.worst_case_latency_us == 4000.0 + 1000.0 * d1.cycle_offset
    # A path without the 5GS gets no spectrum.
    local = pol.decide(FlowRequest(src=0, dst=2, deadline_us=3000.0), good)
    assert not local.uses_5g and local.resource_units == 0
    # Same answer as the Q-agent on the simulator's own observation.
    net, *_ = load_q_network(trained)
    obs = np.zeros((1, net.obs_dim), np.float32)
    with torch.no_grad():
        assert QAgent(net, "d3qn").act(obs, None)[0] == net(torch.from_numpy(obs)).argmax().item()
    with pytest.raises(ValueError):
        pol.decide(FlowRequest(src=0, dst=9, deadline_us=4000.0), good)
    with pytest.raises(ValueError):
        pol.decide(FlowRequest(src=0, dst=1, deadline_us=0.0), good)
    with pytest.raises(ValueError, match="utilisation"):
        pol.decide(FlowRequest(src=0, dst=1, deadline_us=4000.0, utilisation=1.5), good)
    # The feedback reaches the network's input exactly as the simulator builds it.
    busy = FlowRequest(src=0, dst=1, deadline_us=4000.0, utilisation=0.9)
    seen = []
    hook = pol.net.trunk.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].clone()))
    pol.decide(busy, good)
    hook.remove()
    assert seen[0][0, 8].item() == pytest.approx(0.9)


def test_api_evaluates_baselines_and_rejects_bad_input(tmp_path):
    r = api.evaluate("random", 60, seed=4, n_tasks=200)
    assert {"total_cost", "deadline_success", "loss_rate"} <= r.keys()
    with pytest.raises(ValueError):
        api.evaluate("ppo", 60, seed=4)
    with pytest.raises(ValueError):
        api.evaluate("random", 45, seed=4)
    with pytest.raises(FileNotFoundError):
        api.evaluate("dqn", 60, seed=4, checkpoint=tmp_path / "missing")
    assert api.default_checkpoint("d3qn", 60).name == "transport_d3qn_scs60"


def test_shipped_policies_load_and_beat_random():
    for scs in api.SCS_KHZ:
        for method in api.LEARNED:
            stem = api.default_checkpoint(method, scs)
            net, tcfg, dqn, meta = load_q_network(stem)
            assert tcfg.scs_khz == scs and dqn.method == method and dqn.episodes == 1000
            assert meta["provenance"]["seed"] == 0
            assert meta["provenance"]["command"].startswith(
                "python -m agents.detcom.transport train"
            )
            assert len(api.history(stem)["episode_cost"]) == 1000
    pol = TransportPolicy.default(60)
    d = pol.decide(FlowRequest(0, 1, 4000.0), TransportState(sinr_db=8.0))
    assert d.cycle_offset == 0  # no slack: the frame must take the CQF queue filling now
    r = api.evaluate("d3qn", 60, seed=8, n_tasks=300)
    assert r["total_cost"] < 0.5 * api.evaluate("random", 60, seed=8, n_tasks=300)["total_cost"]
    assert r["deadline_success"] > 0.99


def test_dueling_gradient_scaling_into_the_trunk():
    from agents.detcom.transport.networks import QNetwork

    torch.manual_seed(0)
    plain = QNetwork(18, 16, dueling=True)
    scaled = QNetwork(18, 16, dueling=True, dueling_grad_scale=0.5)
    scaled.load_state_dict(plain.state_dict())
    x = torch.randn(4, 18)
    assert torch.equal(plain(x), scaled(x))  # same values
    for net in (plain, scaled):
        net.zero_grad()
        net(x).sum().backward()
    # The streams' own weights get the same gradient; the trunk gets half of it.
    assert torch.allclose(scaled.advantage.weight.grad, plain.advantage.weight.grad)
    assert torch.allclose(scaled.trunk[0].weight.grad, 0.5 * plain.trunk[0].weight.grad)
    assert DQNConfig().dueling_grad_scale == pytest.approx(2**-0.5)


def test_named_scenarios(trained):
    plain = api.evaluate("sa", 60, seed=5, n_tasks=300)
    hard = api.evaluate("sa", 60, seed=5, n_tasks=300, scenario="congested")
    assert hard["total_cost"] > plain["total_cost"]  # poorer, busier cell
    assert api.case_study(60, scenario="congested").channel.snr_mean_db == 12.0
    with pytest.raises(ValueError, match="scenario"):
        api.case_study(60, scenario="other")
    # A policy trained on the case study is refused for another scenario.
    with pytest.raises(ValueError, match="another scenario"):
        api.evaluate("d3qn", 60, seed=5, n_tasks=50, checkpoint=trained, scenario="congested")
    assert api.evaluate("d3qn", 60, seed=5, n_tasks=50, checkpoint=trained)["n_tasks"] == 50


def test_dueling_streams_layout():
    from agents.detcom.transport.networks import QNetwork

    torch.manual_seed(0)
    net = QNetwork(18, 16, dueling=True, dueling_grad_scale=0.5, dueling_layout="streams")
    assert [m.out_features for m in net.trunk if isinstance(m, torch.nn.Linear)] == [64]
    assert net.value[0].out_features == net.advantage[0].out_features == 128
    x = torch.randn(5, 18)
    q = net(x)
    v, a = net.value(net.trunk(x)), net.advantage(net.trunk(x))
    assert torch.allclose(q, v + a - a.mean(dim=1, keepdim=True))
    net(x).sum().backward()
    plain = QNetwork(18, 16, dueling=True, dueling_layout="streams")
    plain.load_state_dict(net.state_dict())
    plain(x).sum().backward()
    assert torch.allclose(net.trunk[0].weight.grad, 0.5 * plain.trunk[0].weight.grad)
    with pytest.raises(ValueError, match="dueling_layout"):
        QNetwork(18, 16, dueling=True, dueling_layout="towers")


def test_streams_checkpoint_round_trip_and_old_configs_load_as_heads(tmp_path):
    from agents.detcom.transport.dqn import _dqn_from_dict

    cfg = replace(SHORT, episodes=16, dueling_layout="streams", eval_every=0)
    stem = train_q(CFG, cfg, seed=1, out_dir=tmp_path, progress=False)
    net, _, dqn, _ = load_q_network(stem)
    assert dqn.dueling_layout == "streams" and net.dueling_layout == "streams"
    old = {k: v for k, v in DQNConfig().__dict__.items() if k != "dueling_layout"}
    assert _dqn_from_dict(old).dueling_layout == "heads"
    # The shipped D3QN checkpoints predate the choice and load with their heads.
    shipped, _, _, _ = load_q_network(api.default_checkpoint("d3qn", 60))
    assert shipped.dueling_layout == "heads"
