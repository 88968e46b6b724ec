"""Shipped artifacts of agents.latency: device coefficients, the TSFT base model."""
