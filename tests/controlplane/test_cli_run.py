"""``python -m controlplane run`` end to end, as real processes.

Four switches run as separate processes (in memory, no interfaces): ``python -m p4target.switch
--no-p4``, and, when ``simple_switch_grpc`` is on PATH, the same test again on real BMv2
(``simple_switch_grpc --no-p4``; skipped with that reason otherwise), at the addresses of a temporary copy of ``line4.json``; the controller
runs as a subprocess, the CLI talks to its HTTP API. The controller is stopped with SIGTERM and
started again on the same state directory: it must keep the switches' state (pipeline kept,
nothing written), the policy version and the AISID registry.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from embedded_switch import free_address

from controlplane.cli import ApiError, call
from controlplane.netdesc import load
from controlplane.p4rt import P4RuntimeClient
from controlplane.swap import VERSION_REGISTER

ROOT = Path(__file__).resolve().parents[2]
CONTROLLER_ELECTION_ID = 10
NEW_AISID = "2001:db8:abcd:12:3:1:1:5"


def until(what: str, fn: Callable[[], Any], timeout_s: float, proc: subprocess.Popen, log: Path):
    """Poll ``fn`` until it returns something true; fail naming ``what`` with the log's tail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"controller exited ({proc.returncode}) before {what}:\n{_tail(log)}")
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    pytest.fail(f"no {what} after {timeout_s} s:\n{_tail(log)}")


def _tail(log: Path, n: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:])


def _status(api: str) -> dict | None:
    try:
        return call(api, "GET", "/status")
    except ApiError:
        return None


def _cli(api: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "controlplane", *args, "--api", api],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _switch_command(target: str, address: str, device_id: int) -> list[str]:
    if target == "bmv2":  # simple_switch_grpc's own options, then the target's after "--"
        thrift = free_address().rpartition(":")[2]
        return ["simple_switch_grpc", "--no-p4", "--device-id", str(device_id),
                "--thrift-port", thrift, "--", "--grpc-server-addr", address,
                "--cpu-port", "255", "--priority-queues", "8"]  # fmt: skip
    return [sys.executable, "-m", "p4target.switch", "--no-p4",
            "--grpc-server-addr", address, "--device-id", str(device_id),
            "--cpu-port", "255", "--priority-queues", "8"]  # fmt: skip


@pytest.fixture(params=["embedded", "bmv2"])
def switches(request, tmp_path: Path) -> Iterator[tuple[Path, list]]:
    """line4.json at free ports, each switch a process; yields (network file, descriptions)."""
    if request.param == "bmv2" and shutil.which("simple_switch_grpc") is None:
        pytest.skip("simple_switch_grpc is not on PATH: the real-BMv2 run needs it")
    nd = load(ROOT / "controlplane/examples/line4.json")
    procs = []
    try:
        for s in nd.switches:
            s.address = free_address()
            with open(tmp_path / f"{s.name}.log", "w") as err:  # the child keeps its own copy
                procs.append(
                    subprocess.Popen(
                        _switch_command(request.param, s.address, s.device_id),
                        cwd=ROOT,
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                    )
                )  # fmt: skip
        net_file = tmp_path / "line4.json"
        nd.save(net_file)
        yield net_file, nd.switches
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def _start(net_file: Path, api: str, state: Path, log: Path, policy: str) -> subprocess.Popen:
    with open(log, "w") as err:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "controlplane", "run", "--network", str(net_file),
             "--policy", policy, "--api", api, "--state-dir", str(state),
             "--election-id", str(CONTROLLER_ELECTION_ID)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _held(sw_descs: list) -> dict[str, frozenset]:
    """Every switch's entries, read by a backup session (election id below the controller's)."""
    out = {}
    for s in sw_descs:
        c = P4RuntimeClient(s.address, s.device_id, CONTROLLER_ELECTION_ID - 1)
        c.connect()
        try:
            assert not c.is_primary
            out[s.name] = frozenset(c.read_entries())
            out[s.name + ".version"] = frozenset(c.read_register(VERSION_REGISTER, 0).items())
        finally:
            c.close()
    return out


