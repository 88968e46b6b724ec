// Table entries in the program: const entries (exact, ternary with masks and don't-care,
// lpm, range), entry priorities (declaration order and explicit `priority =`), and a
// mutable `entries` list.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> a; bit<16> b; bit<8> r1; bit<8> r2; bit<8> r3; }
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

    // first matching entry wins (declaration order)
    table ordered {
        key = { hdr.h.a: ternary; hdr.h.b: range; }
        actions = { r1; }
        default_action = r1(0xFF);
        const entries = {
            (0x01, 0x0000 .. 0x00FF): r1(1);
            (0x01 &&& 0x0F, _): r1(2);
            (_, 0x1000 .. 0x1FFF): r1(3);
            (_, _): r1(4);
        }
    }
    // explicit priorities: the larger number wins
    table prioritized {
        key = { hdr.h.a: ternary; }
        actions = { r2; }
        default_action = r2(0xFF);
        const entries = {
            priority = 10: 0x10 &&& 0xF0: r2(10);
            priority = 20: 0x11: r2(20);
            priority = 5: _: r2(5);
        }
    }
    // p4c's @priority(n) annotation on entries keeps BMv2's order: the smaller n wins
    // (unlike `priority = n`, where the larger wins)
    table annotated {
        key = { hdr.h.b: ternary; }
        actions = { r3; }
        default_action = r3(0xFF);
        const entries = {
            @priority(3) 0x0000 &&& 0x0000: r3(0xA1);
            @priority(1) 0x0F00 &&& 0x0F00: r3(0xA3);
        }
    }
    // lpm and exact const entries, plus a non-const list
    table routes {
        key = { hdr.h.b: lpm; }
        actions = { r3; NoAction; }
        entries = {
            0x1200 &&& 0xFF00: r3(0x12);
            0x1234: r3(0x34);
        }
    }

    apply {
        sm.egress_spec = 1;
        ordered.apply();
        prioritized.apply();
        if (hdr.h.a == 0x22) {
            annotated.apply();
        } else {
            routes.apply();
        }
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
