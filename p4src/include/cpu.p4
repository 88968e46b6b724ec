/* cpn-p4 pipeline: the CPU port (P4Runtime packet-in / packet-out).
 *
 * packet_out (controller -> switch, on CPU_PORT):
 *   mode PACKET_OUT_DIRECT: sent out of packet_out.egress_port as is, no pipeline processing;
 *   mode PACKET_OUT_INJECT: processed by the whole ingress pipeline as if it had arrived on
 *   CPU_PORT (routing, AISID classification, SRv6, ...).
 * packet_in (switch -> controller): every packet whose egress port is CPU_PORT gets
 *   { ingress_port, reason } in front of its Ethernet header (reason PUNT_*, 0 = routed there).
 */
#ifndef CPN_CPU_P4
#define CPN_CPU_P4

control CpuIngress(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    apply {
        if (hdr.packet_out.isValid()) {
            if (hdr.packet_out.mode == PACKET_OUT_DIRECT) {
                standard_metadata.egress_spec = (bit<9>)hdr.packet_out.egress_port;
                meta.skip_pipeline = 1;
            } else if (hdr.packet_out.mode != PACKET_OUT_INJECT) {
                meta.drop_reason = DROP_PACKET_OUT_INVALID;
            }
            hdr.packet_out.setInvalid();
        }
    }
}

control CpuEgress(inout headers_t hdr,
                  inout local_metadata_t meta,
                  inout standard_metadata_t standard_metadata) {
    apply {
        if (standard_metadata.egress_port == CPU_PORT) {
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = meta.ingress_port;
            hdr.packet_in.reason = meta.punt_reason;
        }
    }
}

#endif
