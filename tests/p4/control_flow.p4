// Control flow: if/else, t.apply().hit / .miss, switch (t.apply().action_run) with shared
// labels and default, exit, return, a sub-control instantiated with a constructor argument
// (applied twice), hit inside an expression.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> k; bit<8> mode; bit<8> trace; bit<8> r; bit<8> sub; bit<8> hitbit; }
struct headers_t { h_t h; }
struct meta_t { }

control Add(inout bit<8> x)(bit<8> amount) {
    apply {
        if (x == 0xFF) {
            return;
        }
        x = x + amount;
    }
}

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Add(8w10) add_ten;

    action a1() { hdr.h.r = 1; }
    action a2() { hdr.h.r = 2; }
    action a3() { hdr.h.r = 3; }
    action a4() { hdr.h.r = 4; }
    table sel {
        key = { hdr.h.k: exact; }
        actions = { a1; a2; a3; a4; }
        default_action = a4();
    }
    table probe {
        key = { hdr.h.k: exact; }
        actions = { NoAction; }
    }
    table probe2 {
        key = { hdr.h.k: exact; }
        actions = { NoAction; }
    }
    table probe3 {
        key = { hdr.h.k: exact; }
        actions = { NoAction; }
    }

    apply {
        sm.egress_spec = 1;
        if (hdr.h.mode == 1) {
            // hit/miss
            if (probe.apply().hit) {
                hdr.h.trace = 0x11;
            } else {
                hdr.h.trace = 0x10;
            }
            if (!probe2.apply().miss) {
                hdr.h.trace = hdr.h.trace | 0x20;
            }
        } else if (hdr.h.mode == 2) {
            switch (sel.apply().action_run) {
                a1:
                a2: { hdr.h.trace = 0x12; }
                a3: { hdr.h.trace = 0x13; }
                default: { hdr.h.trace = 0x1F; }
            }
        } else if (hdr.h.mode == 3) {
            hdr.h.trace = 0x30;
            exit;
        } else if (hdr.h.mode == 4) {
            hdr.h.trace = 0x40;
            return;
        }
        add_ten.apply(hdr.h.sub);
        add_ten.apply(hdr.h.sub);   // a table-free instance may be applied again
        hdr.h.trace = hdr.h.trace + 1;
        hdr.h.hitbit = probe3.apply().hit ? 8w0xAA : 8w0x55;   // hit/miss inside an expression
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { hdr.h.r = hdr.h.r | 0x80; }
}
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
