// mark_to_drop, truncate, log_msg, assert/assume and digest (the digest itself is checked by
// tests/compiler/test_digest_and_ids.py through the switch API).
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> mode; bit<8> a; bit<16> b; bit<32> pad; }
struct headers_t { h_t h; }
struct learn_t { bit<8> a; bit<16> b; bit<9> port; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        assert(hdr.h.isValid());
        assume(sm.ingress_port < 511);
        log_msg("mode {} a {}", { hdr.h.mode, hdr.h.a });
        log_msg("no arguments");
        if (hdr.h.mode == 1) {
            mark_to_drop(sm);
        } else if (hdr.h.mode == 2) {
            truncate(3);
        } else if (hdr.h.mode == 3) {
            digest<learn_t>(1, { hdr.h.a, hdr.h.b, sm.ingress_port });
        }
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
