"""`make demo`: compile p4src/ and run a real program on the embedded switch.

Compiles every ``p4src/*.p4`` (real ``p4c-bm2-ss`` when on PATH, else the embedded compiler),
loads ``router.p4``'s BMv2 JSON into an embedded v1model switch, installs routes through the
switch's control API, sends Scapy-built packets and prints what came out of which port.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from p4target.compiler import CompileError, compile_file
from p4target.switch import LPM, Exact, Switch

ROOT = Path(__file__).resolve().parent.parent
ROUTER_MAC = "00:00:00:00:00:fe"
HOSTS = {1: "00:00:00:00:01:01", 2: "00:00:00:00:02:02", 3: "00:00:00:00:03:03"}


def _show(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def compile_all(src: Path, out: Path) -> dict[str, Path]:
    """Compile every program in ``src`` into ``out``; return name -> JSON path."""
    out.mkdir(parents=True, exist_ok=True)
    p4c = shutil.which("p4c-bm2-ss")
    built = {}
    for prog in sorted(src.glob("*.p4")):
        json_path = out / f"{prog.stem}.json"
        # real p4c writes P4Info text as .txt (.txtpb is not accepted by every 1.2.4.x)
        p4info = out / f"{prog.stem}.p4info.{'txt' if p4c else 'txtpb'}"
        if p4c:
            cmd = [p4c, "--arch", "v1model", "--std", "p4-16", "-I", str(src / "include")]
            subprocess.run(
                [*cmd, "-o", str(json_path), "--p4runtime-files", str(p4info), str(prog)],
                check=True,
            )
            tool = "p4c-bm2-ss"
        else:
            result = compile_file(prog, include_dirs=[src / "include"])
            result.write(json_path, p4info)
            tool = "embedded compiler"
        print(f"compiled {_show(prog)} -> {_show(json_path)} ({tool})")
        built[prog.stem] = json_path
    return built


def install_routes(sw: Switch) -> None:
    """Three next hops (one per port) and IPv4/IPv6 prefixes pointing at them."""
    for port, mac in HOSTS.items():
        sw.table_add(
            "RouterIngress.nexthop",
            [Exact(port)],
            "RouterIngress.forward",
            [int(mac.replace(":", ""), 16), int(ROUTER_MAC.replace(":", ""), 16), port],
        )
    routes4 = [("10.0.1.0", 24, 1), ("10.0.2.0", 24, 2), ("10.0.0.0", 8, 3)]
    for addr, plen, nh in routes4:
        value = int.from_bytes(bytes(int(o) for o in addr.split(".")), "big")
        sw.table_add(
            "RouterIngress.ipv4_lpm", [LPM(value, plen)], "RouterIngress.set_nexthop", [nh]
        )
        print(f"  route {addr}/{plen} -> next hop {nh} (port {nh})")
    sw.table_add(
        "RouterIngress.ipv6_lpm",
        [LPM(0x20010DB8000100000000000000000000, 48)],
        "RouterIngress.set_nexthop",
        [2],
    )
    print("  route 2001:db8:1::/48 -> next hop 2 (port 2)")


def demo_packets() -> list[tuple[int, str, bytes]]:
    payload = b"cpn-p4 demo"
    src = Ether(src=HOSTS[3], dst=ROUTER_MAC)
    return [
        (
            3,
            "IPv4 to 10.0.1.5",
            bytes(src / IP(src="10.9.9.9", dst="10.0.1.5", ttl=64) / UDP(dport=5000) / payload),
        ),
        (
            3,
            "IPv4 to 10.0.2.7",
            bytes(src / IP(src="10.9.9.9", dst="10.0.2.7", ttl=9) / UDP(dport=5000) / payload),
        ),
        (
            1,
            "IPv4 to 10.7.7.7 (/8)",
            bytes(
                Ether(src=HOSTS[1], dst=ROUTER_MAC)
                / IP(src="10.0.1.5", dst="10.7.7.7")
                / UDP()
                / payload
            ),
        ),
        (
            3,
            "IPv6 to 2001:db8:1::42",
            bytes(src / IPv6(src="2001:db8:9::1", dst="2001:db8:1::42", hlim=5) / UDP() / payload),
        ),
        (
            3,
            "IPv4 with TTL 1",
            bytes(src / IP(src="10.9.9.9", dst="10.0.1.5", ttl=1) / UDP() / payload),
        ),
        (
            3,
            "IPv4 to 192.0.2.1 (no route)",
            bytes(src / IP(src="10.9.9.9", dst="192.0.2.1") / UDP() / payload),
        ),
        (3, "truncated IPv4 (10 bytes)", bytes(src / IP(src="10.9.9.9", dst="10.0.1.5"))[:24]),
    ]


def describe(frame: bytes) -> str:
    """One line: MAC rewrite, TTL / hop limit and whether the IPv4 checksum is valid."""
    pkt = Ether(frame)
    text = f"{pkt.src} -> {pkt.dst}"
    if IP in pkt:
        ip = pkt[IP]
        recomputed = ip.copy()
        del recomputed.chksum
        good = IP(bytes(recomputed)).chksum == ip.chksum
        text += f" {ip.src} -> {ip.dst} ttl={ip.ttl} checksum {'ok' if good else 'BAD'}"
    elif IPv6 in pkt:
        ip6 = pkt[IPv6]
        text += f" {ip6.src} -> {ip6.dst} hlim={ip6.hlim}"
    return text


def run(json_path: Path) -> int:
    sw = Switch(json_path)
    ports = {n: sw.add_port(n) for n in (1, 2, 3)}
    print(f"\nloaded {_show(json_path)} on the embedded switch, ports 1-3")
    install_routes(sw)
    print("\nsending packets:")
    for port, label, frame in demo_packets():
        ports[port].send(frame)
        sw.run_until_idle()
        outs = [(n, data) for n, p in ports.items() for data in p.take()]
        if not outs:
            print(f"  in port {port}: {label:30s} => dropped")
        for out_port, data in outs:
            print(f"  in port {port}: {label:30s} => out port {out_port}: {describe(data)}")
    stats = sw.stats()
    print("\nport counters (RouterIngress.port_counter, packets/bytes):")
    for port in (1, 2, 3):
        print(f"  port {port}: {sw.counter_read('RouterIngress.port_counter', port)}")
    print(f"drops by reason: {stats.get('drops', {})}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p4target.demo", description=__doc__)
    parser.add_argument("--src", type=Path, default=ROOT / "p4src")
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv)
    try:
        built = compile_all(args.src, args.out)
    except CompileError as err:
        print(err, file=sys.stderr)
        return 1
    return run(built["router"])


if __name__ == "__main__":
    raise SystemExit(main())
