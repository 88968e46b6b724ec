"""NAS-Bench-201 cells, per-device compute latency, and the TSFT latency predictor.

- :mod:`agents.latency.nb201` cells, arch strings, the paper's adjacency/operation matrices, costs
- :mod:`agents.latency.devices` shipped per-device latency model (coefficients fitted to measured
  NB201 latencies) and the CSV loader
- :mod:`agents.latency.predictor` the TSFT predictor (base model + two-stage fine-tuning)
- :mod:`agents.latency.baselines` FLOPs-linear, layer-wise sum, BRP-NAS-style GCN
- :mod:`agents.latency.report` Table 5 rows and plot
"""
