"""Deterministic transport scheduling for Det(Com)²: TSN–5G CQF simulator, cost, D3QN and baselines.

Modules: ``cqf`` (the draft's cycle-length rules, 5G numerology), ``network`` (domains, TSN
switches, 5GS bridge, routes), ``channel`` (SCS-dependent time-varying radio channel),
``scenario`` (case-study config, tasks), ``cost`` (total cost and reward), ``sim`` (vectorised
simulator), ``env`` (Gymnasium single and vector envs), ``networks``/``dqn`` (DQN, DDQN, D3QN),
``annealing`` (simulated annealing), ``evaluation``, ``api`` (the contract used by
``python -m agents.detcom``), ``policy`` (the control plane's interface), ``plots``.
"""
