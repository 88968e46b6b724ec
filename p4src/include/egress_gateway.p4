/* cpn-p4 pipeline: egress gateway, weighted least connections (behaviour 5).
 *
 *   service_nodes (policy_version, service_id exact)
 *       -> set_nodes(node_0, weight_0, ..., node_7, weight_7)
 *          up to MAX_EGW_NODES (node id, weight) candidates; weight 0 = unused slot
 *                                     [scheduler: RLMS-CPN / MAPPO node weights]
 *   nodes         (node_id exact) -> set_node_address(address)        [site config]
 *   node_replies  (src_addr lpm)  -> reply_from_node()  the site's service-node prefixes
 *
 * A request (after End.DT6, or delivered locally) belongs to a flow (the request's 5-tuple).
 * A new flow goes to the candidate with the fewest active connections per unit weight,
 * connections[n] / weight, ties to the lowest candidate index; the flow's later packets keep
 * that node. connections[n] rises on a new flow and falls on the flow's first TCP FIN or RST
 * (the flow then stays on its node until a SYN - or any packet of a non-TCP flow - reopens it).
 * The request's destination (the AISID) is rewritten to the node's address; replies from the
 * node (source in node_replies) get the AISID back as their source. L4 checksums are updated.
 *
 * Two-choice hashing. A flow has two candidate slots in the flow table: bits 0.. and bits
 * 16.. of the crc32 of its 5-tuple, each mod EGW_FLOW_SLOTS (the first = flow_hash mod
 * EGW_FLOW_SLOTS; see traces.flowhash.egw_flow_slots; independent for EGW_FLOW_SLOTS <= 65536),
 * told apart from other flows by the crc16 signature flow_sig. A packet finds its flow in
 * either slot (state not EMPTY, same signature). A new flow takes the first of its slots that
 * is free: EMPTY, idle for flow_idle_timeout_us (its ACTIVE flow is aged: EGW_STAT_AGED_FLOW,
 * its connection released), or CLOSED and followed by no other flow. Only when its first slot
 * is shared, or both slots are held by live flows (ACTIVE, or followed), does it follow the
 * first slot's node and mark that slot SHARED; every packet of either flow refreshes the
 * slot, so it keeps its node - and the follower its node - until all of them have been idle
 * for flow_idle_timeout_us (a SHARED slot that its owner reopens with a SYN keeps its node
 * too). A follower never moves to its second slot when that frees up (nothing in the table
 * says it follows: a flow whose first slot is SHARED therefore always follows it). A
 * follower is not counted in connections: that is the table's inherent limit, counted in
 * stats (EGW_STAT_SHARED once per slot that becomes shared, EGW_STAT_COLLISION per follower
 * packet). With L live flows in S slots, a new flow follows another one with a probability of
 * about (L / S)^2 (one slot: L / S): 0.0024% with 80 live flows and 16384 slots (0.5%), 0.09%
 * with 500 (3.1%).
 *
 * The reply table (reply_aisid / reply_sig / reply_last_seen) has two candidate cells per
 * flow in the same way, from the crc32 of {client, node, proto, client port, server port}
 * (signature: crc16 of the same). Every request writes its AISID into its own cell (the
 * signature found in either), else the first cell that is empty or idle for
 * flow_idle_timeout_us (0: never idle), else - both held by other live flows - the less
 * recently used of the two, counted as EGW_STAT_REPLY_OVERWRITTEN (that flow's later replies
 * keep the node's address, EGW_STAT_REPLY_UNKNOWN). A reply looks in both cells and
 * refreshes the one it finds. Probability of an overwrite per new flow: about (R / S)^2 for
 * R flows seen within the idle timeout (one cell: R / S, e.g. 3% with R = 500).
 *
 * Registers (flow slots = two-choice indices above, see traces.flowhash):
 *   connections[node_id]   active connections of a node
 *   flow_sig / flow_node / flow_state / flow_last_seen [slot]: the flow table; flow_state is
 *       EGW_FLOW_EMPTY (0), EGW_FLOW_ACTIVE (1) or EGW_FLOW_CLOSED (2) for the slot's owner
 *       (flow_sig), plus EGW_FLOW_SHARED (4) while another flow follows it
 *   flow_last_seen[slot]   the last packet of any flow using the slot
 *   flow_idle_timeout_us[0] a slot idle this long may be replaced by a new flow that hashes to
 *       it, or its own flow rescheduled (0 = never; the controller ages flows by writing
 *       flow_state = 0 and decrementing connections); reply cells idle this long are reused
 *   reply_aisid / reply_sig / reply_last_seen [reply cell]: the AISID to restore on replies
 *   stats: EGW_STAT_* event counts
 */
