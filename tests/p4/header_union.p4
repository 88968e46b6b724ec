// Header unions: a union of two headers chosen with a lookahead select; isValid() on the union
// and its members; making another member valid invalidates the first; setInvalid().
#include <core.p4>
#include <v1model.p4>

header info_t { bit<8> which; bit<8> flip; }
header a_t { bit<8> kind; bit<16> value; }
header b_t { bit<8> kind; bit<8> x; bit<8> y; bit<8> z; }
header_union ab_u { a_t a; b_t b; }

struct headers_t { info_t info; ab_u u; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.info);
        transition select(pkt.lookahead<bit<8>>()) {
            0xA0: parse_a;
            0xB0: parse_b;
            default: accept;
        }
    }
    state parse_a { pkt.extract(hdr.u.a); transition accept; }
    state parse_b { pkt.extract(hdr.u.b); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        hdr.info.which = 0;
        if (hdr.u.isValid()) {
            if (hdr.u.a.isValid()) {
                hdr.info.which = 1;
            } else if (hdr.u.b.isValid()) {
                hdr.info.which = 2;
            }
        }
        if (hdr.info.flip == 2) {
            hdr.u.b.setInvalid();
        }
        if (hdr.info.flip == 1 && hdr.u.a.isValid()) {
            bit<16> v = hdr.u.a.value;
            hdr.u.b.setValid();
            hdr.u.b.kind = 0xB0;
            hdr.u.b.x = v[15:8];
            hdr.u.b.y = v[7:0];
            hdr.u.b.z = 0xEE;
        }
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.info);
        pkt.emit(hdr.u);
    }
}

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
