"""Service-node jobs that never get going: data units with no ``REQ`` (stray), requests whose
data never completed (incomplete), their expiry, and that normal requests are unaffected."""

from __future__ import annotations

import pytest

from traces.appproto import SERVICE_PORT, AppType, app_bytes, parse_app
from traces.client import AisidClient
from traces.host import TCP, UDP, Host
from traces.memnet import MemoryNet
from traces.service import ServiceNode

NODE, CLIENT, GW = "fd01:4::2", "fd00:1::10", "02:00:00:00:01:00"
D = 1000.0  # one-way delay, µs
T = 10e6  # the default job timeout (the client's request timeout), µs
ZERO = {"stray_units": 0, "stray_jobs": 0, "incomplete": 0, "expired": 0, "held": 0}


def setup(**node_kw):
    net = MemoryNet(delay_us=D)
    node = ServiceNode(net.endpoint(NODE, "node1"), "02:00:00:00:04:02", NODE, "2080ti_1",
                       100.0, GW, **node_kw)  # fmt: skip
    return net, node


def raw_host(net):
    host = Host(net.endpoint(CLIENT, "client"), "02:00:00:00:00:01", CLIENT, GW, "client")
    got: list = []
    for proto in (UDP, TCP):
        host.bind(proto, 40000, got.append)
    return host, got


def data(rid, off, n, total):
    return app_bytes(AppType.DATA, request_id=rid, offset=off, length=n, total=total) + bytes(n)


def node_frames(net):
    return [(t, f) for t, s, f in net.log if s == "node1"]


def test_units_without_a_request_are_counted_then_expire():
    net, node = setup()
    host, got = raw_host(net)
    flow = host.flow(UDP, NODE, 40000, SERVICE_PORT)
    for i in range(3):  # request 7: its REQ went elsewhere
        flow.send_udp(data(7, i * 1000, 1000, 3000))
    # request 8: REQ and one of its two units, then the client gives up
    flow.send_udp(app_bytes(AppType.REQ, request_id=8, total=2000, compute_mflop=1000))
    flow.send_udp(data(8, 0, 1000, 2000))
    net.run(T / 2)
    assert node.job_stats() == {"stray_units": 3, "stray_jobs": 1, "incomplete": 1,
                                "expired": 0, "held": 2}  # fmt: skip
    assert [parse_app(s.payload).type for s in got] == [AppType.ACCEPT]
    net.run(D + T - 1)  # idle just under the timeout: still held
    assert node.job_stats()["held"] == 2
    net.run(D + T)
    assert node.job_stats() == {"stray_units": 3, "stray_jobs": 1, "incomplete": 1,
                                "expired": 2, "held": 0}  # fmt: skip
    assert node._jobs == {}
    # a unit of an expired job still in flight is dropped, not a new stray job
    flow.send_udp(data(7, 0, 1000, 3000))
    net.run()
    assert node.job_stats()["stray_jobs"] == 1 and node.expired == 2
    assert node._jobs == {} and node._closed == {} and node._sweep is None  # memory released
    assert len(node_frames(net)) == 1 and node.served == 0  # the ACCEPT only


def test_tcp_data_without_a_connection_and_a_connection_without_a_request():
    net, node = setup()
    host, _ = raw_host(net)
    host.send_tcp(NODE, 40000, SERVICE_PORT, "PA", 1 + 48, 5001, data(0, 0, 500, 500))
    host.send_tcp(NODE, 40001, SERVICE_PORT, "S", 100, 0)  # handshake only, no REQ
    net.run(T / 2)
    assert node.job_stats() == {"stray_units": 1, "stray_jobs": 1, "incomplete": 0,
                                "expired": 0, "held": 2}  # fmt: skip
    net.run()
    assert node.job_stats() == {"stray_units": 1, "stray_jobs": 1, "incomplete": 0,
                                "expired": 2, "held": 0}  # fmt: skip
    assert node._jobs == {}


def test_data_before_its_request_is_not_stray():
    net, node = setup()
    host, got = raw_host(net)
    flow = host.flow(UDP, NODE, 40000, SERVICE_PORT)
    flow.send_udp(data(5, 0, 1000, 1000))  # reordered: the unit overtakes its REQ
    flow.send_udp(app_bytes(AppType.REQ, request_id=5, total=1000, compute_mflop=1000))
    net.run()
    assert node.served == 1 and node.job_stats() == ZERO
    assert [parse_app(s.payload).type for s in got] == [AppType.ACCEPT, AppType.DATA]


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_normal_and_refused_requests_are_unaffected(proto):
    runs = []
    for timeout in (None, T):  # None: no expiry (the behaviour before it)
        net, node = setup(job_timeout_us=timeout, services={1})
        client = AisidClient(net.endpoint(CLIENT, "client"), "02:00:00:00:00:01", CLIENT, GW)
        ok = client.request(NODE, 50_000, proto, rate_bps=50e6, service=1, reply_bytes=3000)
        no = client.request(NODE, 50_000, proto, rate_bps=50e6, service=2)  # not provided here
        net.run()
        runs.append((node_frames(net), ok.outcome, ok.completion_latency_us, no.outcome))
    # the refused request's units still in flight are no stray (with expiry on)
    assert node.job_stats() == ZERO and node._jobs == {} and node._closed == {}
    assert runs[0] == runs[1]
    assert runs[1][1] == "ok" and runs[1][3] == "refused" and len(runs[1][0]) > 3


def test_job_timeout_must_be_positive():
    with pytest.raises(ValueError, match="job_timeout_us"):
        setup(job_timeout_us=0)
