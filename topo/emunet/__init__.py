"""The in-process emulated network: one network description run as embedded switches (each
with its own P4Runtime server), links, hosts and service nodes on one virtual clock.

Modules: ``network`` (:class:`InProcessNetwork`: build, run, faults, losses, captures),
``links`` (propagation delay, up/down, loss counters), ``hosts`` (endpoints, access links,
a minimal UDP responder), ``timeline`` (callbacks between packet events, the run loop),
``capture`` (pcap of a port).
"""

from .capture import Capture
from .hosts import Endpoint, HostPort, UdpResponder
from .links import Link, LinkPort, SwitchEnd
from .network import EmuSwitch, InProcessNetwork
from .timeline import Timeline, Timer

__all__ = [
    "Capture",
    "EmuSwitch",
    "Endpoint",
    "HostPort",
    "InProcessNetwork",
    "Link",
    "LinkPort",
    "SwitchEnd",
    "Timeline",
    "Timer",
    "UdpResponder",
]
