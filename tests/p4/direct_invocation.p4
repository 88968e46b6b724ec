// Direct type invocation (C.apply(...) without declaring an instance: each such call applies
// a fresh anonymous instance) for controls and parsers, and controls passed as constructor
// arguments of a control type, applied through the parameter.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> a; bit<8> b; bit<8> c; }
header t_t { bit<8> v; }
struct headers_t { h_t h; t_t t; }
struct meta_t { }

parser Tail(packet_in pkt, out t_t t) {
    state start { pkt.extract(t); transition accept; }
}

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.h);
        Tail.apply(pkt, hdr.t);
        transition accept;
    }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Step(inout bit<8> x);

control Inc(inout bit<8> x) { apply { x = x + 1; } }

control Twice(inout bit<8> x)(Step s) {
    apply { s.apply(x); s.apply(x); }
}

control Count(inout bit<8> x) {
    register<bit<8>>(1) seen;
    apply {
        bit<8> n;
        seen.read(n, 0);
        n = n + 1;
        seen.write(0, n);
        x = n;
    }
}

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Inc() inc;
    Twice(inc) twice;
    Count() count;
    apply {
        sm.egress_spec = 1;
        Inc.apply(hdr.h.a);
        Inc.apply(hdr.h.a);
        twice.apply(hdr.h.b);
        count.apply(hdr.h.c);
        hdr.t.v = hdr.t.v + 1;
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); pkt.emit(hdr.t); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
