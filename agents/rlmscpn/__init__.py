"""RLMS-CPN: joint compute-node selection and path splitting with a SyncGNN actor-critic.

- :mod:`agents.rlmscpn.sim` the compute-network simulator (:mod:`.env` its Gymnasium face)
- :mod:`agents.rlmscpn.model` SyncGNN / MLP actor-critic; :mod:`.train` Algorithm 1 and PPO
- :mod:`agents.rlmscpn.baselines` Base1-4 (fastest/nearest node, ECMP/LP splits), :mod:`.dqn`
- :mod:`agents.rlmscpn.policy` the policy interface the control plane calls
- ``python -m agents.rlmscpn train|eval|report``
"""
