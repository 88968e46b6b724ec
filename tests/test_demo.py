"""`make demo` (p4target.demo) compiles p4src/ and routes its packets as it reports."""

import re

from p4target import demo


def test_demo_routes_and_drops(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "router.json").exists() and (tmp_path / "router.p4info.txtpb").exists()
    lines = {
        m.group(1).strip(): m.group(2) for m in re.finditer(r"in port \d: (.{30}) => (.*)", out)
    }
    assert lines["IPv4 to 10.0.1.5"].startswith(
        "out port 1: 00:00:00:00:00:fe -> 00:00:00:00:01:01"
    )
    assert "ttl=63 checksum ok" in lines["IPv4 to 10.0.1.5"]
    assert (
        lines["IPv4 to 10.0.2.7"].startswith("out port 2:") and "ttl=8" in lines["IPv4 to 10.0.2.7"]
    )
    assert lines["IPv4 to 10.7.7.7 (/8)"].startswith("out port 3:")
    assert lines["IPv6 to 2001:db8:1::42"].endswith("hlim=4")
    for dropped in ("IPv4 with TTL 1", "IPv4 to 192.0.2.1 (no route)", "truncated IPv4 (10 bytes)"):
        assert lines[dropped] == "dropped"
