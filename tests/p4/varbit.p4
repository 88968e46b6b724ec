// varbit: IPv4 options extracted with a run-time length (extract with two arguments) and
// emitted again; the TTL is decremented behind them.
#include <core.p4>
#include <v1model.p4>

header ipv4_t {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  tos;
    bit<16> total_len;
    bit<16> id;
    bit<16> frag;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> checksum;
    bit<32> src;
    bit<32> dst;
}
header ipv4_options_t { varbit<320> options; }
header tail_t { bit<8> opt_bytes; }

struct headers_t { ipv4_t ipv4; ipv4_options_t opts; tail_t tail; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.ipv4);
        verify(hdr.ipv4.ihl >= 5, error.HeaderTooShort);
        pkt.extract(hdr.opts, (bit<32>)(hdr.ipv4.ihl - 5) * 32);
        transition accept;
    }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
        hdr.tail.setValid();
        hdr.tail.opt_bytes = ((bit<8>)hdr.ipv4.ihl - 5) * 4;
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.opts);
        pkt.emit(hdr.tail);
    }
}

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
