// Types: typedef, type (new type), enum, serializable enum bit<8>, error (user errors and
// parser_error), bool, const, int<N>; a value switch on an enum.
#include <core.p4>
#include <v1model.p4>

typedef bit<8> byte_t;
type bit<16> Port_t;
enum Color { RED, GREEN, BLUE }
enum bit<8> Kind { A = 1, B = 2, C = 0x10 }
error { BadKind }
const byte_t INVALID_KIND = 0xff;
const int<8> MINUS_TWO = -2;

header h_t {
    byte_t kind;
    bit<8> color_out;
    bit<16> port;
    bit<8> err_out;
    Kind   kind_out;
    int<8> signed_out;
}

struct headers_t { h_t h; }
struct meta_t {
    Color  c;
    Kind   k;
    Port_t p;
    error  e;
    bool   ok;
}

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.h);
        verify(hdr.h.kind != INVALID_KIND, error.BadKind);
        transition accept;
    }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        meta.k = (Kind)hdr.h.kind;
        if (meta.k == Kind.A) {
            meta.c = Color.RED;
        } else if (meta.k == Kind.B) {
            meta.c = Color.GREEN;
        } else {
            meta.c = Color.BLUE;
        }
        switch (meta.c) {
            Color.RED: { hdr.h.color_out = 1; }
            Color.GREEN: { hdr.h.color_out = 2; }
            default: { hdr.h.color_out = 3; }
        }
        meta.p = (Port_t)hdr.h.port;
        hdr.h.port = (bit<16>)meta.p + 1;
        meta.e = sm.parser_error;
        hdr.h.err_out = meta.e == error.NoError ? 8w0 : (meta.e == error.BadKind ? 8w1 : 8w2);
        meta.ok = meta.k == Kind.C;
        hdr.h.kind_out = meta.ok ? Kind.C : Kind.B;
        hdr.h.signed_out = (int<8>)hdr.h.kind + MINUS_TWO;
        sm.egress_spec = 1;
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
