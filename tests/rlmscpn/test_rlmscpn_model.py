"""SyncGNN actor-critic: invariance to candidate order, action shapes, the MLP ablation."""

from __future__ import annotations

import torch

from agents.rlmscpn.model import ActorCritic, ModelConfig, count_parameters


def _batch(b=4, n=5, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, n, 5, generator=g), torch.rand(b, n, k, 5, generator=g)


def test_syncgnn_is_invariant_to_candidate_order():
    torch.manual_seed(0)
    model = ActorCritic(ModelConfig(encoder="syncgnn"))
    nodes, paths = _batch()
    perm = torch.tensor([3, 0, 4, 1, 2])
    logits, conc, value = model(nodes, paths)
    logits_p, conc_p, value_p = model(nodes[:, perm], paths[:, perm])
    assert torch.allclose(logits_p, logits[:, perm], atol=1e-6)
    assert torch.allclose(conc_p, conc[:, perm], atol=1e-6)
    assert torch.allclose(value_p, value, atol=1e-6)
    # the deterministic decision names the same candidate whatever the order
    node, split, _, _ = model.act(nodes, paths, deterministic=True)
    node_p, split_p, _, _ = model.act(nodes[:, perm], paths[:, perm], deterministic=True)
    assert torch.equal(perm[node_p], node)
    assert torch.allclose(split_p, split, atol=1e-6)


def test_syncgnn_aggregation_ignores_path_order_for_node_choice():
    torch.manual_seed(1)
    model = ActorCritic(ModelConfig())
    nodes, paths = _batch(seed=2)
    logits, conc, _ = model(nodes, paths)
    logits_p, conc_p, _ = model(nodes, paths[:, :, [2, 0, 1]])
    assert torch.allclose(logits_p, logits, atol=1e-6)
    assert torch.allclose(conc_p, conc[:, :, [2, 0, 1]], atol=1e-6)


def test_mlp_ablation_same_heads_but_order_dependent():
    torch.manual_seed(0)
    gnn = ActorCritic(ModelConfig(encoder="syncgnn"))
    mlp = ActorCritic(ModelConfig(encoder="mlp"))
    heads = lambda m: {k: v.shape for k, v in m.state_dict().items() if not k.startswith("encoder")}  # noqa: E731
    assert heads(gnn) == heads(mlp)
    nodes, paths = _batch()
    perm = torch.tensor([3, 0, 4, 1, 2])
    logits, _, _ = mlp(nodes, paths)
    logits_p, _, _ = mlp(nodes[:, perm], paths[:, perm])
    assert not torch.allclose(logits_p, logits[:, perm], atol=1e-4)
    assert count_parameters(gnn) < 100_000  # a small policy file


def test_actions_are_valid_and_log_probs_consistent():
    torch.manual_seed(0)
    model = ActorCritic(ModelConfig())
    nodes, paths = _batch(b=8)
    node, split, logp, value = model.act(nodes, paths)
    assert node.shape == (8,) and split.shape == (8, 3) and value.shape == (8,)
    assert torch.allclose(split.sum(dim=1), torch.ones(8), atol=1e-5)
    logp2, ent_n, ent_p, value2 = model.evaluate(nodes, paths, node, split)
    assert torch.allclose(logp, logp2, atol=1e-4)
    assert torch.allclose(value, value2)
    assert (ent_n > 0).all()
    # SyncGNN also runs on other candidate / path counts (Table 7)
    n7, p7 = _batch(b=2, n=7, k=3)
    assert model(n7, p7)[0].shape == (2, 7)


def test_numpy_inference_matches_torch():
    import numpy as np

    from agents.rlmscpn.model import NumpySyncGNNActor

    torch.manual_seed(3)
    model = ActorCritic(ModelConfig())
    fast = NumpySyncGNNActor(model)
    nodes, paths = _batch(b=6, seed=4)
    logits, conc, _ = model(nodes, paths)
    for b in range(6):
        i, split, lg = fast.decide(nodes[b].double().numpy(), paths[b].double().numpy())
        assert np.allclose(lg, logits[b].detach().numpy(), atol=1e-5)
        assert i == int(logits[b].argmax())
        alpha = conc[b, i].detach().numpy()
        assert np.allclose(split, alpha / alpha.sum(), atol=1e-5)
