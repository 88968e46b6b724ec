"""Write the sample pcaps in ``traces/pcaps/`` (deterministic: fixed addresses and timestamps).

    python -m traces.samples [--out traces/pcaps]

* ``aisid_udp.pcap``   - UDP requests to four AISIDs (best effort and deterministic budgets);
* ``aisid_tcp.pcap``   - one TCP connection to an AISID (SYN, data, FIN);
* ``srv6_path.pcap``   - one request as it crosses the CPN: client -> ingress gateway, after
  H.Encaps (3-segment SRH, tag = policy version 1), after End at two transits, after End.DT6
  and the egress gateway's rewrite to the service node;
* ``probe.pcap``       - a path probe as sent and as returned with three hop records.

All open in Wireshark/tshark (Ethernet link type); the probe shows as UDP data on port 50000.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet
from scapy.utils import wrpcap

from traces.aisid import AISID
from traces.layers import ProbeHop
from traces.packets import aisid_udp_request, probe_request, tcp_connection
from traces.srv6 import end, end_dt6, forwarded, h_encaps

PCAP_DIR = Path(__file__).with_name("pcaps")
BASE_TIME = 1_700_000_000.0
PREFIX = "2001:db8:abcd:12::/64"
INGRESS_SID = "fc00:0:1::1"
PATH = ["fc00:0:2::100", "fc00:0:3::100", "fc00:0:4::d6"]
NODE_ADDR = "fd00:4::21"


def _stamp(pkts: list[Packet], step_us: int = 100) -> list[Packet]:
    for i, p in enumerate(pkts):
        p.time = BASE_TIME + i * step_us / 1e6
    return pkts


def aisid_udp() -> list[Packet]:
    ids = [
        AISID.from_fields(PREFIX, 1, 2, 1, 0x1388),
        AISID.from_fields(PREFIX, 1, 2, 2, 0),
        AISID.with_latency(PREFIX, 3, 1, 1, 2000),
        AISID.with_latency(PREFIX, 7, 4, 2, 150_000),
    ]
    return _stamp(
        [
            aisid_udp_request(
                a, sport=40000 + i, dport=8080, payload=b"infer:" + bytes([65 + i]) * 8
            )
            for i, a in enumerate(ids)
        ]
    )


def aisid_tcp() -> list[Packet]:
    aisid = AISID.from_fields(PREFIX, 1, 2, 1, 0x1388)
    return _stamp(
        tcp_connection(aisid, sport=41000, dport=443, data_segments=2, payload=b"GET /v1")
    )


def srv6_path() -> list[Packet]:
    aisid = AISID.from_fields(PREFIX, 1, 2, 1, 0x1388)
    req = aisid_udp_request(aisid, sport=40000, dport=8080, payload=b"prompt")
    inner = forwarded(req, src_mac="02:00:00:00:01:01", dst_mac="02:00:00:00:02:00")[IPv6]
    encapped = h_encaps(
        inner,
        src=INGRESS_SID,
        path=PATH,
        tag=1,
        flow_label=0x12345,
        src_mac="02:00:00:00:01:01",
        dst_mac="02:00:00:00:02:00",
    )
    hop2 = forwarded(
        end(encapped),
        src_mac="02:00:00:00:02:01",
        dst_mac="02:00:00:00:03:00",
        hop_limit_decrement=0,
    )
    hop3 = forwarded(
        end(hop2), src_mac="02:00:00:00:03:01", dst_mac="02:00:00:00:04:00", hop_limit_decrement=0
    )
    decapped = end_dt6(hop3)
    decapped.dst = NODE_ADDR
    del decapped[UDP].chksum
    to_node = forwarded(
        IPv6(bytes(decapped)), src_mac="02:00:00:00:04:01", dst_mac="02:00:00:00:44:21"
    )
    return _stamp([req, encapped, hop2, hop3, to_node], step_us=250)


def probe() -> list[Packet]:
    aisid = AISID.from_fields(PREFIX, 1, 2, 1, 0x1388)
    sent = probe_request(aisid, seq=7, path_id=2)
    hops = [
        ProbeHop(
            switch_id=4,
            ingress_port=1,
            egress_port=255,
            queue_depth=0,
            ingress_ts=1830,
            egress_ts=1832,
        ),
        ProbeHop(
            switch_id=2,
            ingress_port=2,
            egress_port=3,
            queue_depth=3,
            ingress_ts=1410,
            egress_ts=1590,
        ),
        ProbeHop(
            switch_id=1,
            ingress_port=255,
            egress_port=2,
            queue_depth=0,
            ingress_ts=1000,
            egress_ts=1004,
        ),
    ]
    returned = probe_request(aisid, seq=7, path_id=2, hops=hops)
    return _stamp([sent, Ether(bytes(returned))])


SAMPLES = {
    "aisid_udp.pcap": aisid_udp,
    "aisid_tcp.pcap": aisid_tcp,
    "srv6_path.pcap": srv6_path,
    "probe.pcap": probe,
}


def write_samples(out: Path = PCAP_DIR) -> list[Path]:
    """Write every sample pcap into ``out``; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, build in SAMPLES.items():
        path = out / name
        wrpcap(str(path), build())
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m traces.samples",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=PCAP_DIR, help="output folder")
    args = parser.parse_args(argv)
    for path in write_samples(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
