// Actions and functions: directionless (action data) and directional parameters (in the
// action list, and in direct calls from the control), locals in actions, an action calling
// another, if/else and return inside actions, exit inside an action, functions with a return
// value and out parameters, control-level variables with initializers.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> a; bit<8> b; bit<8> c; bit<8> d; bit<8> e; bit<8> f; }
struct headers_t { h_t h; }
struct meta_t { bit<8> scratch; }

bit<8> max8(in bit<8> x, in bit<8> y) {
    if (x > y) {
        return x;
    }
    return y;
}

void split(in bit<8> v, out bit<8> hi, out bit<8> lo) {
    hi = v >> 4;
    lo = v & 0x0F;
}

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    bit<8> bias = 8w3;

    action add_to(inout bit<8> x, bit<8> amount) {
        bit<8> tmp = x + amount;
        x = tmp;
    }
    action twice(inout bit<8> x) {
        add_to(x, x);
    }
    action clamp(bit<8> limit) {
        if (hdr.h.b > limit) {
            hdr.h.b = limit;
            return;
        }
        hdr.h.b = hdr.h.b + 1;
    }
    // copy-in: y keeps the argument's value even though x (the same variable) changes first
    action set_then_copy(inout bit<8> x, bit<8> y) {
        x = 0x99;
        meta.scratch = y;
    }
    action stop_here(bit<8> code) {
        hdr.h.f = code;
        exit;
        hdr.h.f = 0xEE;
    }
    table t_add {
        key = { hdr.h.a: exact; }
        actions = { add_to(hdr.h.c); twice(hdr.h.c); NoAction; }
        default_action = NoAction();
    }
    table t_clamp {
        key = { hdr.h.a: exact; }
        actions = { clamp; stop_here; NoAction; }
        default_action = NoAction();
    }

    apply {
        sm.egress_spec = 1;
        t_add.apply();
        t_clamp.apply();
        add_to(hdr.h.d, bias);
        hdr.h.e = max8(hdr.h.a, hdr.h.b) + max8(8w7, hdr.h.d);
        split(hdr.h.a, meta.scratch, hdr.h.f);
        if (hdr.h.a == 2) {
            set_then_copy(hdr.h.b, hdr.h.b);
            hdr.h.e = meta.scratch;
        }
        hdr.h.f = hdr.h.f[3:0] ++ meta.scratch[3:0];
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
