"""The operator interface: the controller's HTTP API driven through the CLI (``main([...])``).

One controller over an in-process line network (``controlplane/examples/line4.json``, embedded
switches behind real P4Runtime servers) serves the API on a free loopback port; every check
reads the switches back through separate backup P4Runtime sessions (election id below the
controller's), so what the CLI reports is compared with what the switches hold.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from controlplane.api import ApiServer
from controlplane.cli import main
from controlplane.controller import Controller, StepReport
from controlplane.entries import ip6
from controlplane.netdesc import load
from controlplane.p4rt import P4RuntimeClient, WriteError
from controlplane.registry import classify_entry
from controlplane.swap import VERSION_REGISTER
from topo.emunet import InProcessNetwork

CONTROLLER_ELECTION_ID = 10
READER_ELECTION_ID = 5
CLASSIFY = "CpnIngress.aisid.classify"
NEW_AISID = "2001:db8:abcd:12:3:1:1:5"  # object 3, function 1, method 1, performance 5


@dataclass
class Rig:
    net: InProcessNetwork
    ctl: Controller
    api: str
    readers: dict[str, P4RuntimeClient]

    def entries(self, switch: str, table: str | None = None) -> set:
        return set(self.readers[switch].read_entries(table))

    def snapshot(self) -> tuple:
        """Everything an operator command could change: switches' entries and version
        registers, the controller's status and the registry."""
        held = {n: frozenset(self.entries(n)) for n in self.readers}
        regs = {
            n: self.readers[n].read_register(VERSION_REGISTER, 0) for n in self.ctl.ingress_gateways
        }
        return held, regs, ok("status", api=self.api), ok("aisid", "list", api=self.api)


