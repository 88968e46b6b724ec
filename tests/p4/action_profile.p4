// Table implementations: an action_profile shared by two tables, an action_selector with
// selector keys (members chosen by a hash of the flow), and an in-place action_profile.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> a; bit<8> flow; bit<8> r1; bit<8> r2; bit<8> r3; }
struct headers_t { h_t h; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action_profile(32) shared;
    action_selector(HashAlgorithm.crc16, 32, 16) ecmp;

    action set1(bit<8> v) { hdr.h.r1 = v; }
    action set2(bit<8> v) { hdr.h.r2 = v; }
    action port(bit<9> p) { sm.egress_spec = p; hdr.h.r3 = (bit<8>)p; }

    table t1 {
        key = { hdr.h.a: exact; }
        actions = { set1; set2; }
        implementation = shared;
    }
    table t2 {
        key = { hdr.h.flow: exact; }
        actions = { set1; set2; }
        implementation = shared;
    }
    table fwd {
        key = { hdr.h.a: exact; hdr.h.flow: selector; }
        actions = { port; }
        implementation = ecmp;
    }

    apply {
        sm.egress_spec = 9;
        t1.apply();
        t2.apply();
        fwd.apply();
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
