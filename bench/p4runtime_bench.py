"""P4Runtime server on the embedded switch: write throughput, write and packet round trips.

    python bench/p4runtime_bench.py [--entries 10000] [--single 2000] [--rtt 500] [--repeat 2]

Prints one ``name: value unit`` line per figure:

    p4runtime.protobuf: upb implementation         (the protobuf runtime this run used)
    p4runtime.write.batch{1,100,1000}.eps: N entries/s   Write RPCs of 1 / 100 / 1000
                                                         IPv4 LPM entries (p4src/router.p4)
    p4runtime.write.api.eps: N entries/s           the same entries through the switch's
                                                   Python API (the baseline, same run)
    p4runtime.write.batch1000.vs_api: R ratio      gRPC path / Python API (overhead factor)
    p4runtime.write.batch1000.vs_target: R ratio   against the 10,000 entries/s target
    p4runtime.write.rtt_us: N us                   median round trip of a one-entry Write
    p4runtime.write.api_us: N us                   the same MODIFY through the Python API
    p4runtime.packet_loop.rtt_us: N us             median PacketOut -> PacketIn over the
                                                   StreamChannel (tests/runtime/p4/rt_features.p4)
    p4runtime.packet_loop.api_us: N us             Switch.inject -> packet-in callback

Requests are built before the clock starts (the server's cost, not the client's); the server
and the client share this process (loopback gRPC), as in the project's tests.
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
from google.protobuf import __version__ as PB_VERSION  # noqa: E402
from google.protobuf.internal import api_implementation  # noqa: E402

from p4target.compiler import compile_file  # noqa: E402
from p4target.protos import p4runtime_pb2, p4runtime_pb2_grpc  # noqa: E402
from p4target.runtime import serve  # noqa: E402
from p4target.switch import LPM, Exact, Switch  # noqa: E402

P = p4runtime_pb2
TARGET_EPS = 10_000


class Client:
    def __init__(self, address: str, device_id: int = 1):
        self.channel = grpc.insecure_channel(address, options=[("grpc.max_metadata_size", 8 << 20)])
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self.device_id = device_id
        self.out: queue.SimpleQueue = queue.SimpleQueue()
        self.packets: queue.SimpleQueue = queue.SimpleQueue()
        self.stream = self.stub.StreamChannel(iter(self.out.get, None))
        arb = P.StreamMessageRequest()
        arb.arbitration.device_id = device_id
        arb.arbitration.election_id.low = 1
        self.out.put(arb)
        first = next(self.stream)
        assert first.arbitration.status.code == 0, first
        threading.Thread(target=self._recv, daemon=True).start()

    def _recv(self) -> None:
        try:
            for m in self.stream:
                if m.HasField("packet"):
                    self.packets.put(m.packet)
        except grpc.RpcError:
            pass

    def request(self, cls):
        r = cls(device_id=self.device_id)
        r.election_id.low = 1
        return r

    def set_pipeline(self, res) -> None:
        req = self.request(P.SetForwardingPipelineConfigRequest)
        req.action = req.VERIFY_AND_COMMIT
        req.config.p4info.CopyFrom(res.p4info)
        req.config.p4_device_config = res.json_text().encode()
        self.stub.SetForwardingPipelineConfig(req)

    def close(self) -> None:
        self.out.put(None)
        self.channel.close()


def lpm_entries(res, n: int) -> list:
    info = res.p4info
    tid = next(t.preamble.id for t in info.tables if t.preamble.name.endswith("ipv4_lpm"))
    aid = next(a.preamble.id for a in info.actions if a.preamble.name.endswith("set_nexthop"))
    out = []
    for i in range(n):
        te = P.TableEntry(table_id=tid)
        m = te.match.add(field_id=1)
        m.lpm.value = ((10 << 24) | (i << 8)).to_bytes(4, "big")
        m.lpm.prefix_len = 24
        te.action.action.action_id = aid
        te.action.action.params.add(param_id=1, value=(i % 4096 + 1).to_bytes(2, "big"))
        out.append(te)
    return out


def write_rate(client: Client, res, entries: list, batch: int, repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        client.set_pipeline(res)  # empty tables
        reqs = []
        for i in range(0, len(entries), batch):
            req = client.request(P.WriteRequest)
            for te in entries[i : i + batch]:
                req.updates.add(type=P.Update.INSERT).entity.table_entry.CopyFrom(te)
            reqs.append(req)
        t = time.perf_counter()
        for req in reqs:
            client.stub.Write(req)
        dt = time.perf_counter() - t
        best = max(best, len(entries) / dt)
    return best


def api_rate(json: dict, n: int, repeat: int) -> float:
    best = 0.0
    keys = [[LPM((10 << 24) | (i << 8), 24)] for i in range(n)]
    for _ in range(repeat):
        sw = Switch(json)
        table = "RouterIngress.ipv4_lpm"
        t = time.perf_counter()
        for i, key in enumerate(keys):
            sw.table_add(table, key, "RouterIngress.set_nexthop", [i % 4096 + 1])
        best = max(best, n / (time.perf_counter() - t))
    return best


def write_rtt(client: Client, res, n: int) -> float:
    client.set_pipeline(res)
    info = res.p4info
    tid = next(t.preamble.id for t in info.tables if t.preamble.name.endswith("nexthop"))
    aid = next(a.preamble.id for a in info.actions if a.preamble.name.endswith("forward"))
    reqs = []
    for kind in [P.Update.INSERT] + [P.Update.MODIFY] * n:
        req = client.request(P.WriteRequest)
        te = req.updates.add(type=kind).entity.table_entry
        te.table_id = tid
        te.match.add(field_id=1).exact.value = b"\x07"
        te.action.action.action_id = aid
        for pid, v in ((1, b"\x02"), (2, b"\x01"), (3, bytes([1 + len(reqs) % 3]))):
            te.action.action.params.add(param_id=pid, value=v)
        reqs.append(req)
    client.stub.Write(reqs[0])
    times = []
    for req in reqs[1:]:
        t = time.perf_counter()
        client.stub.Write(req)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def api_rtt(json: dict, n: int) -> float:
    sw = Switch(json)
    h = sw.table_add("RouterIngress.nexthop", [Exact(7)], "RouterIngress.forward", [2, 1, 1])
    times = []
    for i in range(n):
        t = time.perf_counter()
        sw.table_modify("RouterIngress.nexthop", h, "RouterIngress.forward", [2, 1, 1 + i % 3])
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def packet_loop(client: Client, res, n: int) -> float:
    client.set_pipeline(res)
    payload = bytes.fromhex("000000000001000000000002") + b"\x08\x06" + bytes(46)
    msg = P.StreamMessageRequest()
    msg.packet.payload = payload
    msg.packet.metadata.add(metadata_id=1, value=b"\x00\xff")  # egress_port = CPU port
    msg.packet.metadata.add(metadata_id=2, value=b"\x00")
    times = []
    for _ in range(n):
        t = time.perf_counter()
        client.out.put(msg)
        pin = client.packets.get(timeout=5)
        times.append(time.perf_counter() - t)
    assert pin.payload == payload
    return statistics.median(times) * 1e6


def api_packet_loop(json: dict, n: int) -> float:
    sw = Switch(json, cpu_port=255)
    got: queue.SimpleQueue = queue.SimpleQueue()
    sw.on_packet_in(got.put)
    frame = (
        (255 << 7).to_bytes(2, "big")
        + bytes.fromhex("000000000001000000000002")
        + b"\x08\x06"
        + bytes(46)
    )
    times = []
    for _ in range(n):
        t = time.perf_counter()
        sw.inject(frame)
        got.get_nowait()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--entries", type=int, default=10_000, help="entries per batched run")
    ap.add_argument("--single", type=int, default=2_000, help="entries in the batch-of-1 run")
    ap.add_argument("--rtt", type=int, default=500, help="round trips measured")
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs (throughput)")
    args = ap.parse_args(argv)

    router = compile_file(str(ROOT / "p4src" / "router.p4"))
    feats = compile_file(str(ROOT / "tests" / "runtime" / "p4" / "rt_features.p4"))
    print(f"p4runtime.protobuf: {api_implementation.Type()} implementation")
    print(f"p4runtime.protobuf_version: {PB_VERSION} version")

    sw = Switch(cpu_port=255, device_id=1)
    srv = serve(sw, "127.0.0.1:0", device_id=1)
    client = Client(srv.address)
    try:
        entries = lpm_entries(router, args.entries)
        rates = {}
        for batch, n in ((1, args.single), (100, args.entries), (1000, args.entries)):
            rates[batch] = write_rate(client, router, entries[:n], batch, args.repeat)
            print(f"p4runtime.write.batch{batch}.eps: {rates[batch]:.0f} entries/s")
        api = api_rate(router.json, args.entries, args.repeat)
        print(f"p4runtime.write.api.eps: {api:.0f} entries/s")
        print(f"p4runtime.write.batch1000.vs_api: {rates[1000] / api:.3f} ratio")
        print(f"p4runtime.write.batch1000.vs_target: {rates[1000] / TARGET_EPS:.2f} ratio")
        rtt = write_rtt(client, router, args.rtt)
        base = api_rtt(router.json, args.rtt)
        print(f"p4runtime.write.rtt_us: {rtt:.0f} us")
        print(f"p4runtime.write.api_us: {base:.1f} us")
        print(f"p4runtime.write.rtt.vs_api: {rtt / base:.1f} ratio")
        loop = packet_loop(client, feats, args.rtt)
        base = api_packet_loop(feats.json, args.rtt)
        print(f"p4runtime.packet_loop.rtt_us: {loop:.0f} us")
        print(f"p4runtime.packet_loop.api_us: {base:.1f} us")
        print(f"p4runtime.packet_loop.vs_api: {loop / base:.1f} ratio")
    finally:
        client.close()
        srv.stop(0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
