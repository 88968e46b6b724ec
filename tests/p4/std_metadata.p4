// Every standard_metadata field: ingress_port, egress_spec, egress_port, instance_type,
// packet_length, enq_timestamp, enq_qdepth, deq_timedelta, deq_qdepth,
// ingress_global_timestamp, egress_global_timestamp, mcast_grp, egress_rid, checksum_error,
// parser_error, priority. Ingress values travel in metadata; egress writes them out.
#include <core.p4>
#include <v1model.p4>

header in_t { bit<8> out_port; bit<8> prio; }
header report_t {
    bit<16> ingress_port;
    bit<16> egress_spec_in;
    bit<16> egress_port;
    bit<32> instance_type;
    bit<32> packet_length;
    bit<32> enq_timestamp;
    bit<32> enq_qdepth;
    bit<32> deq_timedelta;
    bit<32> deq_qdepth;
    bit<48> ingress_ts;
    bit<48> egress_ts;
    bit<16> mcast_grp;
    bit<16> egress_rid;
    bit<8>  checksum_error;
    bit<8>  parser_error_is_none;
    bit<8>  priority;
}
struct headers_t { in_t inp; report_t report; }
struct meta_t {
    bit<9>  ingress_port;
    bit<9>  egress_spec;
    bit<48> ingress_ts;
}

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.inp); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = (bit<9>)hdr.inp.out_port;
        sm.priority = (bit<3>)hdr.inp.prio;
        meta.ingress_port = sm.ingress_port;
        meta.egress_spec = sm.egress_spec;
        meta.ingress_ts = sm.ingress_global_timestamp;
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        hdr.report.setValid();
        hdr.report.ingress_port = (bit<16>)meta.ingress_port;
        hdr.report.egress_spec_in = (bit<16>)meta.egress_spec;
        hdr.report.egress_port = (bit<16>)sm.egress_port;
        hdr.report.instance_type = sm.instance_type;
        hdr.report.packet_length = sm.packet_length;
        hdr.report.enq_timestamp = sm.enq_timestamp;
        hdr.report.enq_qdepth = (bit<32>)sm.enq_qdepth;
        hdr.report.deq_timedelta = sm.deq_timedelta;
        hdr.report.deq_qdepth = (bit<32>)sm.deq_qdepth;
        hdr.report.ingress_ts = meta.ingress_ts;
        hdr.report.egress_ts = sm.egress_global_timestamp;
        hdr.report.mcast_grp = sm.mcast_grp;
        hdr.report.egress_rid = sm.egress_rid;
        hdr.report.checksum_error = (bit<8>)sm.checksum_error;
        hdr.report.parser_error_is_none = sm.parser_error == error.NoError ? 8w1 : 8w0;
        hdr.report.priority = (bit<8>)sm.priority;
    }
}

control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.inp);
        pkt.emit(hdr.report);
    }
}

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
