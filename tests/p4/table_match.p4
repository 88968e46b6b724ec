// Tables: exact, lpm, ternary (with priorities), range, optional keys; keys that are masked
// fields, slices and isValid(); size; default_action (plain and const); action data.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8>  a;
    bit<16> b;
    bit<32> c;
    bit<8>  d;
    bit<8>  e;
    bit<8>  r_exact;
    bit<8>  r_lpm;
    bit<8>  r_ternary;
    bit<8>  r_range;
    bit<8>  r_optional;
    bit<8>  r_complex;
}

struct headers_t { h_t h; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set_exact(bit<8> v) { hdr.h.r_exact = v; }
    action set_lpm(bit<8> v) { hdr.h.r_lpm = v; }
    action set_ternary(bit<8> v) { hdr.h.r_ternary = v; }
    action set_range(bit<8> v) { hdr.h.r_range = v; }
    action set_optional(bit<8> v) { hdr.h.r_optional = v; }
    action set_complex(bit<8> v) { hdr.h.r_complex = v; }

    table t_exact {
        key = { hdr.h.a: exact; }
        actions = { set_exact; }
        size = 64;
        default_action = set_exact(0xEE);
    }
    table t_lpm {
        key = { hdr.h.c: lpm; }
        actions = { set_lpm; NoAction; }
        size = 128;
    }
    table t_ternary {
        key = { hdr.h.a: ternary; hdr.h.b: exact; }
        actions = { set_ternary; }
        const default_action = set_ternary(0xDD);
    }
    table t_range {
        key = { hdr.h.b: range; }
        actions = { set_range; }
        default_action = set_range(0);
    }
    table t_optional {
        key = { hdr.h.d: optional; hdr.h.e: exact; }
        actions = { set_optional; }
        default_action = set_optional(0);
    }
    table t_complex {
        key = {
            hdr.h.a & 0xF0: exact @name("a_high");
            hdr.h.b[3:0]: exact @name("b_low");
            hdr.h.isValid(): exact @name("h_valid");
        }
        actions = { set_complex; }
        default_action = set_complex(0);
    }

    apply {
        sm.egress_spec = 1;
        t_exact.apply();
        t_lpm.apply();
        t_ternary.apply();
        t_range.apply();
        t_optional.apply();
        t_complex.apply();
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
