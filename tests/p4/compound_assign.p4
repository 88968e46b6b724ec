// Compound assignments (`x op= e` means `x = x op (e)`): every operator p4c accepts, on header
// fields, a header-stack element, a slice, a local variable and a metadata field.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8>  a;
    bit<8>  b;
    bit<16> w;
}

struct headers_t { h_t h; h_t[2] stack; }
struct meta_t { bit<8> m; }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.h);
        pkt.extract(hdr.stack.next);
        pkt.extract(hdr.stack.next);
        transition accept;
    }
}

control V(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action bump(bit<8> by) {
        hdr.h.a += by;          // action parameter on the right
    }
    apply {
        sm.egress_spec = 1;
        bit<8> x = hdr.h.b;
        x *= 3;
        x -= 1;
        x |= 8w0x80;
        x ^= 8w0x0F;
        hdr.h.b = x;
        bump(2);
        hdr.h.w <<= 2;
        hdr.h.w >>= 1;
        hdr.h.w &= 16w0x0FFF;
        hdr.stack[0].a /= 4;
        hdr.stack[0].b %= 5;
        hdr.stack[1].a |+|= 200;
        hdr.stack[1].b |-|= 100;
        hdr.stack[1].w[15:8] += 8w1;   // a slice as the lvalue
        meta.m = hdr.h.a;
        meta.m += hdr.h.b + 1;         // the whole right-hand side is added
        hdr.stack[0].w = (bit<16>)meta.m;
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control C(inout headers_t hdr, inout meta_t meta) { apply { } }

control D(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.h);
        pkt.emit(hdr.stack);
    }
}

V1Switch(P(), V(), Ing(), Eg(), C(), D()) main;
