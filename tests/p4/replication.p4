// Packet replication: clone (I2E and E2E), clone_preserving_field_list, resubmit- and
// recirculate_preserving_field_list with @field_list metadata, multicast groups with
// replication ids; instance_type, egress_port, egress_rid and mcast_grp.
#include <core.p4>
#include <v1model.p4>

#define I2E_CLONE_SESSION 5

header h_t {
    bit<8>  mode;
    bit<8>  itype;
    bit<8>  where;
    bit<16> rid;
    bit<8>  kept;
    bit<8>  not_kept;
}
struct headers_t { h_t h; }
struct meta_t {
    @field_list(1)
    bit<8> kept;
    bit<8> not_kept;
}

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        if (hdr.h.mode == 1) {
            clone(CloneType.I2E, I2E_CLONE_SESSION);
        } else if (hdr.h.mode == 2) {
            meta.kept = 0x55;
            meta.not_kept = 0x66;
            clone_preserving_field_list(CloneType.I2E, I2E_CLONE_SESSION, 1);
        } else if (hdr.h.mode == 3) {
            if (sm.instance_type == 0) {
                meta.kept = 0x77;
                meta.not_kept = 0x78;
                resubmit_preserving_field_list(1);
            } else {
                meta.not_kept = (bit<8>)sm.instance_type;
                sm.egress_spec = 2;
            }
        } else if (hdr.h.mode == 5) {
            sm.mcast_grp = 1;
        } else if (hdr.h.mode == 4 && sm.instance_type == 4) {
            meta.not_kept = (bit<8>)sm.instance_type;
            sm.egress_spec = 2;
        }
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        // instance_type is NORMAL again in egress after a resubmit or recirculation, so the
        // preserved field tells the second pass apart
        if (hdr.h.mode == 4 && meta.kept == 0) {
            meta.kept = 0x88;
            meta.not_kept = 0x89;
            recirculate_preserving_field_list(1);
        }
        if (hdr.h.mode == 6 && sm.instance_type == 0) {
            clone(CloneType.E2E, I2E_CLONE_SESSION);
        }
        hdr.h.itype = (bit<8>)sm.instance_type;
        hdr.h.where = (bit<8>)sm.egress_port;
        hdr.h.rid = sm.egress_rid;
        hdr.h.kept = meta.kept;
        hdr.h.not_kept = meta.not_kept;
    }
}

control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
