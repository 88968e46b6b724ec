/* cpn-p4 pipeline: CQF two-queue cycling (IEEE 802.1Qch) for deterministic traffic (behaviour 6).
 *
 *   ports        (port exact) -> enable(cycle_shift, cycle_bytes)          [topology config]
 *       cycle T = 2^cycle_shift µs on that egress port; cycle_bytes = what one cycle may carry
 *   flow_offsets (policy_version exact, src_addr ternary, flow_label ternary) -> set_offset(o)
 *       o in {0, 1}: extra cycles a flow waits          [scheduler: D3QN transmission slots]
 *
 * A deterministic packet (classified TC_DETERMINISTIC at a gateway, or carrying outer DSCP
 * DSCP_DETERMINISTIC at a transit) towards a CQF port, arriving in cycle c = now >> cycle_shift,
 * is sent in cycle t = c + 1 + o. Each (port, cycle parity) has a byte budget: a packet that
 * would exceed cycle_bytes in its cycle is dropped (DROP_CQF_OVERFLOW, counted per port in
 * overflows) so that every admitted packet leaves within its cycle.
 *
 * Default build (embedded target: the traffic manager's CQF gate on the port sends queue
 * (c mod 2) of the pair during cycle c): the packet is queued at priority
 * CQF_PRIORITY_BASE + (t mod 2). With o = 1 it is first held by recirculation until cycle c+1
 * opens (two queues cannot express c+2).
 * -DCQF_RECIRCULATE build (real BMv2, no gates): the packet is held by recirculation until
 * cycle t opens, then sent at priority CQF_PRIORITY_BASE + 1 (strict priority).
 * Held packets loop through CQF_HOLD_PORT (an unused port: they recirculate, never leave)
 * at priority CQF_PRIORITY_BASE - 1; CqfEgress compares the egress timestamp with the release
 * cycle on every pass and marks the packet ready, and the next ingress pass sends it to its
 * port. After CQF_MAX_HOLD_PASSES passes a packet is released whatever the time.
 * Best effort traffic is queued at BEST_EFFORT_PRIORITY; deterministic traffic towards a port
 * without CQF at CQF_PRIORITY_BASE + 1.
 */
#ifndef CPN_CQF_P4
#define CPN_CQF_P4


control CqfIngress(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    register<bit<48>, bit<32>>(PORT_COUNT * 2) bucket_cycle;
    register<bit<32>, bit<32>>(PORT_COUNT * 2) bucket_bytes;
    counter<bit<32>>(PORT_COUNT, CounterType.packets) overflows;

    bit<48> now_cycle = 0;
    bit<48> target = 0;
    bit<32> bucket = 0;
    bit<48> stored_cycle = 0;
    bit<32> used = 0;
    bit<32> length = 0;

    action enable(bit<8> cycle_shift, bit<32> cycle_bytes) {
        meta.cqf_enabled = 1;
        meta.cqf_shift = cycle_shift;
        meta.cqf_cycle_bytes = cycle_bytes;
    }

    table ports {
        key = {
            standard_metadata.egress_spec : exact @name("port");
        }
        actions = {
            enable;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = PORT_COUNT;
    }

    action set_offset(bit<1> offset) {
        meta.cqf_offset = offset;
    }

    table flow_offsets {
        key = {
            meta.policy_version  : exact   @name("policy_version");
            hdr.ipv6.src_addr    : ternary @name("src_addr");
            hdr.ipv6.flow_label  : ternary @name("flow_label");
        }
        actions = {
            set_offset;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = 4096;
    }

    apply {
        if (standard_metadata.instance_type == PKT_INSTANCE_TYPE_RECIRC) {
            /* A held packet: CqfEgress decided whether its cycle has opened. */
            if (meta.cqf_ready == 1) {
                meta.cqf_hold = 0;
                standard_metadata.egress_spec = (bit<9>)meta.cqf_port;
                standard_metadata.priority = (bit<3>)meta.cqf_priority;
            } else {
                meta.cqf_hold = 1;
                standard_metadata.egress_spec = CQF_HOLD_PORT;
                standard_metadata.priority = CQF_PRIORITY_BASE - 1;
            }
        } else if (meta.traffic_class == TC_DETERMINISTIC) {
            ports.apply();
            if (meta.cqf_enabled == 0) {
                standard_metadata.priority = CQF_PRIORITY_BASE + 1;
            } else {
                flow_offsets.apply();
                now_cycle = meta.ingress_ts >> meta.cqf_shift;
                target = now_cycle + 1 + (bit<48>)meta.cqf_offset;
                bucket = (((bit<32>)standard_metadata.egress_spec) << 1) | (bit<32>)target[0:0];
                bucket_cycle.read(stored_cycle, bucket);
                bucket_bytes.read(used, bucket);
                if (stored_cycle != target) {
                    used = 0;
                }
                length = standard_metadata.packet_length + meta.len_delta;
                if (used + length > meta.cqf_cycle_bytes) {
                    meta.drop_reason = DROP_CQF_OVERFLOW;
                    overflows.count((bit<32>)standard_metadata.egress_spec);
                } else {
                    bucket_cycle.write(bucket, target);
                    bucket_bytes.write(bucket, used + length);
                    meta.cqf_port = (bit<16>)standard_metadata.egress_spec;
                    meta.cqf_passes = 0;
                    meta.cqf_ready = 0;
#ifdef CQF_RECIRCULATE
                    meta.cqf_priority = CQF_PRIORITY_BASE + 1;
                    meta.cqf_release_cycle = target;
                    meta.cqf_hold = 1;
#else
                    meta.cqf_priority = CQF_PRIORITY_BASE + (bit<8>)target[0:0];
                    meta.cqf_release_cycle = now_cycle + (bit<48>)meta.cqf_offset;
                    meta.cqf_hold = meta.cqf_offset;
#endif
                    if (meta.cqf_hold == 1) {
                        standard_metadata.egress_spec = CQF_HOLD_PORT;
                        standard_metadata.priority = CQF_PRIORITY_BASE - 1;
                    } else {
                        standard_metadata.priority = (bit<3>)meta.cqf_priority;
                    }
                }
            }
        } else {
            standard_metadata.priority = BEST_EFFORT_PRIORITY;
        }
    }
}

/* Egress side of the hold: the egress timestamp is set on every pass (the ingress one is not
 * refreshed for recirculated packets on BMv2), so the release decision is taken here. */
control CqfEgress(inout headers_t hdr,
                  inout local_metadata_t meta,
                  inout standard_metadata_t standard_metadata) {
    apply {
        meta.cqf_passes = meta.cqf_passes + 1;
        if ((standard_metadata.egress_global_timestamp >> meta.cqf_shift) >= meta.cqf_release_cycle
                || meta.cqf_passes >= CQF_MAX_HOLD_PASSES) {
            meta.cqf_ready = 1;
        }
        recirculate_preserving_field_list(FL_CQF_HOLD);
    }
}

#endif
