/*
 * rt_features.p4 — a small v1model program exercising every P4Runtime entity the embedded
 * server serves: exact/LPM/ternary/range/optional tables, priorities, direct counter and
 * meter, idle timeout, a const table, an action profile and an action selector, indirect
 * counter/meter, a register, a parser value set, a digest, multicast, clone sessions and
 * packet-in/packet-out controller headers.  Standard P4_16 (compiles with p4c-bm2-ss too).
 */
#include <core.p4>
#include <v1model.p4>

#define CPU_PORT 255

typedef bit<9> port_t;

@controller_header("packet_out")
header packet_out_t {
    port_t  egress_port;
    bit<7>  _pad;
}

@controller_header("packet_in")
header packet_in_t {
    port_t  ingress_port;
    bit<7>  reason;
}

header ethernet_t {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

header ipv4_t {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  diffserv;
    bit<16> total_len;
    bit<16> identification;
    bit<3>  flags;
    bit<13> frag_offset;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> hdr_checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
}

header l4_t {
    bit<16> src_port;
    bit<16> dst_port;
}

struct headers_t {
    packet_out_t packet_out;
    packet_in_t  packet_in;
    ethernet_t   ethernet;
    ipv4_t       ipv4;
    l4_t         l4;
}

struct learn_t {
    bit<48> src_addr;
    port_t  ingress_port;
}

struct metadata_t {
    bit<1>  special;
    bit<2>  color;
    bit<7>  reason;
}

parser FParser(packet_in packet, out headers_t hdr, inout metadata_t meta,
               inout standard_metadata_t standard_metadata) {
    value_set<bit<16>>(4) special_types;

    state start {
        transition select(standard_metadata.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }
    state parse_packet_out {
        packet.extract(hdr.packet_out);
        transition parse_ethernet;
    }
    state parse_ethernet {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x0800: parse_ipv4;
            special_types: parse_special;
            default: accept;
        }
    }
    state parse_special {
        meta.special = 1;
        transition accept;
    }
    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        transition select(hdr.ipv4.protocol) {
            6: parse_l4;
            17: parse_l4;
            default: accept;
        }
    }
    state parse_l4 {
        packet.extract(hdr.l4);
        transition accept;
    }
}

control FVerify(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control FIngress(inout headers_t hdr, inout metadata_t meta,
                 inout standard_metadata_t standard_metadata) {
    counter(64, CounterType.packets_and_bytes) port_in;
    meter(16, MeterType.packets) port_meter;
    register<bit<32>>(8) last_len;
    direct_counter(CounterType.packets_and_bytes) l2_counter;
    direct_meter<bit<2>>(MeterType.bytes) acl_meter;
    action_selector(HashAlgorithm.crc16, 32w64, 32w16) ecmp_selector;
    action_profile(32w32) nh_profile;

    action drop() {
        mark_to_drop(standard_metadata);
    }
    action fwd(port_t port) {
        standard_metadata.egress_spec = port;
    }
    action to_cpu(bit<7> reason) {
        meta.reason = reason;
        standard_metadata.egress_spec = CPU_PORT;
    }
    action flood(bit<16> group) {
        standard_metadata.mcast_grp = group;
    }
    action mirror(bit<32> session, port_t port) {
        clone(CloneType.I2E, session);
        standard_metadata.egress_spec = port;
    }
    action learn() {
        digest<learn_t>(1, {hdr.ethernet.src_addr, standard_metadata.ingress_port});
    }
    action acl_fwd(port_t port) {
        acl_meter.read(meta.color);
        standard_metadata.egress_spec = port;
    }
    action set_dmac(bit<48> dmac, port_t port) {
        hdr.ethernet.dst_addr = dmac;
        standard_metadata.egress_spec = port;
    }

    table l2 {
        key = { hdr.ethernet.dst_addr: exact; }
        actions = { fwd; to_cpu; flood; mirror; drop; }
        counters = l2_counter;
        support_timeout = true;
        size = 512;
        default_action = drop();
    }

    table smac {
        key = { hdr.ethernet.src_addr: exact; }
        actions = { NoAction; learn; }
        size = 64;
        default_action = learn();
    }

    table acl {
        key = {
            hdr.ipv4.src_addr: ternary;
            hdr.ipv4.dst_addr: lpm;
            hdr.l4.dst_port: range;
            hdr.ipv4.protocol: optional;
        }
        actions = { acl_fwd; drop; NoAction; }
        meters = acl_meter;
        size = 32;
        default_action = NoAction();
    }

    table ecmp {
        key = {
            hdr.ipv4.dst_addr: lpm;
            hdr.ipv4.src_addr: selector;
            hdr.l4.src_port: selector;
            hdr.l4.dst_port: selector;
        }
        actions = { set_dmac; drop; }
        implementation = ecmp_selector;
        size = 16;
    }

    table nh {
        key = { hdr.ethernet.ether_type: exact; }
        actions = { set_dmac; drop; }
        implementation = nh_profile;
        size = 16;
    }

    table dscp {
        key = { hdr.ipv4.diffserv: exact; }
        actions = { fwd; NoAction; }
        const default_action = NoAction();
        const entries = {
            0x2e : fwd(7);
            0x0a : fwd(6);
        }
    }

    apply {
        port_in.count((bit<32>)standard_metadata.ingress_port);
        last_len.write((bit<32>)standard_metadata.ingress_port & 7,
                       standard_metadata.packet_length);
        if (hdr.packet_out.isValid()) {
            standard_metadata.egress_spec = hdr.packet_out.egress_port;
            hdr.packet_out.setInvalid();
            exit;
        }
        bit<2> port_color;
        port_meter.execute_meter((bit<32>)standard_metadata.ingress_port & 15, port_color);
        if (port_color == 2) {
            drop();
            exit;
        }
        if (meta.special == 1) {
            to_cpu(2);
            exit;
        }
        smac.apply();
        if (!l2.apply().hit) {
            if (hdr.ipv4.isValid()) {
                dscp.apply();
                acl.apply();
                if (hdr.ipv4.ttl == 64) {
                    ecmp.apply();
                } else if (hdr.ipv4.ttl == 32) {
                    nh.apply();
                }
            }
        }
    }
}

control FEgress(inout headers_t hdr, inout metadata_t meta,
                inout standard_metadata_t standard_metadata) {
    apply {
        if (standard_metadata.egress_port == CPU_PORT) {
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = standard_metadata.ingress_port;
            hdr.packet_in.reason = meta.reason;
        }
    }
}

control FCompute(inout headers_t hdr, inout metadata_t meta) {
    apply { }
}

control FDeparser(packet_out packet, in headers_t hdr) {
    apply {
        packet.emit(hdr.packet_in);
        packet.emit(hdr.ethernet);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.l4);
    }
}

V1Switch(FParser(), FVerify(), FIngress(), FEgress(), FCompute(), FDeparser()) main;