def cli(*args: str, api: str | None = None) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit status, stdout, stderr)."""
    argv = [*args, "--api", api] if api else list(args)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse
            rc = int(e.code or 0)
    return rc, out.getvalue(), err.getvalue()


def ok(*args: str, api: str) -> object:
    """A client command with ``--json`` that must succeed: its JSON."""
    rc, out, err = cli(*args, "--json", api=api)
    assert rc == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    nd = load("controlplane/examples/line4.json")
    for s in nd.switches:
        s.address = "127.0.0.1:0"
    with InProcessNetwork(nd, seed=1) as net:
        ctl = Controller(
            net.description,
            policy="base1",
            clock=net.controller_clock(),
            state_dir=tmp_path_factory.mktemp("ctl"),
            election_id=CONTROLLER_ELECTION_ID,
        )
        ctl.start()
        server = ApiServer(ctl, "127.0.0.1:0")
        addr = server.start()
        readers = {}
        try:
            for s in net.description.switches:
                c = P4RuntimeClient(s.address, s.device_id, READER_ELECTION_ID)
                c.connect()
                assert not c.is_primary
                readers[s.name] = c
            yield Rig(net, ctl, addr, readers)
        finally:
            for c in readers.values():
                c.close()
            server.stop()
            ctl.stop()


def test_status_reports_what_the_switches_hold(rig: Rig) -> None:
    st = ok("status", api=rig.api)
    assert st["network"] == "line4"
    assert st["version"] == rig.ctl.version
    assert set(st["switches"]) == {"igw", "t2", "t3", "egw"}
    for name, sw in st["switches"].items():
        assert sw["state"] == "ready"
        held = Counter(e.table for e in rig.entries(name))
        assert sw["entries"] == dict(held), name
    assert st["switches"]["igw"]["role"] == "ingress_gateway"
    assert st["switches"]["egw"]["entries"][CLASSIFY] == len(rig.ctl.registry.services())

    rc, out, err = cli("status", api=rig.api)
    assert rc == 0 and err == ""
    assert out.splitlines()[0] == (
        f"network line4: policy {st['policy']} (version {st['version']}), {st['swaps']} swaps"
    )
    for name in st["switches"]:
        n = sum(st["switches"][name]["entries"].values())
        assert any(line.split()[:4] == [name, st["switches"][name]["role"], "ready", str(n)]
                   for line in out.splitlines()), out  # fmt: skip
    assert "routing.ipv6_routes 5" in out


def test_swap_flips_the_version_everywhere(rig: Rig) -> None:
    before = ok("status", api=rig.api)
    target = "base2" if before["policy"] != "base2" else "base1"
    rep = ok("swap", "--policy", target, api=rig.api)
    old, new = before["version"], before["version"] + 1
    assert (rep["old_version"], rep["new_version"], rep["version"]) == (old, new, new)
    assert rep["stages"] == ["prepared", "flipped", "done"]
    assert rep["entries_written"] == rep["entries_deleted"] > 0
    after = ok("status", api=rig.api)
    assert (after["policy"], after["version"], after["swaps"]) == (target, new, before["swaps"] + 1)
    assert rig.readers["igw"].read_register(VERSION_REGISTER, 0) == {0: new}
    for name in rig.readers:  # version v was deleted once drained: every versioned entry is v+1
        versions = {e.version() for e in rig.entries(name)} - {None}
        assert versions <= {new}, (name, versions)
    assert any(r["new_version"] == new and r["stage"] == "done" for r in ok("swaps", api=rig.api))
    assert any(f"swapped to {target}: version {old} -> {new}" in e["event"]
               for e in ok("events", api=rig.api))  # fmt: skip

    rc, out, _ = cli("swap", "--policy", "base1", api=rig.api)
    assert rc == 0 and out.startswith(f"version {new} -> {new + 1}: ")


def _classify_expected(rig: Rig, switch: str) -> set:
    idx = rig.readers[switch].p4info_index()
    v = rig.ctl.version
    return {idx.canonical(classify_entry(v, r)) for r in rig.ctl.registry.services()}


def test_aisid_lifecycle_reaches_the_gateways(rig: Rig) -> None:
    rec = ok(
        "aisid", "register", "--name", "vision", "--aisid", NEW_AISID, "--site", "site4",
        api=rig.api,
    )  # fmt: skip
    assert (rec["name"], rec["aisid"], rec["site"], rec["state"]) == (
        "vision",
        NEW_AISID,
        "site4",
        "active",
    )
    assert rec["entries_written"] > 0
    sid = rec["service_id"]
    for gw in ("igw", "egw"):
        got = rig.entries(gw, CLASSIFY)
        assert got == _classify_expected(rig, gw)
        assert sid in {e.params_dict["service_id"] for e in got}
    assert rig.entries("t2", CLASSIFY) == set()
    # the new service has a site decision too (not only a classification)
    assert any(
        e.match_dict["service_id"].value == sid
        for e in rig.entries("igw", "CpnIngress.flowlet.service_site")
    )

    assert ok("aisid", "query", "vision", api=rig.api)["service_id"] == sid
    assert ok("aisid", "query", NEW_AISID, api=rig.api)["name"] == "vision"
    assert "vision" in {r["name"] for r in ok("aisid", "list", api=rig.api)}
    rc, out, _ = cli("aisid", "query", "vision", api=rig.api)
    assert rc == 0 and f"service_id={sid}" in out and "state=active" in out

    moved = ok("aisid", "migrate", "vision", "--site", "site4", "--nodes", "2", api=rig.api)
    assert (moved["nodes"], moved["state"]) == ([2], "active")
    nodes = [
        e for e in rig.entries("egw", "CpnIngress.egw.service_nodes")
        if e.match_dict["service_id"].value == sid
    ]  # fmt: skip
    assert len(nodes) == 1
    p = nodes[0].params_dict
    assert {p[f"node_{i}"] for i in range(8) if p[f"weight_{i}"] > 0} == {2}, p

    gone = ok("aisid", "decommission", NEW_AISID, api=rig.api)
    assert gone["state"] == "decommissioned"
    for gw in ("igw", "egw"):
        assert sid not in {e.params_dict["service_id"] for e in rig.entries(gw, CLASSIFY)}
        assert rig.entries(gw, CLASSIFY) == _classify_expected(rig, gw)
    rc, _, err = cli("aisid", "query", "vision", api=rig.api)
    assert rc == 1 and err == "error: 404: no service 'vision'\n"
    events = [e["event"] for e in ok("events", api=rig.api)]
    assert any(e.startswith("registered vision (") for e in events)
    assert any(e.startswith("migrating vision to site4 nodes [2]") for e in events)
    assert any(e.startswith("migrated vision: site4 drained") for e in events)
    assert any(
        e.startswith(f"decommissioned vision ({NEW_AISID}), service id {sid}") for e in events
    )


BAD = [
    pytest.param(
        ["aisid", "register", "--name", "x", "--aisid", "2001:db8:ffff:12:3:1:1:5", "--site", "site4"],
        "error: 400: aisid: 2001:db8:ffff:12:3:1:1:5 is not in any AISID prefix of the network",
        id="aisid-out-of-prefix",
    ),
    pytest.param(
        ["aisid", "register", "--name", "x", "--aisid", "2001:db8:abcd:12:zz::1", "--site", "site4"],
        "error: 400: aisid: '2001:db8:abcd:12:zz::1' is not an IPv6 address",
        id="aisid-malformed",
    ),
    pytest.param(
        ["aisid", "register", "--name", "x", "--aisid", "2001:db8:abcd:12:1:2:1:1388", "--site", "site4"],
        "error: 400: aisid: 2001:db8:abcd:12:1:2:1:1388 is already registered (service 'svc7'",
        id="aisid-duplicate",
    ),
    pytest.param(
        ["aisid", "register", "--name", "svc7", "--aisid", "2001:db8:abcd:12:3:1:1:6", "--site", "site4"],
        "error: 400: name: ",
        id="name-duplicate",
    ),
    pytest.param(
        ["aisid", "register", "--name", "x", "--aisid", "2001:db8:abcd:12:3:1:1:6", "--site", "mars"],
        "error: 400: site: no site 'mars' (sites: site4)",
        id="unknown-site",
    ),
    pytest.param(
        ["aisid", "register", "--name", "x", "--aisid", "2001:db8:abcd:12:3:1:1:6", "--site", "site4",
         "--nodes", "9"],
        "error: 400: nodes: ",
        id="unknown-node",
    ),
    pytest.param(
        ["aisid", "migrate", "nosuch", "--site", "site4"],
        "error: 400: service: no registered service 'nosuch'",
        id="migrate-unknown",
    ),
    pytest.param(
        ["aisid", "decommission", "nosuch"],
        "error: 400: service: no registered service 'nosuch'",
        id="decommission-unknown",
    ),
    pytest.param(
        ["swap", "--policy", "nosuch"],
        "error: 400: unknown policy 'nosuch': names are rlmscpn",
        id="unknown-policy",
    ),
    pytest.param(
        ["swap", "--policy", "/nonexistent/checkpoint.pt"],
        "error: 400: unknown policy '/nonexistent/checkpoint.pt'",
        id="missing-checkpoint",
    ),
    pytest.param(
        ["aisid", "register", "--name", "x"],
        "error: register needs --aisid, --site",
        id="register-missing-fields",
    ),
    pytest.param(["telemetry", "--last", "0"], "error: --last must be >= 1", id="bad-last"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_input_is_refused_and_changes_nothing(rig: Rig, argv: list[str], message: str) -> None:
    before = rig.snapshot()
    for extra in ([], ["--json"]):
        rc, out, err = cli(*argv, *extra, api=rig.api)
        assert rc == 1, (out, err)
        assert out == ""
        assert err.startswith(message), err
        assert err.count("\n") == 1
    assert rig.snapshot() == before


def test_register_refused_by_a_switch_is_taken_out_again(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The egress gateway refuses the new classification after the ingress gateway took it:
    503 with the switch's message, the service is not live, every switch as before."""
    before = {n: rig.entries(n) for n in rig.readers}
    live = [r["name"] for r in ok("aisid", "list", api=rig.api) if r["state"] != "decommissioned"]
    client = rig.ctl.connections["egw"].client
    real = client.write

    def refuse(updates, *, atomicity="CONTINUE_ON_ERROR"):
        if any(getattr(e, "table", "") == CLASSIFY for _, e in updates):
            raise WriteError([(0, "RESOURCE_EXHAUSTED", "table is full")], updates)
        return real(updates, atomicity=atomicity)

    monkeypatch.setattr(client, "write", refuse)
    rc, out, err = cli(
        "aisid", "register", "--name", "late", "--aisid", "2001:db8:abcd:12:3:1:1:7",
        "--site", "site4", api=rig.api,
    )  # fmt: skip
    monkeypatch.undo()
    assert (rc, out) == (1, "")
    assert err.startswith(
        "error: 503: switch: update 0 (insert): RESOURCE_EXHAUSTED: table is full"
    )
    assert {n: rig.entries(n) for n in rig.readers} == before
    after = ok("aisid", "list", api=rig.api)
    assert [r["name"] for r in after if r["state"] != "decommissioned"] == live
    assert cli("aisid", "query", "late", api=rig.api)[0] == 1
    assert any(
        e["event"].startswith("register late refused by the switches, taken out again: ")
        for e in ok("events", api=rig.api)
    )


