// Entry priorities of the P4 spec: the largest_priority_wins and priority_delta table
// properties, and entries without a written priority (counted from their predecessor).
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> x; bit<8> r1; bit<8> r2; bit<8> r3; }
struct headers_t { h_t h; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action r1(bit<8> v) { hdr.h.r1 = v; }
    action r2(bit<8> v) { hdr.h.r2 = v; }
    action r3(bit<8> v) { hdr.h.r3 = v; }

    // the smaller priority wins; unwritten ones are the previous one plus 10
    table smallest {
        key = { hdr.h.x: ternary; }
        actions = { r1; }
        default_action = r1(0xFF);
        largest_priority_wins = false;
        priority_delta = 10;
        entries = {
            priority = 10: 0x01 &&& 0x0F: r1(1);
                           _: r1(2);               // 20
            priority = 15: 0x10 &&& 0xF0: r1(3);
            const          0x12: r1(4);            // 25
        }
    }
    // the larger priority wins; unwritten ones are the previous one minus 100
    table largest {
        key = { hdr.h.x: ternary; }
        actions = { r2; }
        default_action = r2(0xFF);
        priority_delta = 100;
        entries = {
            priority = 1000: 0x01 &&& 0x0F: r2(1);
                             _: r2(2);             // 900
            priority = 950:  0x10 &&& 0xF0: r2(3);
                             0x22: r2(4);          // 850
        }
    }
    // no priority written: the first entry ranks highest under either convention
    table unwritten {
        key = { hdr.h.x: ternary; }
        actions = { r3; }
        default_action = r3(0xFF);
        largest_priority_wins = false;
        priority_delta = 7;
        const entries = {
            0x01 &&& 0x0F: r3(1);
            _: r3(2);
        }
    }

    apply {
        sm.egress_spec = 1;
        smallest.apply();
        largest.apply();
        unwritten.apply();
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
