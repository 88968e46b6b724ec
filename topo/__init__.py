"""Topologies: graph models, loaders for real networks, Mininet and in-process networks."""