def test_run_swap_register_restart_reconciles(switches, tmp_path: Path) -> None:
    net_file, sw_descs = switches
    api, state = free_address(), tmp_path / "state"
    log1, log2 = tmp_path / "ctl1.log", tmp_path / "ctl2.log"

    ctl = _start(net_file, api, state, log1, "base1")
    try:
        st = until("API with every switch ready", lambda: _status(api), 40, ctl, log1)
        assert {n: s["state"] for n, s in st["switches"].items()} == dict.fromkeys(
            ("igw", "t2", "t3", "egw"), "ready"
        )
        assert (st["policy"], st["version"]) == ("base1", 1)

        r = _cli(api, "swap", "--policy", "base2")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("version 1 -> 2: ")
        r = _cli(api, "aisid", "register", "--name", "vision", "--aisid", NEW_AISID,
                 "--site", "site4")  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert "name=vision" in r.stdout and "state=active" in r.stdout
        sid = call(api, "GET", "/aisid/vision")["service_id"]
        held_before = _held(sw_descs)
        assert dict(held_before["igw.version"]) == {0: 2}
    finally:
        rc = _stop(ctl)
    text = log1.read_text()
    assert rc == 0, _tail(log1)
    # one readable line per action
    for name in ("igw", "t2", "t3", "egw"):
        assert f"INFO controlplane.connection: {name}: connecting -> ready" in text
    assert text.count("pipeline VERIFY_AND_COMMIT") == 4
    assert "controlplane: started: policy base1 version 1, " in text
    assert "controlplane: swapped to base2: version 1 -> 2, " in text
    assert (
        f"controlplane: registered vision ({NEW_AISID}) at site4 nodes all, service id {sid}"
        in text
    )
    assert "controlplane: stopped (the switches keep their state)" in text
    assert all(" INFO " in ln or " WARNING " in ln for ln in text.splitlines()), text

    # the same state dir: pipeline kept, nothing written, registry and version kept
    ctl = _start(net_file, api, state, log2, "base1")
    try:
        st = until("API after the restart", lambda: _status(api), 40, ctl, log2)
        assert (st["policy"], st["version"]) == ("base2", 2)
        assert all(s["state"] == "ready" for s in st["switches"].values())
        events = [e["event"] for e in call(api, "GET", "/events")]
        started = [e for e in events if e.startswith("started:")]
        assert len(started) == 1
        assert started[0].startswith(
            "started: policy base2 version 2, reconciled with the switches' state, nothing written"
        ), started
        assert not any(e.startswith("registered ") for e in events)  # registry kept as it was
        rec = call(api, "GET", "/aisid/" + NEW_AISID)
        assert (rec["name"], rec["service_id"], rec["state"]) == ("vision", sid, "active")
        assert _held(sw_descs) == held_before
    finally:
        rc = _stop(ctl)
    text = log2.read_text()
    assert rc == 0, _tail(log2)
    assert text.count("matches, keeping the switch's state") == 4
    assert "pipeline VERIFY_AND_COMMIT" not in text
    assert "synced:" not in text
    assert "policy base2 (version 2) from the state dir" in text


def test_run_refuses_a_bad_network_file(tmp_path: Path) -> None:
    import json

    data = json.loads((ROOT / "controlplane/examples/line4.json").read_text())
    data["switches"][1]["role"] = "bogus"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    r = subprocess.run(
        [sys.executable, "-m", "controlplane", "run", "--network", str(bad),
         "--state-dir", str(tmp_path / "state")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr == (
        f"error: {bad}: switches[1].role: 'bogus' is not one of 'ingress_gateway', 'transit', "
        "'egress_gateway'\n"
    )
    assert not (tmp_path / "state").exists()  # nothing created


def test_run_with_the_switches_down_exits_with_a_clear_error(tmp_path: Path) -> None:
    nd = load(ROOT / "controlplane/examples/line4.json")
    for s in nd.switches:
        s.address = free_address()  # nothing listens there
    net_file = tmp_path / "line4.json"
    nd.save(net_file)
    r = subprocess.run(
        [sys.executable, "-m", "controlplane", "run", "--network", str(net_file),
         "--state-dir", str(tmp_path / "state"), "--api", "127.0.0.1:0",
         "--connect-timeout", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    errors = [ln for ln in r.stderr.splitlines() if " ERROR " in ln]
    assert len(errors) == 1, r.stderr
    assert "ERROR controlplane: switches not ready after 0.5 s: igw at " in errors[0]
    for s in nd.switches:
        assert f"{s.name} at {s.address} (" in errors[0]
    assert errors[0].count("cannot connect") == 4
