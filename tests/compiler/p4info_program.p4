// A program exercising P4Info generation (used by test_p4info.py).
#include <core.p4>
#include <v1model.p4>

@p4runtime_translation("p4.org/psa/v1/PortId_t", 32)
type bit<9> PortId_t;
enum bit<8> Color_t { RED = 1, GREEN = 2 }

@controller_header("packet_in")
header packet_in_t {
    bit<9> ingress_port;
    @id(7) bit<7> pad;
}
@controller_header("packet_out")
header packet_out_t {
    PortId_t egress_port;
    bit<7> pad;
}
header h_t { bit<8> a; bit<16> b; bit<32> c; }
struct headers_t { packet_out_t pout; packet_in_t in_; h_t h; }
struct learn_t { bit<8> a; bit<16> b; }
struct pair_t { bit<8> x; bit<8> y; }
struct meta_t { bit<8> color; }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    value_set<pair_t>(4) pvs;
    value_set<bit<16>>(8) ports;
    state start {
        pkt.extract(hdr.h);
        transition select(hdr.h.a, hdr.h.a) {
            pvs: accept;
            default: next;
        }
    }
    state next {
        transition select(hdr.h.b) {
            ports: accept;
            default: accept;
        }
    }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    counter(64, CounterType.bytes) bytes_ctr;
    meter(16, MeterType.bytes) rate;
    register<bit<16>>(32) regs;
    direct_counter(CounterType.packets_and_bytes) dcount;
    direct_meter<bit<8>>(MeterType.packets) dmeter;
    @max_group_size(8) action_selector(HashAlgorithm.crc32, 128, 16) sel;
    action_profile(64) prof;

    @brief("set egress port") @description("long text")
    action fwd(PortId_t port, @id(5) bit<8> tag) { sm.egress_spec = (bit<9>)port; hdr.h.a = tag; }
    @id(0x01000123) action colour(Color_t c) { meta.color = (bit<8>)c; }
    action metered() { dmeter.read(meta.color); }
    @hidden action hidden_action() { }

    @id(0x2061b41) table t1 {
        key = { hdr.h.a: exact; }
        actions = { fwd; @tableonly colour; @defaultonly NoAction; }
        const default_action = NoAction();
        size = 100;
    }
    table t2 {
        key = {
            hdr.h.b: ternary @name("b");
            hdr.h.c: range;
            hdr.h.a: optional;
            hdr.pout.egress_port: exact @name("port");
        }
        actions = { fwd; metered; }
        counters = dcount;
        meters = dmeter;
        support_timeout = true;
    }
    table t3 {
        key = { hdr.h.a: exact; hdr.h.b: selector; }
        actions = { fwd; }
        implementation = sel;
    }
    table t4 {
        key = { hdr.h.c: lpm; }
        actions = { fwd; }
        implementation = prof;
        const entries = {
            0x0A000000 &&& 0xFF000000: fwd((PortId_t)1, 2);
        }
    }
    @hidden table hidden_table {
        actions = { hidden_action; }
        default_action = hidden_action();
    }

    apply {
        t1.apply();
        t2.apply();
        t3.apply();
        t4.apply();
        hidden_table.apply();
        bytes_ctr.count(0);
        rate.execute_meter(32w1, meta.color);
        regs.write(1, 16w7);
        digest<learn_t>(1, { hdr.h.a, hdr.h.b });
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) {
    apply { pkt.emit(hdr.in_); pkt.emit(hdr.h); }
}

@pkginfo(name = "p4info_test", version = "1.2")
@brief("P4Info test program")
V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
