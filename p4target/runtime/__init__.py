"""P4Runtime (v1) server for the embedded switch: what ``simple_switch_grpc`` serves.

Quick use::

    from p4target.switch import Switch
    from p4target.runtime import serve
    sw = Switch(cpu_port=255)                       # --no-p4: waits for a pipeline config
    srv = serve(sw, "127.0.0.1:9559", device_id=1)  # returns a running RuntimeServer
    ...                                             # p4runtime-shell, any P4Runtime client
    srv.stop()

``serve(switch, address, device_id, p4info=None)`` serves one switch (with ``p4info`` the
switch's loaded program is the committed pipeline); ``serve_many(switches)`` starts one server
per switch, each on its own port, for tests and in-process networks; ``RuntimeServer`` can also
host several devices on one address.  ``python -m p4target.runtime`` is the command line.

Served: Capabilities; Set/GetForwardingPipelineConfig (every action and response type; the
P4Info must match the BMv2 JSON); Write (CONTINUE_ON_ERROR, ROLLBACK_ON_ERROR,
DATAPLANE_ATOMIC) and Read (all wildcards) of table entries (exact/lpm/ternary/range/optional,
priorities, default entries, const tables, members/groups/one-shot action sets, direct
counter and meter data, idle timeout), action profile members and groups, counters, direct
counters, meters, direct meters, registers, value sets, digests, multicast groups and clone
sessions; StreamChannel arbitration (roles, primary/backup advisories), packet-out/packet-in
with ``@controller_header`` metadata, digest lists and acks, idle timeout notifications and
stream errors.  Errors follow the spec: a failed batch is UNKNOWN with one ``p4.v1.Error``
per update, and a failed update changes nothing.

Modules: ``server`` (start/stop), ``service`` (RPCs), ``stream`` (StreamChannel),
``arbitration``, ``device`` (pipeline config, atomicity, packet I/O, notifications),
``pipeline`` (P4Info <-> BMv2 JSON), ``state`` + ``tables``/``profiles``/``externs``/``pre``
(entity translation), ``matches`` and ``codec`` (keys, actions, byte strings), ``errors``.
"""

from .device import Device
from .errors import P4RTError
from .server import DEFAULT_ADDRESS, RuntimeServer, load_p4info, serve, serve_many

__all__ = [
    "DEFAULT_ADDRESS",
    "Device",
    "P4RTError",
    "RuntimeServer",
    "load_p4info",
    "serve",
    "serve_many",
]