def test_paths_telemetry_events(rig: Rig) -> None:
    paths = ok("paths", api=rig.api)
    assert list(paths) == ["igw->site4"]
    (p,) = paths["igw->site4"]["paths"]
    assert p["nodes"] == ["igw", "t2", "t3", "egw"] and p["delay_us"] == 30.0
    assert paths["igw->site4"]["split"] == [1.0]
    # the SIDs the CLI shows are the ones the ingress gateway encapsulates with
    encap = rig.entries("igw", "CpnIngress.srv6_encap.paths")
    assert len(encap) == 4  # path ids 0..3: the one path, repeated for flows kept on it
    assert {e.params_dict["s1"] for e in encap} == {ip6(p["segments"][0])}
    rc, out, _ = cli("paths", api=rig.api)
    assert rc == 0
    assert out.splitlines() == [
        "igw->site4",
        f"  path 0 share 1.00 delay 0.030 ms: igw > t2 > t3 > egw  segments {p['segments'][0]}",
    ]

    rig.ctl.step()  # one more poll: the telemetry series has at least two snapshots
    tel = ok("telemetry", "--last", "2", api=rig.api)
    assert tel["network"] == "line4" and len(tel["snapshots"]) == 2
    assert {"igw>1", "igw>2", "egw>3"} <= set(tel["snapshots"][-1]["ports"])
    assert len(ok("telemetry", api=rig.api)["snapshots"]) == 1
    rc, out, _ = cli("telemetry", api=rig.api)
    assert rc == 0 and out.startswith("network line4: t=") and "port igw>1" in out

    events = ok("events", api=rig.api)
    assert events[0]["event"].startswith("registered svc7")
    assert any(e["event"].startswith("started: policy base1 version 1, ") for e in events)
    rc, out, _ = cli("events", api=rig.api)
    assert rc == 0 and len(out.splitlines()) == len(events)


