/* cpn-p4 pipeline: site and path choice with flowlets at the ingress gateway (behaviour 3).
 *
 *   service_site (policy_version, service_id exact) -> set_site(site_id) | local_site()
 *                                    [scheduler: RLMS-CPN node choice / MAPPO orchestration]
 *   path_split   (policy_version, site_id exact) -> set_split(split_0, split_1, split_2)
 *                                    [scheduler: RLMS-CPN split ratios]
 * set_split takes cumulative thresholds out of SPLIT_SCALE (10000, i.e. 0.01% granularity):
 * a new flowlet draws p in [0, 10000) and takes path 0 if p < split_0, 1 if p < split_1,
 * 2 if p < split_2, else 3. Ratios 50/30/20 over three paths = set_split(5000, 8000, 10000).
 * Without a path_split entry every flowlet takes path 0.
 *
 * Flowlet state (registers, index = flow_hash mod FLOWLET_SLOTS):
 *   last_seen[i]  time of the flow's last packet (µs)
 *   path[i]       path_id + 1 of the current flowlet (0: none yet)
 *   version[i]    policy version the flowlet's path was chosen under
 *   timeout_us[0] idle gap that ends a flowlet (0: FLOWLET_DEFAULT_TIMEOUT_US)
 * A packet starts a new flowlet - and draws a path - when the flow has no flowlet, when it has
 * been idle for more than the timeout, or when the active policy version changed; otherwise it
 * keeps the flowlet's path. p = crc32(5-tuple, arrival time) mod 10000.
 * A probe with PROBE_FLAG_PINNED_PATH takes probe.path_id and leaves the flowlet state alone.
 *
 * Flow pinning (a request keeps its site): the site a flow was sent to is kept while the flow
 * is active, so that a new site decision (an interval's service_site change, a policy swap)
 * applies to new flows only and no request is split between two sites. A pin lives in one
 * of the flow's two candidate slots: bits 0.. and bits 16.. of the 5-tuple's crc32
 * (meta.flow_crc), each mod FLOWLET_SLOTS (the first = the flowlet slot above; see
 * traces.flowhash.flowlet_pin_slots), told apart by the crc16 signature meta.flow_sig.
 *   site[i]       site_id + 1 of the pin (FLOW_SITE_LOCAL: the gateway's own site; 0: none)
 *   site_sig[i]   crc16 of the pinned flow's 5-tuple
 *   site_seen[i]  last packet of the pinned flow (µs), refreshed only by that flow
 *   pin_us[0]     idle gap after which a pin is no longer kept (0: FLOW_PIN_DEFAULT_US)
 *   stats         FLOWLET_STAT_NEW_PIN per pin written, FLOWLET_STAT_UNPINNED per packet of a
 *                 flow that found both its slots held by other live pins
 * A pin is live while site != 0 and ingress_ts - site_seen <= pin_us. A packet whose flow has
 * a live pin in either slot goes to the kept site (overriding service_site) and refreshes
 * that slot's site_seen. Otherwise the flow claims the first of its slots that holds no live
 * pin (empty or idle) and pins the site service_site gave it. A live pin is never
 * overwritten: with both slots held by other live flows the packet is unpinned (follows
 * service_site as it is now) and counted. With L live pins in S slots a new flow finds both
 * slots held with a probability of about (L / S)^2 (one slot: L / S).
 * The flowlet path state (last_seen, path, version) stays in the first slot only: a
 * collision there only changes the path a flowlet takes, never its site.
 */
#ifndef CPN_FLOWLET_P4
#define CPN_FLOWLET_P4

