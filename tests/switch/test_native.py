"""The native engine (generated C): engine selection, refusals, the build cache, the control API
on native memory, batches, and a differential fuzzer of router.p4 against the Python engine."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import raw

from p4target.compiler import compile_file
from p4target.switch import LPM, ConfigError, Switch
from p4target.switch.native import native_available

pytestmark = pytest.mark.skipif(not native_available(), reason="no C compiler / cffi")

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def program(name: str) -> dict:
    path = ROOT / "p4src" / f"{name}.p4"
    if not path.exists():
        path = ROOT / "tests" / "p4" / f"{name}.p4"
    return compile_file(str(path), include_dirs=[str(ROOT / "tests" / "p4" / "include")]).json


def v4(dst: str = "10.1.2.3", ttl: int = 64, payload: bytes = b"hello") -> bytes:
    return raw(
        Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:aa")
        / IP(src="192.168.0.1", dst=dst, ttl=ttl)
        / UDP(sport=1000, dport=2000)
        / payload
    )


def router(engine: str, **kw) -> Switch:
    sw = Switch(program("router"), engine=engine, **kw)
    for n in range(4):
        sw.add_port(n)
    sw.table_add("ipv4_lpm", [LPM(0x0A000000, 8)], "set_nexthop", [1])
    sw.table_add("ipv6_lpm", [LPM(0x20010DB8 << 96, 32)], "set_nexthop", [2])
    sw.table_add("nexthop", [1], "forward", [2, 0x100, 2])
    sw.table_add("nexthop", [2], "forward", [3, 0x100, 3])
    return sw


def outputs(sw: Switch) -> dict[int, list[bytes]]:
    return {n: p.take() for n, p in sw.ports.items()}


def test_engine_selection_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CPN_P4_ENGINE", raising=False)
    assert Switch(program("router")).engine_name == "native"  # auto, a compiler is here
    assert Switch(program("router"), engine="python").engine_name == "python"
    monkeypatch.setenv("CPN_P4_ENGINE", "python")
    assert Switch(program("router")).engine_name == "python"
    assert Switch(program("router"), engine="native").engine_name == "native"
    with pytest.raises(ConfigError, match="unknown engine 'c'"):
        Switch(program("router"), engine="c")


def test_unsupported_program_is_refused_with_the_reason() -> None:
    prog = copy.deepcopy(program("router"))
    prog["calculations"][0]["algo"] = "xxh64"  # the Python engine has it, the native one not
    with pytest.raises(
        ConfigError, match="native engine cannot run this program: hash algorithm 'xxh64'"
    ):
        Switch(prog, engine="native")
    sw = Switch(prog, engine="auto")  # falling back is the caller's choice
    assert sw.engine_name == "python"


def test_library_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPN_P4_NATIVE_CACHE", str(tmp_path))
    a = Switch(program("router"), engine="native")
    libs = list(tmp_path.glob("p4_*.so"))
    assert len(libs) == 1 and not a._native.cached
    b = Switch(program("router"), engine="native")
    assert b._native.cached and list(tmp_path.glob("p4_*.so")) == libs


def test_forwarding_matches_python_and_counters_live_in_native_memory() -> None:
    py, nat = router("python"), router("native")
    frames = [v4(), v4(ttl=1), v4("11.0.0.1"), v4(payload=b"x" * 300), b"\x00" * 13]
    frames.append(raw(Ether(dst="00:00:00:00:00:01") / IPv6(dst="2001:db8::1", hlim=5) / UDP()))
    for sw in (py, nat):
        for f in frames:
            sw.receive(0, f)
    assert outputs(py) == outputs(nat)
    assert (
        nat.stats()["tx"]
        == py.stats()["tx"]
        == {
            2: {"packets": 2, "bytes": 2 * len(v4()) + 295},
            3: {"packets": 1, "bytes": 62},
        }
    )
    assert nat.stats()["drops"] == py.stats()["drops"] == {"ingress_drop": 3}
    out = nat.counter_read("port_counter", 0)
    assert out == py.counter_read("port_counter", 0) and out[0] == 6
    nat.counter_write("port_counter", 0, 100, 5000)
    nat.receive(0, v4())
    assert nat.counter_read("port_counter", 0) == (101, 5000 + len(v4()))
    nat.counter_reset("port_counter")
    assert nat.counter_read("port_counter", 0) == (0, 0)


def test_table_writes_take_effect_and_batches_roll_back() -> None:
    nat = router("native")
    h = nat.table_find("ipv4_lpm", [LPM(0x0A000000, 8)])
    nat.table_modify("ipv4_lpm", h, "set_nexthop", [2])
    nat.receive(0, v4())
    assert [len(x) for x in outputs(nat).values()] == [0, 0, 0, 1]  # now out of port 3
    with pytest.raises(RuntimeError), nat.batch():
        nat.table_delete("ipv4_lpm", h)
        nat.table_add("ipv4_lpm", [LPM(0x0B000000, 8)], "set_nexthop", [1])
        raise RuntimeError("undo")
    nat.receive(0, v4())
    nat.receive(0, v4("11.0.0.1"))
    assert [len(x) for x in outputs(nat).values()] == [0, 0, 0, 1]
    nat.table_delete("ipv4_lpm", h)
    nat.receive(0, v4())
    assert not any(outputs(nat).values())
    nat.table_set_default("nexthop", "forward", [7, 7, 1])
    nat.table_add("ipv4_lpm", [LPM(0x0A010000, 16)], "set_nexthop", [9])
    nat.receive(0, v4())
    assert outputs(nat)[1] and nat.table_get_default("nexthop")["params"] == [7, 7, 1]


def test_registers_on_native_memory() -> None:
    nat = Switch(program("cpn"), engine="native")
    name = "CpnIngress.flowlet.timeout_us"
    nat.register_write(name, 0, 1234)
    assert nat.register_read(name, 0) == 1234 and nat.register_read(name) == [1234]
    nat.register_write("CpnIngress.egw.flow_sig", None, 7)
    assert set(nat.register_read("CpnIngress.egw.flow_sig")) == {7}
    nat.register_reset("CpnIngress.egw.flow_sig")
    assert nat.register_read("CpnIngress.egw.flow_sig", 4095) == 0
    with pytest.raises(Exception, match="out of range"):
        nat.register_read(name, 1)


def test_batch_equals_one_by_one_including_queued_ports() -> None:
    py, nat = router("python"), router("native")
    for sw in (py, nat):
        sw.set_link_rate(3, 1e6)  # port 3 queues: the batch hands those packets to Python
    frames = [(0, v4(f"10.0.0.{i}")) for i in range(20)]
    frames += [
        (1, raw(Ether(dst="00:00:00:00:00:01") / IPv6(dst="2001:db8::1") / UDP() / (b"y" * i)))
        for i in range(5)
    ]
    frames += [(0, v4(ttl=1)), (2, b"junk")]
    for fr, p in frames:
        py.receive(fr, p)
    nat.receive_batch(frames)
    for sw in (py, nat):
        sw.run_until_idle()
    assert outputs(py) == outputs(nat)
    assert py.stats()["tx"] == nat.stats()["tx"] and py.stats()["rx"] == nat.stats()["rx"]
    assert py.stats()["queues"] == nat.stats()["queues"]


route = st.tuples(st.integers(0, 0xFFFFFFFF), st.integers(0, 32), st.integers(0, 3))
packet = st.one_of(
    st.tuples(st.integers(0, 0xFFFFFFFF), st.integers(0, 255), st.binary(max_size=40)).map(
        lambda t: v4(
            f"{t[0] >> 24}.{(t[0] >> 16) & 255}.{(t[0] >> 8) & 255}.{t[0] & 255}", t[1], t[2]
        )
    ),
    st.binary(max_size=80),
)


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.lists(route, max_size=12, unique_by=lambda r: (r[0] >> (32 - r[1]) if r[1] else 0, r[1])),
    st.lists(packet, min_size=1, max_size=12),
)
def test_router_engines_agree(routes, packets) -> None:
    sws = [Switch(program("router"), engine=e) for e in ("python", "native")]
    for sw in sws:
        for n in range(4):
            sw.add_port(n)
        for net, plen, nh in routes:
            mask = ((1 << plen) - 1) << (32 - plen)
            sw.table_add("ipv4_lpm", [LPM(net & mask, plen)], "set_nexthop", [nh])
        for nh in range(3):
            sw.table_add("nexthop", [nh], "forward", [nh + 0x10, 0x20, nh + 1])
    for i, p in enumerate(packets):
        for sw in sws:
            sw.receive(i % 4, p)
    assert outputs(sws[0]) == outputs(sws[1])
    assert [sw.counter_read("port_counter", i) for sw in sws for i in range(4)][:4] == [
        sws[1].counter_read("port_counter", i) for i in range(4)
    ]


STF_CASES = sorted((ROOT / "tests" / "p4").glob("*.stf"))


@pytest.mark.parametrize("engine", ["python", "native"])
@pytest.mark.parametrize("stf", STF_CASES, ids=[p.stem for p in STF_CASES])
def test_stf_suite_on_both_engines(stf: Path, engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from p4target.stf import run_stf

    monkeypatch.setenv("CPN_P4_ENGINE", engine)
    result = run_stf(stf, p4=stf.with_suffix(".p4"), include_dirs=[stf.parent], echo=lambda s: None)
    assert result.ok, f"{stf.name} ({engine}):\n{result.report()}"
