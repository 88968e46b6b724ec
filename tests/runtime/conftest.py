"""Fixtures of the P4Runtime server tests: the test programs (compiled once per session), a
switch served on a free loopback port, a primary hand-made-proto client, p4runtime-shell."""

from __future__ import annotations

import pytest
from rt_harness import CPU_PORT, P4DIR, ROOT, Client, compile_program

from p4target.runtime import serve
from p4target.switch import Switch


@pytest.fixture(scope="session")
def rt_prog(tmp_path_factory):
    return compile_program(P4DIR / "rt_features.p4", tmp_path_factory.mktemp("rt"))


@pytest.fixture(scope="session")
def router_prog(tmp_path_factory):
    return compile_program(ROOT / "p4src" / "router.p4", tmp_path_factory.mktemp("router"))


@pytest.fixture
def switch():
    sw = Switch(cpu_port=CPU_PORT, device_id=1, seed=1)
    for p in (1, 2, 3, 4):
        sw.add_port(p)
    yield sw
    sw.close()


@pytest.fixture
def server(switch):
    srv = serve(switch, "127.0.0.1:0", device_id=1)
    yield srv
    srv.stop(0)


@pytest.fixture
def client(server, rt_prog):
    """Primary client (election id 1) with rt_features.p4 committed."""
    c = Client(server.address, 1, election=1)
    c.set_pipeline(rt_prog)
    yield c
    c.close()


@pytest.fixture
def shell(server):
    """p4runtime-shell (global state): call ``shell(prog)`` to set it up; torn down after."""
    import p4runtime_sh.shell as sh

    done = []

    def setup(prog, election=(0, 1)):
        sh.setup(
            device_id=1,
            grpc_addr=server.address,
            election_id=election,
            config=sh.FwdPipeConfig(str(prog.p4info_path), str(prog.json_path)),
            verbose=False,
        )
        done.append(True)
        return sh

    yield setup
    if done:
        sh.teardown()
