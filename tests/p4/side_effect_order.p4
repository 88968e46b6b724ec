// Order of evaluation: '||', '&&' and '?:' run a call (function, table apply) in an operand
// only when P4 evaluates that operand; the left-hand side of an assignment (with a run-time
// index) is evaluated before its right-hand side; a function's value may be dropped.
#include <core.p4>
#include <v1model.p4>

header data_t {
    bit<8> sel;
    bit<8> a;
    bit<8> b;
    bit<8> c;
    bit<8> d;
    bit<8> e;
    bit<8> f;
    bit<8> g;
    bit<8> idx;
}
header elem_t { bit<8> v; }

struct headers_t { data_t d; elem_t[2] s; }
struct meta_t { }

bool probe(inout bit<8> calls, in bool answer) {
    calls = calls + 1;
    return answer;
}

bit<8> bump(inout bit<8> x) {
    x = x + 1;
    return x;
}

bit<1> first(inout bit<8> sel) {
    sel = 1;
    return 0;
}

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.d);
        pkt.extract(hdr.s.next);
        pkt.extract(hdr.s.next);
        transition accept;
    }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action mark_sel() { hdr.d.g = hdr.d.g | 0x80; }
    action mark_a() { hdr.d.g = hdr.d.g | 0x04; }
    action mark_b() { hdr.d.g = hdr.d.g | 0x08; }
    table t_sel {
        key = { hdr.d.sel : exact; }
        actions = { mark_sel; NoAction; }
        const entries = { 1 : mark_sel(); }
        default_action = NoAction();
    }
    table t_a {
        key = { hdr.d.sel : exact; }
        actions = { mark_a; NoAction; }
        const entries = { 1 : mark_a(); }
        default_action = NoAction();
    }
    table t_b {
        key = { hdr.d.sel : exact; }
        actions = { mark_b; NoAction; }
        const entries = { 0 : mark_b(); 1 : mark_b(); 2 : mark_b(); }
        default_action = NoAction();
    }
    apply {
        sm.egress_spec = 1;
        bool x = hdr.d.sel == 0 || probe(hdr.d.a, true);
        bool y = hdr.d.sel == 0 && probe(hdr.d.b, false);
        if (x) { hdr.d.c = hdr.d.c | 1; }
        if (y) { hdr.d.c = hdr.d.c | 2; }
        hdr.d.d = hdr.d.sel == 1 ? bump(hdr.d.e) : 8w0x55;
        if (hdr.d.sel == 2 || t_sel.apply().hit) { hdr.d.g = hdr.d.g | 1; }
        if (t_a.apply().hit && t_b.apply().hit) { hdr.d.g = hdr.d.g | 0x10; }
        bump(hdr.d.f);
        hdr.s[first(hdr.d.sel)].v = bump(hdr.d.sel);
        hdr.s[hdr.d.idx].v = bump(hdr.d.idx);
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
