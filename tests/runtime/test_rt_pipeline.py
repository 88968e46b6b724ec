"""Set/GetForwardingPipelineConfig (every action and response type, P4Info/JSON consistency),
Capabilities, several servers in one process and the command-line launcher."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import grpc
import pytest
from rt_harness import ROOT, Client, action, b, entity, fm_exact, fm_lpm, frame, table_entry, update

from p4target.protos import p4runtime_pb2
from p4target.runtime import DEFAULT_ADDRESS, serve_many
from p4target.switch import Switch

C = grpc.StatusCode
SET = p4runtime_pb2.SetForwardingPipelineConfigRequest
GET = p4runtime_pb2.GetForwardingPipelineConfigRequest


def route(prog, nh: int = 5, port: int = 2):
    """ipv4_lpm 10.0.0.0/8 -> nexthop nh -> port."""
    return [
        update(
            "INSERT",
            table_entry=table_entry(
                prog.table_id("RouterIngress.ipv4_lpm"),
                [fm_lpm(1, b(0x0A000000, 4), 8)],
                action(prog.action_id("RouterIngress.set_nexthop"), b(nh)),
            ),
        ),
        update(
            "INSERT",
            table_entry=table_entry(
                prog.table_id("RouterIngress.nexthop"),
                [fm_exact(1, b(nh))],
                action(prog.action_id("RouterIngress.forward"), b(2), b(1), b(port)),
            ),
        ),
    ]


def get(c: Client, rtype=GET.ALL):
    return c.stub.GetForwardingPipelineConfig(
        p4runtime_pb2.GetForwardingPipelineConfigRequest(device_id=1, response_type=rtype)
    )


@pytest.fixture
def primary(server):
    c = Client(server.address, 1, election=1)
    yield c
    c.close()


def test_capabilities(primary):
    resp = primary.stub.Capabilities(p4runtime_pb2.CapabilitiesRequest())
    assert resp.p4runtime_api_version.startswith("1.")


def test_verify_commit_and_get_config(primary, switch, router_prog):
    assert not get(primary).HasField("config")  # --no-p4: nothing yet
    primary.set_pipeline(router_prog, action=SET.VERIFY)
    assert switch.program is None and not get(primary).HasField("config")
    primary.set_pipeline(router_prog, action=SET.VERIFY_AND_COMMIT, cookie=42)
    assert switch.program is not None
    full = get(primary).config
    assert full.p4info == router_prog.p4info and full.cookie.cookie == 42
    assert json.loads(full.p4_device_config) == router_prog.json
    cookie = get(primary, GET.COOKIE_ONLY).config
    assert (
        cookie.cookie.cookie == 42 and not cookie.HasField("p4info") and not cookie.p4_device_config
    )
    info = get(primary, GET.P4INFO_AND_COOKIE).config
    assert info.p4info == router_prog.p4info and not info.p4_device_config
    dev = get(primary, GET.DEVICE_CONFIG_AND_COOKIE).config
    assert dev.p4_device_config and not dev.HasField("p4info")

    primary.write(*route(router_prog))
    switch.port(1).send(frame())
    assert len(switch.port(2).received) == 1
    primary.set_pipeline(router_prog, action=SET.VERIFY_AND_COMMIT)  # state is cleared
    assert primary.read(entity(table_entry=p4runtime_pb2.TableEntry())) == []
    switch.port(1).send(frame())
    assert len(switch.port(2).received) == 1


def _mismatch(prog, how: str):
    cfg = prog.config()
    info = cfg.p4info
    if how == "table name":
        info.tables[0].preamble.name += "_x"
    elif how == "bitwidth":
        info.tables[0].match_fields[0].bitwidth += 1
    elif how == "match kind":
        info.tables[0].match_fields[0].match_type = 4  # TERNARY
    elif how == "action params":
        info.actions[0].params.add(id=9, name="extra", bitwidth=8)
    elif how == "action set":
        del info.tables[0].action_refs[0]
    elif how == "counter size":
        info.counters[0].size += 1
    return cfg


@pytest.mark.parametrize(
    "how", ["table name", "bitwidth", "match kind", "action params", "action set", "counter size"]
)
def test_p4info_not_matching_json_is_refused(primary, switch, router_prog, how):
    for act in (SET.VERIFY, SET.VERIFY_AND_COMMIT):
        with pytest.raises(grpc.RpcError) as exc:
            primary.set_pipeline(None, action=act, config=_mismatch(router_prog, how))
        assert exc.value.code() == C.INVALID_ARGUMENT
        assert "does not match" in exc.value.details()
    assert switch.program is None


def test_bad_configs(primary, router_prog, rt_prog):
    cfg = router_prog.config()
    cfg.p4_device_config = b"{not json"
    cases = [
        (SET.VERIFY_AND_COMMIT, cfg, C.INVALID_ARGUMENT),
        (SET.VERIFY_AND_COMMIT, None, C.INVALID_ARGUMENT),  # no config
        (SET.COMMIT, None, C.NOT_FOUND),  # nothing saved
        (SET.COMMIT, router_prog.config(), C.INVALID_ARGUMENT),
        (SET.UNSPECIFIED, router_prog.config(), C.INVALID_ARGUMENT),
    ]
    other = rt_prog.config()
    other.p4_device_config = router_prog.json_path.read_bytes()  # P4Info of another program
    cases.append((SET.VERIFY, other, C.INVALID_ARGUMENT))
    for act, config, code in cases:
        with pytest.raises(grpc.RpcError) as exc:
            req = primary._req(p4runtime_pb2.SetForwardingPipelineConfigRequest)
            req.action = act
            if config is not None:
                req.config.CopyFrom(config)
            primary.stub.SetForwardingPipelineConfig(req)
        assert exc.value.code() == code, (act, exc.value.details())


def test_verify_and_save_then_commit_replays_writes(primary, switch, router_prog, rt_prog):
    primary.set_pipeline(router_prog)
    primary.write(*route(router_prog))
    primary.set_pipeline(rt_prog, action=SET.VERIFY_AND_SAVE)
    l2 = table_entry(
        rt_prog.table_id("FIngress.l2"),
        [fm_exact(1, b(0xAA))],
        action(rt_prog.action_id("FIngress.fwd"), b(3)),
    )
    primary.write(update("INSERT", table_entry=l2))  # addresses the saved P4Info
    (got,) = [
        e
        for e in primary.read(
            entity(table_entry=p4runtime_pb2.TableEntry(table_id=rt_prog.table_id("FIngress.l2")))
        )
    ]
    assert got.table_entry == l2
    assert get(primary).config.p4info == rt_prog.p4info
    switch.port(1).send(frame(dst="00:00:00:00:00:aa"))  # data plane still routes
    assert len(switch.port(2).received) == 1 and not switch.port(3).received
    primary.set_pipeline(None, action=SET.COMMIT)
    switch.port(1).send(frame(dst="00:00:00:00:00:aa"))
    assert len(switch.port(3).received) == 1  # the saved write was replayed
    assert [
        e.table_entry
        for e in primary.read(
            entity(table_entry=p4runtime_pb2.TableEntry(table_id=rt_prog.table_id("FIngress.l2")))
        )
    ] == [l2]


def test_reconcile_and_commit_preserves_state(primary, switch, router_prog, rt_prog):
    primary.set_pipeline(router_prog)
    primary.write(*route(router_prog))
    for _ in range(3):
        switch.port(1).send(frame())
    before = primary.read(
        entity(table_entry=p4runtime_pb2.TableEntry()),
        entity(counter_entry=p4runtime_pb2.CounterEntry()),
    )
    primary.set_pipeline(router_prog, action=SET.RECONCILE_AND_COMMIT, cookie=7)
    assert get(primary).config.cookie.cookie == 7
    assert (
        primary.read(
            entity(table_entry=p4runtime_pb2.TableEntry()),
            entity(counter_entry=p4runtime_pb2.CounterEntry()),
        )
        == before
    )
    switch.port(1).send(frame())
    assert len(switch.port(2).received) == 4
    # a pipeline without these tables cannot keep the state: refused, old state intact
    with pytest.raises(grpc.RpcError) as exc:
        primary.set_pipeline(rt_prog, action=SET.RECONCILE_AND_COMMIT)
    assert exc.value.code() == C.INVALID_ARGUMENT
    assert get(primary).config.p4info == router_prog.p4info
    switch.port(1).send(frame())
    assert len(switch.port(2).received) == 5


def test_many_switches_in_one_process(router_prog):
    switches = []
    for i in range(3):
        sw = Switch(device_id=10 + i)
        sw.add_port(1)
        sw.add_port(2 + i)
        switches.append(sw)
    servers = serve_many(switches)
    clients = []
    try:
        assert len({s.port for s in servers}) == 3
        assert all(s.address.startswith("127.0.0.1:") for s in servers)
        for i, srv in enumerate(servers):
            c = Client(srv.address, 10 + i, election=1)
            clients.append(c)
            c.set_pipeline(router_prog)
            c.write(*route(router_prog, port=2 + i))
        for i, sw in enumerate(switches):
            sw.port(1).send(frame())
            assert len(sw.port(2 + i).received) == 1
        wrong = Client(servers[0].address, 11, arbitrate=False)
        clients.append(wrong)
        assert wrong.arbitrate(1) is None and wrong.stream_error.code() == C.NOT_FOUND
    finally:
        for c in clients:
            c.close()
        for s in servers:
            s.stop(0)
    assert DEFAULT_ADDRESS.startswith("127.0.0.1:")


@pytest.mark.parametrize(
    "module,ready",
    [
        ("p4target.runtime", "P4Runtime server on 127.0.0.1"),
        ("p4target.switch", "P4Runtime: 127.0.0.1"),  # the switch CLI composes the server in
    ],
)
def test_command_line_no_p4(router_prog, module, ready):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "--no-p4",
            "--grpc-server-addr",
            f"127.0.0.1:{port}",
            "--device-id",
            "3",
            "--cpu-port",
            "255",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        line = proc.stdout.readline()
        assert ready in line, line
        c = Client(f"127.0.0.1:{port}", 3, election=1)
        try:
            c.set_pipeline(router_prog)
            c.write(*route(router_prog))
            assert len(c.read(entity(table_entry=p4runtime_pb2.TableEntry()))) == 2
        finally:
            c.close()
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize("fmt", ["txtpb", "json", "bin"])
def test_serve_a_loaded_program_with_its_p4info(router_prog, tmp_path, fmt):
    from google.protobuf import json_format

    path = tmp_path / f"router.{fmt}"
    if fmt == "json":
        path.write_text(json_format.MessageToJson(router_prog.p4info))
    elif fmt == "bin":
        path.write_bytes(router_prog.p4info.SerializeToString())
    else:
        path.write_bytes(router_prog.p4info_path.read_bytes())
    sw = Switch(router_prog.json, device_id=4)
    sw.add_port(1)
    sw.add_port(2)
    (srv,) = serve_many([sw], p4info=str(path))
    c = Client(srv.address, 4, election=1)
    try:
        cfg = get_dev(c, 4).config
        assert cfg.p4info == router_prog.p4info
        assert json.loads(cfg.p4_device_config) == router_prog.json
        c.write(*route(router_prog))
        sw.port(1).send(frame())
        assert len(sw.port(2).received) == 1
    finally:
        c.close()
        srv.stop(0)
    bad = router_prog.config().p4info
    bad.tables[0].match_fields[0].bitwidth = 7
    with pytest.raises(Exception, match="does not match"):
        serve_many([Switch(router_prog.json)], p4info=bad)


def get_dev(c: Client, device_id: int):
    return c.stub.GetForwardingPipelineConfig(
        p4runtime_pb2.GetForwardingPipelineConfigRequest(device_id=device_id)
    )


def test_one_server_several_devices(router_prog):
    from p4target.runtime import RuntimeServer

    srv = RuntimeServer("127.0.0.1:0")
    sws = [Switch(device_id=d) for d in (21, 22)]
    for sw in sws:
        sw.add_port(1)
        sw.add_port(2)
        srv.add_device(sw)
    with srv:
        clients = [Client(srv.address, d, election=1) for d in (21, 22)]
        try:
            clients[0].set_pipeline(router_prog)
            clients[0].write(*route(router_prog))
            with pytest.raises(grpc.RpcError) as exc:  # device 22 has no pipeline yet
                clients[1].write(*route(router_prog))
            assert exc.value.code() == C.FAILED_PRECONDITION
            sws[0].port(1).send(frame())
            assert len(sws[0].port(2).received) == 1
        finally:
            for c in clients:
                c.close()
