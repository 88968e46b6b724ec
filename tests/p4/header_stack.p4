// Header stacks: a parser loop with extract(stack.next), select on stack.last and lastIndex
// (both parser-only in P4_16), constant and run-time indexing, push_front, pop_front (control-only),
// stack overflow (StackOutOfBounds).
#include <core.p4>
#include <v1model.p4>

header op_t {
    bit<8> op;     // 1: pop_front(1), 2: push_front(1) and fill [0], else unchanged
    bit<8> idx;    // run-time index to modify
    bit<8> depth;  // out: lastIndex + 1 after the parser
    bit<8> err;    // out: 1 when the parser hit StackOutOfBounds
}

header label_t {
    bit<20> label;
    bit<3>  tc;
    bit<1>  bos;
    bit<8>  ttl;
}

struct headers_t {
    op_t       op;
    label_t[3] labels;
}
struct meta_t {
    bit<8> depth;  // lastIndex + 1, set in the parser (lastIndex is parser-only)
}

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.op);
        transition parse_label;
    }
    state parse_label {
        pkt.extract(hdr.labels.next);
        meta.depth = (bit<8>)(hdr.labels.lastIndex + 1);
        transition select(hdr.labels.last.bos) {
            1: accept;
            default: parse_label;
        }
    }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        if (sm.parser_error == error.StackOutOfBounds) {
            hdr.op.err = 1;
            return;
        }
        hdr.op.depth = meta.depth;
        hdr.labels[0].ttl = hdr.labels[0].ttl - 1;
        hdr.labels[hdr.op.idx].tc = 7;
        if (hdr.op.op == 1) {
            hdr.labels.pop_front(1);
        } else if (hdr.op.op == 2) {
            hdr.labels.push_front(1);
            hdr.labels[0].setValid();
            hdr.labels[0] = { 20w0xABCDE, 3w0, 1w0, 8w64 };
        }
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.op);
        pkt.emit(hdr.labels);
    }
}

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
