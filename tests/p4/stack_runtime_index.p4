// Header stacks with run-time indexes: a whole element or one field written through an index
// read from the packet (an index out of range, or a negative signed one, writes nothing);
// '==' and '!=' on stacks and on structs holding headers.
#include <core.p4>
#include <v1model.p4>

header idx_t {
    bit<8> i;
    bit<8> j;
    bit<8> eq;
    int<8> k;
}
header elem_t { bit<8> v; }

struct pair_t {
    bit<8> x;
    elem_t e;
}

struct headers_t { idx_t idx; elem_t[3] s; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.idx);
        pkt.extract(hdr.s.next);
        pkt.extract(hdr.s.next);
        pkt.extract(hdr.s.next);
        transition accept;
    }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        hdr.s[hdr.idx.i] = { 0x77 };
        hdr.s[hdr.idx.j].v = 0x66;
        bit<8> eq = 0;
        elem_t[3] copy = hdr.s;
        if (copy == hdr.s) { eq = eq | 1; }
        copy[2].v = copy[2].v + 1;
        if (copy != hdr.s) { eq = eq | 2; }
        pair_t p1 = { 1, hdr.s[0] };
        pair_t p2 = { 1, hdr.s[0] };
        if (p1 == p2) { eq = eq | 4; }
        p2.e.setInvalid();
        if (p1 != p2) { eq = eq | 8; }
        p2 = p1;
        p2.x = 2;
        if (p1 == p2) { eq = eq | 0x10; }
        hdr.idx.eq = eq;
        hdr.s[hdr.idx.k].v = 0x55;
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
