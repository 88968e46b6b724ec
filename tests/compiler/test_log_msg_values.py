"""log_msg takes headers and structs as p4c does (a header reference, a struct as the list
of its members), and the switch prints them."""

from __future__ import annotations

from p4target.compiler import compile_source
from p4target.switch import Switch

PROG = """
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
header g_t { bit<8> c; }
struct s_t { bit<4> x; bit<4> y; }
struct headers_t { h_t h; g_t g; }
struct meta_t { s_t s; }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control C(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        meta.s = {1, 2};
        log_msg("h={} g={} s={} n={}", {hdr.h, hdr.g, meta.s, hdr.h.a + 1});
        sm.egress_spec = 1;
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), C(), I(), E(), C(), D()) main;
"""


def test_headers_and_structs_are_logged() -> None:
    j = compile_source(PROG, "log.p4").json
    (call,) = [p for a in j["actions"] for p in a["primitives"] if p["op"] == "log_msg"]
    vec = call["parameters"][1]["value"]
    assert vec[0] == {"type": "header", "value": "h"}
    assert isinstance(vec[2], list) and len(vec[2]) == 2  # the struct's two members
    sw = Switch(j)
    port, out = sw.add_port(0), sw.add_port(1)
    port.send(b"\x05\x06")
    assert out.take() == [b"\x05\x06"]
    assert "h={5, 6} g=invalid s={1, 2} n=6" in sw.log_messages
