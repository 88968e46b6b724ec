// Stateful externs: register read/write, indexed counter, indexed meter (execute_meter),
// direct_counter and direct_meter attached to a table.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8>  idx;
    bit<32> reg_before;
    bit<8>  color;
    bit<8>  direct_color;
    bit<8>  hit;
}
struct headers_t { h_t h; }
struct meta_t { bit<8> dcolor; }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    register<bit<32>>(8) seen;
    counter(8, CounterType.packets_and_bytes) per_idx;
    meter(8, MeterType.packets) limiter;
    direct_counter(CounterType.packets) hits;
    direct_meter<bit<8>>(MeterType.packets) policer;

    action mark() {
        hdr.h.hit = 1;
        policer.read(meta.dcolor);
    }
    table classify {
        key = { hdr.h.idx: exact; }
        actions = { mark; NoAction; }
        counters = hits;
        meters = policer;
        default_action = NoAction();
    }

    apply {
        sm.egress_spec = 1;
        bit<32> index = (bit<32>)hdr.h.idx;
        bit<32> value;
        seen.read(value, index);
        hdr.h.reg_before = value;
        seen.write(index, value + 1);
        per_idx.count(index);
        limiter.execute_meter(index, hdr.h.color);
        meta.dcolor = 0xFF;
        classify.apply();
        hdr.h.direct_color = meta.dcolor;
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
