// Copy-in/copy-out: each out/inout parameter is a variable of its own until the call
// returns, even when two parameters get the same argument or the body writes the argument
// directly; copy-out runs left to right.
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<8> a;
    bit<8> b;
    bit<8> c;
}
struct headers_t { data_t d; }
struct meta_t { }

bit<8> twice(inout bit<8> x, out bit<8> y) {
    y = 7;
    if (x == 7) {
        y = 9;
    }
    x = x + 1;
    return 0;
}

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.d); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action act(inout bit<8> v) {
        hdr.d.b = 0x55;
        v = v + 1;
    }
    action swap(inout bit<8> p, inout bit<8> q) {
        bit<8> t = p;
        p = q;
        q = t;
    }
    apply {
        sm.egress_spec = 1;
        twice(hdr.d.a, hdr.d.a);
        act(hdr.d.b);
        swap(hdr.d.c, hdr.d.c);
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
