/* cpn-p4 pipeline: counters, queue state and path probes (behaviour 8).
 *
 * Ingress (CpnIngress.telemetry):
 *   port_rx[ingress port]       packets/bytes received (first pass only)
 *   service_packets[service_id] packets/bytes of classified requests
 *   drop_reasons[DROP_*]        packets dropped, by reason
 * Egress (CpnEgress.telemetry):
 *   port_tx[egress port]        packets/bytes sent
 *   queue_depth[egress port]    egress queue depth (packets) seen by the last packet at enqueue
 *   queue_delay_us[egress port] time the last packet spent in the egress queue
 *   switch_id[0]                this switch's id, stamped in probes
 * Probes (UDP destination port PROBE_UDP_PORT): every switch pushes a hop record
 * { switch_id, ingress_port, egress_port, queue_depth, ingress_ts, egress_ts } at the front of
 * the probe's list (or sets PROBE_FLAG_OVERFLOW when MAX_PROBE_HOPS are already there) and
 * updates the UDP/IPv6 lengths and the UDP checksum.
 */
#ifndef CPN_TELEMETRY_P4
#define CPN_TELEMETRY_P4

control TelemetryIngress(inout headers_t hdr,
                         inout local_metadata_t meta,
                         inout standard_metadata_t standard_metadata) {
    counter<bit<32>>(PORT_COUNT, CounterType.packets_and_bytes) port_rx;
    counter<bit<32>>(SERVICE_COUNT, CounterType.packets_and_bytes) service_packets;
    counter<bit<32>>(DROP_REASON_COUNTER_SIZE, CounterType.packets) drop_reasons;

    apply {
        if (standard_metadata.instance_type != PKT_INSTANCE_TYPE_RECIRC) {
            port_rx.count((bit<32>)meta.ingress_port);
            if (meta.classified == 1) {
                service_packets.count((bit<32>)meta.service_id);
            }
        }
        if (meta.drop_reason != DROP_NONE) {
            drop_reasons.count((bit<32>)meta.drop_reason);
        }
    }
}

control TelemetryEgress(inout headers_t hdr,
                        inout local_metadata_t meta,
                        inout standard_metadata_t standard_metadata) {
    counter<bit<32>>(PORT_COUNT, CounterType.packets_and_bytes) port_tx;
    register<bit<32>, bit<32>>(PORT_COUNT) queue_depth;
    register<bit<32>, bit<32>>(PORT_COUNT) queue_delay_us;
    register<bit<16>, bit<32>>(1) switch_id;

    bit<16> id = 0;
    bit<16> depth = 0;
    bit<16> old_word = 0;
    bit<16> new_word = 0;
    bit<16> old_len = 0;

    apply {
        port_tx.count((bit<32>)standard_metadata.egress_port);
        queue_depth.write((bit<32>)standard_metadata.egress_port,
                          (bit<32>)standard_metadata.enq_qdepth);
        queue_delay_us.write((bit<32>)standard_metadata.egress_port,
                             standard_metadata.deq_timedelta);

        if (hdr.probe.isValid()) {
            if (hdr.probe.hop_count < MAX_PROBE_HOPS) {
                switch_id.read(id, 0);
                if (standard_metadata.enq_qdepth > 0xffff) {
                    depth = 0xffff;
                } else {
                    depth = (bit<16>)standard_metadata.enq_qdepth;
                }
                old_word = ((bit<16>)hdr.probe.hop_count << 8) | (bit<16>)hdr.probe.reserved;
                old_len = hdr.udp.length;

                hdr.probe_hops.push_front(1);
                hdr.probe_hops[0].setValid();
                hdr.probe_hops[0].switch_id = id;
                hdr.probe_hops[0].ingress_port = meta.ingress_port;
                hdr.probe_hops[0].egress_port = (bit<16>)standard_metadata.egress_port;
                hdr.probe_hops[0].queue_depth = depth;
                hdr.probe_hops[0].ingress_ts = meta.ingress_ts;
                hdr.probe_hops[0].egress_ts = standard_metadata.egress_global_timestamp;
                hdr.probe.hop_count = hdr.probe.hop_count + 1;
                new_word = ((bit<16>)hdr.probe.hop_count << 8) | (bit<16>)hdr.probe.reserved;

                hdr.udp.length = hdr.udp.length + 20;
                if (hdr.inner_ipv6.isValid()) {
                    hdr.inner_ipv6.payload_len = hdr.inner_ipv6.payload_len + 20;
                }
                hdr.ipv6.payload_len = hdr.ipv6.payload_len + 20;

                /* UDP checksum: the new record, the hop count, the length (twice: UDP header
                 * and pseudo-header). */
                CSUM_ADD16(meta.csum_delta, id);
                CSUM_ADD16(meta.csum_delta, meta.ingress_port);
                CSUM_ADD16(meta.csum_delta, hdr.probe_hops[0].egress_port);
                CSUM_ADD16(meta.csum_delta, depth);
                CSUM_ADD16(meta.csum_delta, meta.ingress_ts[47:32]);
                CSUM_ADD16(meta.csum_delta, meta.ingress_ts[31:16]);
                CSUM_ADD16(meta.csum_delta, meta.ingress_ts[15:0]);
                CSUM_ADD16(meta.csum_delta, standard_metadata.egress_global_timestamp[47:32]);
                CSUM_ADD16(meta.csum_delta, standard_metadata.egress_global_timestamp[31:16]);
                CSUM_ADD16(meta.csum_delta, standard_metadata.egress_global_timestamp[15:0]);
                CSUM_REPLACE16(meta.csum_delta, old_word, new_word);
                CSUM_REPLACE16(meta.csum_delta, old_len, hdr.udp.length);
                CSUM_REPLACE16(meta.csum_delta, old_len, hdr.udp.length);
            } else if ((hdr.probe.flags & PROBE_FLAG_OVERFLOW) == 0) {
                old_word = ((bit<16>)hdr.probe.flags << 8) | (bit<16>)hdr.probe.path_id;
                hdr.probe.flags = hdr.probe.flags | PROBE_FLAG_OVERFLOW;
                new_word = ((bit<16>)hdr.probe.flags << 8) | (bit<16>)hdr.probe.path_id;
                CSUM_REPLACE16(meta.csum_delta, old_word, new_word);
            }
        }
    }
}

#endif
