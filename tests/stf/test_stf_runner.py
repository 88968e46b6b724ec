"""The STF runner: parsing, value syntax, the embedded target, diffs and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from p4target.stf import StfError, StfSyntaxError, parse_stf, run_stf
from p4target.stf.bmv2 import bmv2_available
from p4target.stf.values import key_value, resolve_key, resolve_name
from p4target.switch import LPM, Exact, Optional, Range, Ternary
from p4target.switch.matchkeys import KeySpec

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "bmv2"
ROUTER_JSON = FIX / "router.json"
ROUTER_STF = FIX / "router.stf"


def test_parse_add_with_priority_keys_action_and_id() -> None:
    (c,) = parse_stf("add tbl 10 h.f:0x0a&&&0xff  hdr.g :5 act(p:1, q: 0x2) = A  # comment\n")
    assert (c.name, c.table, c.priority, c.action, c.entry_id) == ("add", "tbl", 10, "act", "A")
    assert c.keys == [("h.f", "0x0a&&&0xff"), ("hdr.g", "5")]
    assert c.params == [("p", "1"), ("q", "0x2")]


def test_parse_packet_and_expect() -> None:
    cmds = parse_stf("packet 2 0011 2233\nexpect 3 00** 22 $\nexpect 4\n\n# only a comment\nwait\n")
    assert [c.name for c in cmds] == ["packet", "expect", "expect", "wait"]
    assert cmds[0].port == 2 and cmds[0].data == "00112233"
    assert cmds[1].data == "00**22" and cmds[1].exact_len
    assert cmds[2].data is None


def test_lone_last_nibble_is_a_byte_of_its_own() -> None:
    # p4c's driver converts nibble pairs to bytes and a trailing lone nibble to one more byte
    (c,) = parse_stf("packet 1 0a 12 7\n")
    assert bytes.fromhex(c.data) == b"\x0a\x12\x07"


@pytest.mark.parametrize(
    "text,err",
    [
        ("add tbl h.f:1", "action call"),
        ("packet x 00", "port number"),
        ("packet 1 0g", "bad packet data"),
        ("frobnicate 1", "unknown STF command"),
        ("add tbl h.f:1 act(p)", "NAME:VALUE"),
    ],
)
def test_parse_errors_name_the_line(text: str, err: str) -> None:
    with pytest.raises(StfSyntaxError, match=err) as exc:
        parse_stf("wait\n" + text + "\n", "x.stf")
    assert "x.stf:2" in str(exc.value)


def test_key_values_follow_p4c_conventions() -> None:
    tern = KeySpec("f", "h.f", "ternary", 16)
    assert key_value("0x08**", tern) == Ternary(0x0800, 0xFF00)
    assert key_value("0x0800&&&0xf000", tern) == Ternary(0x0000, 0xF000)
    assert key_value("0x0a", tern) == Ternary(0x0A, 0xFF)  # p4c: one mask nibble per digit
    assert key_value("2048", tern) == Ternary(2048, 0xFFFF)
    assert key_value("0b1*0*", tern) == Ternary(0b1000, 0b1010)
    lpm = KeySpec("a", "h.a", "lpm", 32)
    assert key_value("10.0.0.0/8", lpm) == LPM(0x0A000000, 8)
    assert key_value("0x0a******", lpm) == LPM(0x0A000000, 8)
    assert key_value("0x0a0b0c0d", lpm) == LPM(0x0A0B0C0D, 32)
    assert key_value("0x0a0b0c0d/16", lpm) == LPM(0x0A0B0000, 16)  # masked like BMv2's CLI
    rng = KeySpec("r", "h.r", "range", 16)
    assert key_value("1->10", rng) == Range(1, 10)
    assert key_value("0x10..0x20", rng) == Range(16, 32)
    assert key_value("7", rng) == Range(7, 7)
    ex = KeySpec("e", "h.e", "exact", 48)
    assert key_value("00:11:22:33:44:55", ex) == Exact(0x001122334455)
    assert key_value("*", KeySpec("o", "h.o", "optional", 8)) == Optional(None)
    with pytest.raises(StfError):
        key_value("1->2", ex)


def test_name_resolution() -> None:
    names = ["MyIngress.ipv4_lpm", "MyIngress.acl", "MyEgress.acl"]
    assert resolve_name("table", "ipv4_lpm", names) == "MyIngress.ipv4_lpm"
    assert resolve_name("table", "MyEgress.acl", names) == "MyEgress.acl"
    with pytest.raises(StfError, match="ambiguous"):
        resolve_name("table", "acl", names)
    keys = [
        KeySpec("hdr.ipv4.dstAddr", "ipv4.dstAddr", "lpm", 32),
        KeySpec("hdr.s[1].x", "s[1].x", "exact", 8),
        KeySpec("hdr.v.$valid$", "v.$valid$", "exact", 1),
    ]
    assert resolve_key("dstAddr", keys) == 0
    assert resolve_key("ipv4.dstAddr", keys) == 0
    assert resolve_key("hdr.s$1.x", keys) == 1
    assert resolve_key("hdr.v.valid", keys) == 2
    assert resolve_key("hdr.v", keys) == 2


def test_router_fixture_passes_in_process() -> None:
    result = run_stf(ROUTER_STF, json=ROUTER_JSON, echo=lambda s: None)
    assert result.ok, result.report()
    assert sorted(result.outputs) == [0, 2, 3]


def test_wrong_expectation_gives_a_readable_diff(tmp_path: Path) -> None:
    text = ROUTER_STF.read_text().replace("3f11ae21", "3f11ae22")
    stf = tmp_path / "bad.stf"
    stf.write_text(text)
    result = run_stf(stf, json=ROUTER_JSON, echo=lambda s: None)
    assert not result.ok
    (msg,) = result.mismatches
    assert "port 2: packet #0" in msg and "differs at byte 25" in msg
    assert "expected" in msg and "received" in msg and "^" in msg


def test_missing_and_unexpected_packets_are_reported(tmp_path: Path) -> None:
    lines = ROUTER_STF.read_text().splitlines()
    lines.append("packet 1 ffffffffffff 000000000002 0806 0001080006040001")  # a 2nd ARP, to port 0
    lines.append("expect 7 00")
    stf = tmp_path / "x.stf"
    stf.write_text("\n".join(lines) + "\n")
    result = run_stf(stf, json=ROUTER_JSON, echo=lambda s: None)
    text = result.report()
    assert "port 0: unexpected packet #1" in text
    assert "port 7: expected packet #0" in text and "was not received" in text


def test_ports_the_test_never_names_are_not_watched(tmp_path: Path) -> None:
    # as with p4c's driver, simple_switch only has the ports named by packet/expect lines:
    # the ARP frame goes to port 0, which this test does not name, so nothing is compared there
    lines = [ln for ln in ROUTER_STF.read_text().splitlines() if not ln.startswith("expect 0")]
    stf = tmp_path / "x.stf"
    stf.write_text("\n".join(lines) + "\n")
    result = run_stf(stf, json=ROUTER_JSON, echo=lambda s: None)
    assert result.ok, result.report()
    assert any("port 0 is not part of the test: 1 packet" in ln for ln in result.log)
    assert len(result.outputs[0]) == 1


def test_bad_command_reports_the_line(tmp_path: Path) -> None:
    stf = tmp_path / "x.stf"
    stf.write_text("add ipv4_lpm dstAddr:10.0.0.0/8 nosuch_action()\n")
    result = run_stf(stf, json=ROUTER_JSON, echo=lambda s: None)
    assert not result.ok and "line 1" in result.report() and "nosuch_action" in result.report()


def test_cli_exit_codes(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "p4target.stf", *args], capture_output=True, text=True, cwd=ROOT
        )

    ok = run("--json", str(ROUTER_JSON), str(ROUTER_STF))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tmp_path / "bad.stf"
    bad.write_text(ROUTER_STF.read_text().replace("expect 2 0000000000aa", "expect 2 0000000000ab"))
    fail = run("--json", str(ROUTER_JSON), str(bad))
    assert fail.returncode == 1 and "FAIL" in fail.stdout and "^" in fail.stdout
    missing = run("--json", str(tmp_path / "nope.json"), str(ROUTER_STF))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"headers": [{"name": "h", "header_type": "nope"}]}))
    cfg = run("--json", str(broken), str(ROUTER_STF))
    assert cfg.returncode == 2 and "unknown header type" in cfg.stderr


@pytest.mark.skipif(bmv2_available() is not None, reason=str(bmv2_available()))
def test_router_fixture_on_real_bmv2() -> None:  # pragma: no cover - needs BMv2
    result = run_stf(ROUTER_STF, json=ROUTER_JSON, target="bmv2", echo=lambda s: None)
    assert result.ok, result.report()
