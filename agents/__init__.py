"""Learned schedulers (RLMS-CPN, TSFT, D3QN, MAPPO) and their baselines; they know nothing of P4."""
