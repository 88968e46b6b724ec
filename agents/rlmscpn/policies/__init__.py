"""Shipped RLMS-CPN policies (safetensors + JSON sidecar), made by ``python -m agents.rlmscpn
train --topology abilene --seed 0 --out agents/rlmscpn/policies``: ``abilene`` (SyncGNN),
``abilene-mlp`` (MLP ablation), ``abilene-dqn`` (GNN+DQN baseline)."""