@pytest.mark.parametrize(
    "argv",
    [["status"], ["swaps"], ["paths"], ["telemetry"], ["events"], ["aisid", "list"],
     ["aisid", "query", "svc8"]],
)  # fmt: skip
def test_json_on_every_client_command(rig: Rig, argv: list[str]) -> None:
    rc, out, err = cli(*argv, "--json", api=rig.api)
    assert rc == 0 and err == ""
    assert isinstance(json.loads(out), dict | list)


def test_no_api_running_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        rc, out, err = cli("status", api=f"127.0.0.1:{port}")
    assert rc == 1 and out == ""
    assert err.startswith(f"error: no controller API at 127.0.0.1:{port}: ")
    assert "python -m controlplane run" in err


def test_swap_through_the_api_while_the_main_thread_runs_the_network(rig: Rig) -> None:
    """The swap's drain waits on the virtual clock: while the main thread runs the network
    (stepping the controller from a network callback), the API thread must wait for the clock
    instead of running the network itself, and the step must not block on the swap's lock."""
    before = ok("status", api=rig.api)
    steps: list[StepReport] = []
    stepper = rig.net.every(0.002, lambda: steps.append(rig.ctl.step()))
    result: list[tuple[int, str, str]] = []
    t = threading.Thread(target=lambda: result.append(cli("swap", "--policy", "base3", "--json",
                                                          api=rig.api)))  # fmt: skip
    t.start()
    deadline = time.monotonic() + 60
    try:
        while t.is_alive() and time.monotonic() < deadline:
            rig.net.run_for(0.001)
    finally:
        stepper.cancel()
        t.join(timeout=60)
    (rc, out, err) = result[0]
    assert rc == 0, err
    rep = json.loads(out)
    assert rep["new_version"] == before["version"] + 1
    assert rep["stages"] == ["prepared", "flipped", "done"]
    assert rig.readers["igw"].read_register(VERSION_REGISTER, 0) == {0: rep["new_version"]}
    # intervals due while the swap held the controller were skipped, not deadlocked
    assert any(s.skipped == "swap in progress" for s in steps), steps
    assert any(not s.skipped for s in steps)


def test_api_address_in_use_is_a_clear_error(rig: Rig) -> None:
    msg = f"API server cannot listen on {rig.api}: Address already in use"
    with pytest.raises(RuntimeError, match=msg):
        ApiServer(rig.ctl, rig.api).start()
    assert ok("status", api=rig.api)["network"] == "line4"  # the running API is unharmed
