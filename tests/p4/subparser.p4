// A sub-parser instantiated in the parser and applied from a state (twice, for two TLVs):
// its states run inline and its accept continues the calling state.
#include <core.p4>
#include <v1model.p4>

header tlv_t { bit<8> type; bit<8> len; }
header value8_t { bit<8> v; }
header value16_t { bit<16> v; }
header tail_t { bit<8> marker; }

struct tlv_slot_t { tlv_t tlv; value8_t v8; value16_t v16; }
struct headers_t { tlv_slot_t first; tlv_slot_t second; tail_t tail; }
struct meta_t { bit<8> seen; }

parser TlvParser(packet_in pkt, out tlv_slot_t slot, inout meta_t meta) {
    state start {
        pkt.extract(slot.tlv);
        meta.seen = meta.seen + 1;
        transition select(slot.tlv.type) {
            1: one_byte;
            2: two_bytes;
            default: accept;
        }
    }
    state one_byte { pkt.extract(slot.v8); transition accept; }
    state two_bytes { pkt.extract(slot.v16); transition accept; }
}

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    TlvParser() tlv_parser;
    state start {
        meta.seen = 0;
        tlv_parser.apply(pkt, hdr.first, meta);
        tlv_parser.apply(pkt, hdr.second, meta);
        pkt.extract(hdr.tail);
        transition accept;
    }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        hdr.tail.marker = meta.seen;
    }
}
control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.first);
        pkt.emit(hdr.second);
        pkt.emit(hdr.tail);
    }
}

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