control FlowletSplit(inout headers_t hdr,
                     inout local_metadata_t meta,
                     inout standard_metadata_t standard_metadata) {
    register<bit<48>, bit<32>>(FLOWLET_SLOTS) last_seen;
    register<bit<8>, bit<32>>(FLOWLET_SLOTS) path;
    register<bit<16>, bit<32>>(FLOWLET_SLOTS) version;
    register<bit<32>, bit<32>>(1) timeout_us;
    register<bit<16>, bit<32>>(FLOWLET_SLOTS) site;
    register<bit<16>, bit<32>>(FLOWLET_SLOTS) site_sig;
    register<bit<48>, bit<32>>(FLOWLET_SLOTS) site_seen;
    register<bit<32>, bit<32>>(1) pin_us;
    counter<bit<32>>(FLOWLET_STATS_SIZE, CounterType.packets) stats;

    bit<32> slot = 0;
    bit<32> slot_b = 0;
    bit<16> kept = 0;
    bit<16> kept_b = 0;
    bit<16> sig = 0;
    bit<16> sig_b = 0;
    bit<48> pin_seen = 0;
    bit<48> pin_seen_b = 0;
    bit<1> live = 0;
    bit<1> live_b = 0;
    bit<1> own = 0;
    bit<1> claim = 0;
    bit<32> pin = 0;
    bit<48> seen = 0;
    bit<8> current = 0;
    bit<16> chosen_version = 0;
    bit<32> timeout = 0;

    action set_site(bit<16> site_id) {
        meta.site_id = site_id;
        meta.site_found = 1;
    }

    action local_site() {
        meta.site_local = 1;
        meta.site_found = 1;
    }

    table service_site {
        key = {
            meta.policy_version : exact @name("policy_version");
            meta.service_id     : exact @name("service_id");
        }
        actions = {
            set_site;
            local_site;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = 4096;
    }

    action set_split(bit<16> split_0, bit<16> split_1, bit<16> split_2) {
        meta.split_0 = split_0;
        meta.split_1 = split_1;
        meta.split_2 = split_2;
    }

    table path_split {
        key = {
            meta.policy_version : exact @name("policy_version");
            meta.site_id        : exact @name("site_id");
        }
        actions = {
            set_split;
        }
        default_action = set_split(SPLIT_SCALE, SPLIT_SCALE, SPLIT_SCALE);
        size = 1024;
    }

    apply {
        service_site.apply();
        if (meta.site_found == 1 && !hdr.probe.isValid()) {
            /* The pin's two slots: bits 0.. and 16.. of the 5-tuple's crc32 (see the top). */
            slot = meta.flow_crc & (FLOWLET_SLOTS - 1);
            slot_b = (meta.flow_crc >> 16) & (FLOWLET_SLOTS - 1);
            hash(meta.flow_sig, HashAlgorithm.crc16, 16w0,
                 { hdr.ipv6.src_addr, hdr.ipv6.dst_addr, meta.l4_proto,
                   meta.l4_src_port, meta.l4_dst_port },
                 32w65536);
            site.read(kept, slot);
            site_sig.read(sig, slot);
            site_seen.read(pin_seen, slot);
            site.read(kept_b, slot_b);
            site_sig.read(sig_b, slot_b);
            site_seen.read(pin_seen_b, slot_b);
            pin_us.read(pin, 0);
            if (pin == 0) {
                pin = FLOW_PIN_DEFAULT_US;
            }
            if (kept != 0 && meta.ingress_ts - pin_seen <= (bit<48>)pin) {
                live = 1;
            }
            if (kept_b != 0 && meta.ingress_ts - pin_seen_b <= (bit<48>)pin) {
                live_b = 1;
            }
            /* The flow's own live pin (either slot), else the first slot without a live pin;
             * a live pin of another flow is never overwritten. */
            if (live == 1 && sig == meta.flow_sig) {
                own = 1;
            } else if (live_b == 1 && sig_b == meta.flow_sig) {
                own = 1;
                slot = slot_b;
                kept = kept_b;
            } else if (live == 0) {
                claim = 1;
            } else if (live_b == 0) {
                claim = 1;
                slot = slot_b;
            }
            if (own == 1) {
                if (kept == FLOW_SITE_LOCAL) {
                    meta.site_local = 1;
                } else {
                    meta.site_local = 0;
                    meta.site_id = kept - 1;
                }
                site_seen.write(slot, meta.ingress_ts);
            } else if (claim == 1) {
                if (meta.site_local == 1) {
                    site.write(slot, FLOW_SITE_LOCAL);
                } else {
                    site.write(slot, meta.site_id + 1);
                }
                site_sig.write(slot, meta.flow_sig);
                site_seen.write(slot, meta.ingress_ts);
                stats.count(FLOWLET_STAT_NEW_PIN);
            } else {
                /* Both slots pinned by other live flows: this packet follows service_site. */
                stats.count(FLOWLET_STAT_UNPINNED);
            }
        }
        if (meta.site_found == 1 && meta.site_local == 0) {
            path_split.apply();
            if (hdr.probe.isValid() && (hdr.probe.flags & PROBE_FLAG_PINNED_PATH) != 0) {
                meta.path_id = hdr.probe.path_id;
            } else {
                slot = ((bit<32>)meta.flow_hash) & (FLOWLET_SLOTS - 1);
                last_seen.read(seen, slot);
                path.read(current, slot);
                version.read(chosen_version, slot);
                timeout_us.read(timeout, 0);
                if (timeout == 0) {
                    timeout = FLOWLET_DEFAULT_TIMEOUT_US;
                }
                if (current == 0
                        || meta.ingress_ts - seen > (bit<48>)timeout
                        || chosen_version != meta.policy_version) {
                    hash(meta.split_point, HashAlgorithm.crc32, 16w0,
                         { hdr.ipv6.src_addr, hdr.ipv6.dst_addr, meta.l4_proto,
                           meta.l4_src_port, meta.l4_dst_port, meta.ingress_ts },
                         32w10000);
                    if (meta.split_point < meta.split_0) {
                        meta.path_id = 0;
                    } else if (meta.split_point < meta.split_1) {
                        meta.path_id = 1;
                    } else if (meta.split_point < meta.split_2) {
                        meta.path_id = 2;
                    } else {
                        meta.path_id = 3;
                    }
                    path.write(slot, meta.path_id + 1);
                    version.write(slot, meta.policy_version);
                } else {
                    meta.path_id = current - 1;
                }
                last_seen.write(slot, meta.ingress_ts);
            }
        }
    }
}

#endif
