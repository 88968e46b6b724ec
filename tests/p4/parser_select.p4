// Parser: select on a tuple with masks (&&&), ranges (..), don't-care (_) and default;
// a value set; lookahead in select and in an assignment; advance; verify; explicit reject;
// if statements inside a state.
#include <core.p4>
#include <v1model.p4>

header a_t { bit<8> x; bit<8> y; }
header path_t { bit<8> state_id; bit<8> peek; bit<8> odd; }

struct headers_t { path_t path; a_t a; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    value_set<bit<8>>(4) special;

    state start {
        hdr.path.setValid();
        hdr.path.peek = pkt.lookahead<bit<8>>();
        transition select(pkt.lookahead<bit<16>>()[15:8]) {
            0xAA: skip2;
            default: parse_a;
        }
    }
    state skip2 {
        pkt.advance(16);
        transition parse_a;
    }
    state parse_a {
        pkt.extract(hdr.a);
        if (hdr.a.y[0:0] == 1) {
            hdr.path.odd = 1;
        } else {
            hdr.path.odd = 2;
        }
        transition select(hdr.a.x, hdr.a.y) {
            (0x10 &&& 0xF0, _): masked;
            (0x20 .. 0x2F, 0x01): ranged;
            (0x30, 0x30 .. 0x3F): ranged2;
            (_, 0xFF): fail;
            (0x40, _): check;
            (0x50, 0x50): vset;
            default: other;
        }
    }
    state masked { hdr.path.state_id = 1; transition accept; }
    state ranged { hdr.path.state_id = 2; transition accept; }
    state ranged2 { hdr.path.state_id = 3; transition accept; }
    state fail { hdr.path.state_id = 4; transition reject; }
    state check {
        hdr.path.state_id = 5;
        verify(hdr.a.y < 0x80, error.ParserInvalidArgument);
        transition accept;
    }
    state vset {
        transition select(hdr.a.y) {
            special: in_set;
            default: not_in_set;
        }
    }
    state in_set { hdr.path.state_id = 6; transition accept; }
    state not_in_set { hdr.path.state_id = 7; transition accept; }
    state other { hdr.path.state_id = 8; transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        // the parser error, if any, goes out as the egress port (port 1 = no error)
        if (sm.parser_error == error.NoError) {
            sm.egress_spec = 1;
        } else if (sm.parser_error == error.ParserInvalidArgument) {
            sm.egress_spec = 2;
        } else if (sm.parser_error == error.PacketTooShort) {
            sm.egress_spec = 3;
        } else {
            sm.egress_spec = 4;
        }
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.path);
        pkt.emit(hdr.a);
    }
}

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
