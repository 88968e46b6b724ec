"""The Mininet way to run a network description (root; Debian's ``mininet``).

Modules: ``plan`` (the description translated into switches, hosts, links and delays; pure),
``p4switch`` (:class:`P4Switch`: simple_switch_grpc or ``python -m p4target.switch`` on
Mininet interfaces; :class:`HubSegment`), ``network`` (:func:`build_mininet`, clean-up),
``run`` (the controller, host programs and a small workload: ``python -m topo.mininet run``).
Importing ``network``, ``p4switch`` or ``run`` needs Mininet; ``plan`` does not.
"""

from topo.mininet.plan import MininetPlan, PlanError, plan_network

__all__ = ["MininetPlan", "PlanError", "plan_network"]
