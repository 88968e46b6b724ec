// hash(): crc16, crc32, identity, csum16 and xor16 over a field list (a tuple of fields and
// a constant), with base and max (result = base + H mod max); random() with a one-value range.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<16> a;
    bit<16> b;
    bit<16> crc16;
    bit<32> crc32;
    bit<32> ident;
    bit<16> csum;
    bit<16> xor;
    bit<16> ranged;
    bit<8>  rnd_fixed;
    bit<8>  rnd_range;
}
struct headers_t { h_t h; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        hash(hdr.h.crc16, HashAlgorithm.crc16, 16w0, { hdr.h.a, hdr.h.b }, 32w65536);
        hash(hdr.h.crc32, HashAlgorithm.crc32, 32w0, { hdr.h.a, hdr.h.b }, 64w4294967296);
        hash(hdr.h.ident, HashAlgorithm.identity, 32w0, { hdr.h.a, hdr.h.b }, 64w4294967296);
        hash(hdr.h.csum, HashAlgorithm.csum16, 16w0, { hdr.h.a, hdr.h.b, 16w0x0102 }, 32w65536);
        hash(hdr.h.xor, HashAlgorithm.xor16, 16w0, { hdr.h.a, hdr.h.b }, 32w65536);
        hash(hdr.h.ranged, HashAlgorithm.crc16, 16w100, { hdr.h.a, hdr.h.b }, 32w10);
        random(hdr.h.rnd_fixed, 8w42, 8w42);
        random(hdr.h.rnd_range, 8w10, 8w20);
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