#ifndef CPN_EGRESS_GATEWAY_P4
#define CPN_EGRESS_GATEWAY_P4

#define WLC_CANDIDATE(N, W)                                                           \
    if (W != 0) {                                                                     \
        connections.read(conn, (bit<32>)N);                                           \
        if (found == 0 || (bit<48>)conn * (bit<48>)best_weight                        \
                          < (bit<48>)best_conn * (bit<48>)W) {                        \
            best_node = N;                                                            \
            best_conn = conn;                                                         \
            best_weight = W;                                                          \
            found = 1;                                                                \
        }                                                                             \
    }

control EgressGateway(inout headers_t hdr,
                      inout local_metadata_t meta,
                      inout standard_metadata_t standard_metadata) {
    register<bit<32>, bit<32>>(EGW_NODE_IDS) connections;
    register<bit<16>, bit<32>>(EGW_FLOW_SLOTS) flow_sig;
    register<bit<8>, bit<32>>(EGW_FLOW_SLOTS) flow_node;
    register<bit<8>, bit<32>>(EGW_FLOW_SLOTS) flow_state;
    register<bit<48>, bit<32>>(EGW_FLOW_SLOTS) flow_last_seen;
    register<bit<32>, bit<32>>(1) flow_idle_timeout_us;
    register<bit<128>, bit<32>>(EGW_FLOW_SLOTS) reply_aisid;
    register<bit<16>, bit<32>>(EGW_FLOW_SLOTS) reply_sig;
    register<bit<48>, bit<32>>(EGW_FLOW_SLOTS) reply_last_seen;
    counter<bit<32>>(EGW_STATS_SIZE, CounterType.packets) stats;

    bit<8> n0 = 0; bit<16> w0 = 0; bit<8> n1 = 0; bit<16> w1 = 0;
    bit<8> n2 = 0; bit<16> w2 = 0; bit<8> n3 = 0; bit<16> w3 = 0;
    bit<8> n4 = 0; bit<16> w4 = 0; bit<8> n5 = 0; bit<16> w5 = 0;
    bit<8> n6 = 0; bit<16> w6 = 0; bit<8> n7 = 0; bit<16> w7 = 0;
    bit<1> have_nodes = 0;
    bit<1> have_address = 0;
    bit<1> is_reply = 0;
    ipv6_addr_t node_address = 0;

    bit<32> slot = 0;
    bit<32> slot_b = 0;
    bit<16> sig_b = 0;
    bit<8> node_b = 0;
    bit<8> state_b = 0;
    bit<48> last_b = 0;
    bit<1> use_b = 0;
    bit<16> stored_sig = 0;
    bit<8> stored_node = 0;
    bit<8> state = 0;
    bit<48> last = 0;
    bit<32> idle_timeout = 0;
    bit<1> expired = 0;
    bit<1> assign_new = 0;
    bit<1> evict = 0;
    bit<1> own_flow = 0;
    bit<1> keep_node = 0;
    bit<8> shared = 0;
    bit<1> syn = 0;
    bit<1> fin_or_rst = 0;

    bit<32> conn = 0;
    bit<32> best_conn = 0;
    bit<16> best_weight = 0;
    bit<8> best_node = 0;
    bit<1> found = 0;

    bit<32> rh = 0;
    bit<32> rslot = 0;
    bit<32> rslot_b = 0;
    bit<16> rsig = 0;
    bit<16> rsig_stored = 0;
    bit<16> rsig_b = 0;
    ipv6_addr_t aisid = 0;
    ipv6_addr_t aisid_b = 0;
    bit<48> rlast = 0;
    bit<48> rlast_b = 0;
    bit<1> rfree = 0;
    bit<1> rfree_b = 0;

    action set_nodes(bit<8> node_0, bit<16> weight_0, bit<8> node_1, bit<16> weight_1,
                     bit<8> node_2, bit<16> weight_2, bit<8> node_3, bit<16> weight_3,
                     bit<8> node_4, bit<16> weight_4, bit<8> node_5, bit<16> weight_5,
                     bit<8> node_6, bit<16> weight_6, bit<8> node_7, bit<16> weight_7) {
        n0 = node_0; w0 = weight_0; n1 = node_1; w1 = weight_1;
        n2 = node_2; w2 = weight_2; n3 = node_3; w3 = weight_3;
        n4 = node_4; w4 = weight_4; n5 = node_5; w5 = weight_5;
        n6 = node_6; w6 = weight_6; n7 = node_7; w7 = weight_7;
        have_nodes = 1;
    }

    table service_nodes {
        key = {
            meta.policy_version : exact @name("policy_version");
            meta.service_id     : exact @name("service_id");
        }
        actions = {
            set_nodes;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = 4096;
    }

    action set_node_address(ipv6_addr_t address) {
        node_address = address;
        have_address = 1;
    }

    table nodes {
        key = {
            best_node : exact @name("node_id");
        }
        actions = {
            set_node_address;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = EGW_NODE_IDS;
    }

    action reply_from_node() {
        is_reply = 1;
    }

    table node_replies {
        key = {
            hdr.ipv6.src_addr : lpm @name("src_addr");
        }
        actions = {
            reply_from_node;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = 256;
    }

    apply {
        if (meta.egw_request == 1) {
            if (hdr.probe.isValid()) {
                /* A probe has reached its egress gateway: hand it to the controller. */
                meta.punt_reason = PUNT_PROBE;
            } else {
                service_nodes.apply();
                if (have_nodes == 0) {
                    if (meta.decapped == 0 && meta.site_found == 0) {
                        meta.punt_reason = PUNT_NO_SERVICE_SITE;
                    } else {
                        meta.drop_reason = DROP_EGW_NO_NODE;
                    }
                }
            }
        } else if (hdr.ipv6.isValid() && !hdr.srh.isValid() && !hdr.inner_ipv6.isValid()
                   && meta.srv6_end == 0 && meta.is_aisid == 0) {
            node_replies.apply();
        }

        if (have_nodes == 1) {
            hash(meta.flow_sig, HashAlgorithm.crc16, 16w0,
                 { hdr.ipv6.src_addr, hdr.ipv6.dst_addr, meta.l4_proto,
                   meta.l4_src_port, meta.l4_dst_port },
                 32w65536);
            /* The flow's two slots: bits 0.. and 16.. of the 5-tuple's crc32 (see the top). */
            slot = meta.flow_crc & (EGW_FLOW_SLOTS - 1);
            slot_b = (meta.flow_crc >> 16) & (EGW_FLOW_SLOTS - 1);
            flow_sig.read(stored_sig, slot);
            flow_node.read(stored_node, slot);
            flow_state.read(state, slot);
            flow_last_seen.read(last, slot);
            flow_sig.read(sig_b, slot_b);
            flow_node.read(node_b, slot_b);
            flow_state.read(state_b, slot_b);
            flow_last_seen.read(last_b, slot_b);
            flow_idle_timeout_us.read(idle_timeout, 0);
            /* Pick the slot: the flow's own (either), else the first free one (empty, idle,
             * or closed and not followed), else the first (followed: a follower of the first
             * slot may be sending, so a flow whose first slot is shared never moves to its
             * second), else the second if free, else the first (to follow its occupant). */
            use_b = 0;
            if ((state & EGW_FLOW_STATE_MASK) != EGW_FLOW_EMPTY && stored_sig == meta.flow_sig) {
                use_b = 0;
            } else if ((state_b & EGW_FLOW_STATE_MASK) != EGW_FLOW_EMPTY
                       && sig_b == meta.flow_sig) {
                use_b = 1;
            } else if ((state & EGW_FLOW_STATE_MASK) == EGW_FLOW_EMPTY
                       || (idle_timeout != 0 && meta.ingress_ts - last > (bit<48>)idle_timeout)
                       || state == EGW_FLOW_CLOSED || (state & EGW_FLOW_SHARED) != 0) {
                use_b = 0;
            } else if ((state_b & EGW_FLOW_STATE_MASK) == EGW_FLOW_EMPTY
                       || (idle_timeout != 0
                           && meta.ingress_ts - last_b > (bit<48>)idle_timeout)
                       || state_b == EGW_FLOW_CLOSED) {
                use_b = 1;
            }
            if (use_b == 1) {
                slot = slot_b;
                stored_sig = sig_b;
                stored_node = node_b;
                state = state_b;
                last = last_b;
            }
            expired = 0;
            if (idle_timeout != 0 && meta.ingress_ts - last > (bit<48>)idle_timeout) {
                expired = 1;
            }
            syn = 0;
            fin_or_rst = 0;
            if (hdr.tcp.isValid()) {
                if ((hdr.tcp.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN) {
                    syn = 1;
                }
                if ((hdr.tcp.flags & (TCP_FLAG_FIN | TCP_FLAG_RST)) != 0) {
                    fin_or_rst = 1;
                }
            }
            assign_new = 0;
            evict = 0;
            own_flow = 0;
            keep_node = 0;
            shared = state & EGW_FLOW_SHARED;
            state = state & EGW_FLOW_STATE_MASK;
            if (state == EGW_FLOW_EMPTY) {
                assign_new = 1;
                shared = 0;
            } else if (stored_sig != meta.flow_sig) {
                if (expired == 1) {
                    /* Nothing used the slot for the idle timeout: replace its flow. */
                    assign_new = 1;
                    evict = 1;
                    shared = 0;
                } else if (state == EGW_FLOW_CLOSED && shared == 0) {
                    /* The slot's flow has ended and no other flow follows it: reuse it. */
                    assign_new = 1;
                } else {
                    /* Two live flows share the slot: follow the occupant's node, and keep the
                     * slot (and its node) alive while either flow sends. */
                    if (shared == 0) {
                        stats.count(EGW_STAT_SHARED);
                    }
                    shared = EGW_FLOW_SHARED;
                    stats.count(EGW_STAT_COLLISION);
                }
            } else if (state == EGW_FLOW_CLOSED) {
                if (syn == 1 || !hdr.tcp.isValid()) {
                    assign_new = 1;
                    keep_node = (bit<1>)(shared != 0);   /* followers stay on its node */
                } else {
                    own_flow = 1;   /* the closing handshake of a counted-out connection */
                }
            } else if (expired == 1) {
                assign_new = 1;
                evict = 1;
                shared = 0;
            } else {
                own_flow = 1;
            }

            best_node = stored_node;
            found = 0;
            if (assign_new == 1 && keep_node == 0) {
                WLC_CANDIDATE(n0, w0)
                WLC_CANDIDATE(n1, w1)
                WLC_CANDIDATE(n2, w2)
                WLC_CANDIDATE(n3, w3)
                WLC_CANDIDATE(n4, w4)
                WLC_CANDIDATE(n5, w5)
                WLC_CANDIDATE(n6, w6)
                WLC_CANDIDATE(n7, w7)
                if (found == 0) {
                    meta.drop_reason = DROP_EGW_NO_NODE;
                }
            }
            if (meta.drop_reason == DROP_NONE) {
                nodes.apply();
                if (have_address == 0) {
                    meta.drop_reason = DROP_EGW_NO_NODE;
                }
            }
            if (meta.drop_reason == DROP_NONE) {
                if (assign_new == 1) {
                    if (evict == 1 && state == EGW_FLOW_ACTIVE) {
                        connections.read(conn, (bit<32>)stored_node);
                        if (conn != 0) {
                            connections.write((bit<32>)stored_node, conn - 1);
                        }
                        stats.count(EGW_STAT_AGED_FLOW);
                    }
                    connections.read(conn, (bit<32>)best_node);
                    connections.write((bit<32>)best_node, conn + 1);
                    flow_sig.write(slot, meta.flow_sig);
                    flow_node.write(slot, best_node);
                    state = EGW_FLOW_ACTIVE;
                    own_flow = 1;
                    stats.count(EGW_STAT_NEW_FLOW);
                }
                if (own_flow == 1) {
                    if (fin_or_rst == 1 && state == EGW_FLOW_ACTIVE) {
                        connections.read(conn, (bit<32>)best_node);
                        if (conn != 0) {
                            connections.write((bit<32>)best_node, conn - 1);
                        }
                        state = EGW_FLOW_CLOSED;
                        stats.count(EGW_STAT_CLOSED_FLOW);
                    }
                }
                flow_state.write(slot, state | shared);
                flow_last_seen.write(slot, meta.ingress_ts);
                /* Remember the AISID for the replies, then rewrite to the node. */
                hash(rh, HashAlgorithm.crc32, 32w0,
                     { hdr.ipv6.src_addr, node_address, meta.l4_proto,
                       meta.l4_src_port, meta.l4_dst_port },
                     64w0x100000000);
                hash(rsig, HashAlgorithm.crc16, 16w0,
                     { hdr.ipv6.src_addr, node_address, meta.l4_proto,
                       meta.l4_src_port, meta.l4_dst_port },
                     32w65536);
                rslot = rh & (EGW_FLOW_SLOTS - 1);
                rslot_b = (rh >> 16) & (EGW_FLOW_SLOTS - 1);
                reply_aisid.read(aisid, rslot);
                reply_sig.read(rsig_stored, rslot);
                reply_last_seen.read(rlast, rslot);
                reply_aisid.read(aisid_b, rslot_b);
                reply_sig.read(rsig_b, rslot_b);
                reply_last_seen.read(rlast_b, rslot_b);
                /* The reply slot: the flow's own (either), else the first empty or idle one,
                 * else (both held by live flows) the less recently used one, counted. */
                rfree = 0;
                if (aisid == 0
                    || (idle_timeout != 0 && meta.ingress_ts - rlast > (bit<48>)idle_timeout)) {
                    rfree = 1;
                }
                rfree_b = 0;
                if (aisid_b == 0
                    || (idle_timeout != 0
                        && meta.ingress_ts - rlast_b > (bit<48>)idle_timeout)) {
                    rfree_b = 1;
                }
                if (aisid == 0 || rsig_stored != rsig) {   /* not its own first cell */
                    if ((aisid_b != 0 && rsig_b == rsig) || (rfree == 0 && rfree_b == 1)) {
                        rslot = rslot_b;
                    } else if (rfree == 0) {
                        if (rlast_b < rlast) {
                            rslot = rslot_b;
                        }
                        stats.count(EGW_STAT_REPLY_OVERWRITTEN);
                    }
                }
                reply_aisid.write(rslot, hdr.ipv6.dst_addr);
                reply_sig.write(rslot, rsig);
                reply_last_seen.write(rslot, meta.ingress_ts);
                CSUM_REPLACE128(meta.csum_delta, hdr.ipv6.dst_addr, node_address);
                hdr.ipv6.dst_addr = node_address;
            }
        }

        if (is_reply == 1) {
            /* Reply from a node: the client is the destination, the node the source. */
            hash(rh, HashAlgorithm.crc32, 32w0,
                 { hdr.ipv6.dst_addr, hdr.ipv6.src_addr, meta.l4_proto,
                   meta.l4_dst_port, meta.l4_src_port },
                 64w0x100000000);
            hash(rsig, HashAlgorithm.crc16, 16w0,
                 { hdr.ipv6.dst_addr, hdr.ipv6.src_addr, meta.l4_proto,
                   meta.l4_dst_port, meta.l4_src_port },
                 32w65536);
            rslot = rh & (EGW_FLOW_SLOTS - 1);
            reply_sig.read(rsig_stored, rslot);
            reply_aisid.read(aisid, rslot);
            if (aisid == 0 || rsig_stored != rsig) {
                rslot = (rh >> 16) & (EGW_FLOW_SLOTS - 1);
                reply_sig.read(rsig_stored, rslot);
                reply_aisid.read(aisid, rslot);
            }
            if (aisid != 0 && rsig_stored == rsig) {
                reply_last_seen.write(rslot, meta.ingress_ts);
                CSUM_REPLACE128(meta.csum_delta, hdr.ipv6.src_addr, aisid);
                hdr.ipv6.src_addr = aisid;
                stats.count(EGW_STAT_REPLY_REWRITTEN);
            } else {
                stats.count(EGW_STAT_REPLY_UNKNOWN);
            }
        }
    }
}

#endif
