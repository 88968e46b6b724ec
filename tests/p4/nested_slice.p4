// Slices of slices as assignment targets, in a control and in a parser state:
// x[7:4][2:1] = v writes bits 6..5 of x.
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<8>  a;
    bit<16> b;
    bit<8>  c;
}
struct headers_t { data_t d; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.d);
        hdr.d.c[7:4][2:1] = 2w0b11;
        transition accept;
    }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        hdr.d.a[7:4][3:0][1:0] = 2w0;
        bit<16> n = hdr.d.b;
        n[15:8][7:4] = 4w0xA;
        n[11:0][3:0] = n[15:12];
        hdr.d.b = n;
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
