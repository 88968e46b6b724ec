"""Det(Com)²: deterministic transport scheduling (D3QN over CQF + 5G) and cross-domain compute
orchestration (MAPPO), their simulators, baselines, two-scale coupling, CLI and report.

Subpackages: ``transport`` (TSN–5G simulator, D3QN/DQN/DDQN/SA; ``transport.api``) and
``orchestration`` (PettingZoo environment, MAPPO/IPPO, greedy/round-robin/random baselines).
``coupling`` joins them; ``python -m agents.detcom train|eval|report`` drives both.
"""
