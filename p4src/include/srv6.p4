/* cpn-p4 pipeline: SRv6 (RFC 8754 SRH, RFC 8986 behaviours) - behaviour 4.
 *
 * Srv6Sid - the "My SID" table of every switch (transit and egress gateway):
 *   my_sid (sid lpm on the IPv6 destination) -> end() | end_dt6()      [topology config]
 *   End    (RFC 8986 §4.1): requires an SRH with segments_left > 0; segments_left -= 1;
 *          destination = Segment List[segments_left]; the routing stage then decrements the
 *          hop limit (drop if <= 1) and forwards on the new destination.
 *   End.DT6 (§4.6): requires segments_left == 0 (or no SRH) and an inner IPv6 packet; removes
 *          the outer IPv6 header and its SRH; the inner packet continues (egress gateway).
 *   Anything else at a local SID is dropped as DROP_SRV6_SID_INVALID.
 *
 * Srv6Encap - H.Encaps at the ingress gateway (§5.1):
 *   paths (policy_version, site_id, path_id exact) -> h_encaps_<n>(src, s1, ..., sn)
 *                                                     [scheduler: RLMS-CPN paths]
 *   s1 is the first segment visited, sn the egress gateway's End.DT6 SID. The SRH holds them in
 *   RFC 8754 order (Segment List[0] = sn ... Segment List[n-1] = s1), last_entry =
 *   segments_left = n-1, hdr_ext_len = 2n, next header 41, tag = the policy version. The outer
 *   header: src, dst = s1, next header 43, hop limit SRV6_OUTER_HOP_LIMIT, flow label = the
 *   request's 5-tuple hash, traffic class copied from the request (DSCP_DETERMINISTIC for
 *   deterministic traffic).
 */
#ifndef CPN_SRV6_P4
#define CPN_SRV6_P4

#define SID_BEHAVIOR_NONE 0
#define SID_BEHAVIOR_END 1
#define SID_BEHAVIOR_END_DT6 2

control Srv6Sid(inout headers_t hdr,
                inout local_metadata_t meta,
                inout standard_metadata_t standard_metadata) {
    bit<8> behavior = SID_BEHAVIOR_NONE;
    bit<8> sl = 0;

    action end() {
        behavior = SID_BEHAVIOR_END;
    }

    action end_dt6() {
        behavior = SID_BEHAVIOR_END_DT6;
    }

    table my_sid {
        key = {
            hdr.ipv6.dst_addr : lpm @name("sid");
        }
        actions = {
            end;
            end_dt6;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = 1024;
    }

    apply {
        my_sid.apply();
        if (behavior == SID_BEHAVIOR_END) {
            if (!hdr.srh.isValid() || hdr.srh.segments_left == 0) {
                meta.drop_reason = DROP_SRV6_SID_INVALID;
            } else {
                sl = hdr.srh.segments_left - 1;
                hdr.srh.segments_left = sl;
                if (sl == 0) {
                    hdr.ipv6.dst_addr = hdr.srh_segments[0].sid;
                } else if (sl == 1) {
                    hdr.ipv6.dst_addr = hdr.srh_segments[1].sid;
                } else if (sl == 2) {
                    hdr.ipv6.dst_addr = hdr.srh_segments[2].sid;
                } else if (sl == 3) {
                    hdr.ipv6.dst_addr = hdr.srh_segments[3].sid;
                } else if (sl == 4) {
                    hdr.ipv6.dst_addr = hdr.srh_segments[4].sid;
                } else if (sl == 5) {
                    hdr.ipv6.dst_addr = hdr.srh_segments[5].sid;
                } else if (sl == 6) {
                    hdr.ipv6.dst_addr = hdr.srh_segments[6].sid;
                } else {
                    hdr.ipv6.dst_addr = hdr.srh_segments[7].sid;
                }
                meta.srv6_end = 1;
            }
        } else if (behavior == SID_BEHAVIOR_END_DT6) {
            if (hdr.srh.isValid() && hdr.srh.segments_left != 0) {
                meta.drop_reason = DROP_SRV6_SID_INVALID;
            } else if (!hdr.inner_ipv6.isValid()) {
                meta.drop_reason = DROP_SRV6_SID_INVALID;
            } else {
                if (hdr.srh.isValid()) {
                    meta.len_delta = 0 - (40 + (((bit<32>)hdr.srh.hdr_ext_len + 1) << 3));
                } else {
                    meta.len_delta = 32w0 - 32w40;
                }
                hdr.ipv6 = hdr.inner_ipv6;
                hdr.inner_ipv6.setInvalid();
                hdr.srh.setInvalid();
                hdr.srh_segments[0].setInvalid();
                hdr.srh_segments[1].setInvalid();
                hdr.srh_segments[2].setInvalid();
                hdr.srh_segments[3].setInvalid();
                hdr.srh_segments[4].setInvalid();
                hdr.srh_segments[5].setInvalid();
                hdr.srh_segments[6].setInvalid();
                hdr.srh_segments[7].setInvalid();
                hdr.srh_tlvs[0].setInvalid();
                hdr.srh_tlvs[1].setInvalid();
                hdr.srh_tlvs[2].setInvalid();
                hdr.srh_tlvs[3].setInvalid();
                meta.decapped = 1;
            }
        }
    }
}

/* H.Encaps with an n-segment list: everything but the segment list itself. */
#define H_ENCAPS_COMMON(SRC, FIRST, N)                                              \
    hdr.inner_ipv6 = hdr.ipv6;                                                      \
    hdr.ipv6.flow_label = meta.flow_hash;                                           \
    hdr.ipv6.payload_len = hdr.inner_ipv6.payload_len + (40 + 8 + 16 * N);          \
    hdr.ipv6.next_hdr = IPPROTO_ROUTING;                                            \
    hdr.ipv6.hop_limit = SRV6_OUTER_HOP_LIMIT;                                      \
    hdr.ipv6.src_addr = SRC;                                                        \
    hdr.ipv6.dst_addr = FIRST;                                                      \
    hdr.srh.setValid();                                                             \
    hdr.srh.next_hdr = IPPROTO_IPV6;                                                \
    hdr.srh.hdr_ext_len = 2 * N;                                                    \
    hdr.srh.routing_type = SRH_ROUTING_TYPE;                                        \
    hdr.srh.segments_left = N - 1;                                                  \
    hdr.srh.last_entry = N - 1;                                                     \
    hdr.srh.flags = 0;                                                              \
    hdr.srh.tag = meta.policy_version;                                              \
    meta.len_delta = 40 + 8 + 16 * N;                                               \
    meta.encapped = 1

#define SEGMENT(I, SID)                                                             \
    hdr.srh_segments[I].setValid();                                                 \
    hdr.srh_segments[I].sid = SID

control Srv6Encap(inout headers_t hdr,
                  inout local_metadata_t meta,
                  inout standard_metadata_t standard_metadata) {

    action h_encaps_1(ipv6_addr_t src, ipv6_addr_t s1) {
        H_ENCAPS_COMMON(src, s1, 1);
        SEGMENT(0, s1);
    }

    action h_encaps_2(ipv6_addr_t src, ipv6_addr_t s1, ipv6_addr_t s2) {
        H_ENCAPS_COMMON(src, s1, 2);
        SEGMENT(0, s2);
        SEGMENT(1, s1);
    }

    action h_encaps_3(ipv6_addr_t src, ipv6_addr_t s1, ipv6_addr_t s2, ipv6_addr_t s3) {
        H_ENCAPS_COMMON(src, s1, 3);
        SEGMENT(0, s3);
        SEGMENT(1, s2);
        SEGMENT(2, s1);
    }

    action h_encaps_4(ipv6_addr_t src, ipv6_addr_t s1, ipv6_addr_t s2, ipv6_addr_t s3,
                      ipv6_addr_t s4) {
        H_ENCAPS_COMMON(src, s1, 4);
        SEGMENT(0, s4);
        SEGMENT(1, s3);
        SEGMENT(2, s2);
        SEGMENT(3, s1);
    }

    action h_encaps_5(ipv6_addr_t src, ipv6_addr_t s1, ipv6_addr_t s2, ipv6_addr_t s3,
                      ipv6_addr_t s4, ipv6_addr_t s5) {
        H_ENCAPS_COMMON(src, s1, 5);
        SEGMENT(0, s5);
        SEGMENT(1, s4);
        SEGMENT(2, s3);
        SEGMENT(3, s2);
        SEGMENT(4, s1);
    }

    action h_encaps_6(ipv6_addr_t src, ipv6_addr_t s1, ipv6_addr_t s2, ipv6_addr_t s3,
                      ipv6_addr_t s4, ipv6_addr_t s5, ipv6_addr_t s6) {
        H_ENCAPS_COMMON(src, s1, 6);
        SEGMENT(0, s6);
        SEGMENT(1, s5);
        SEGMENT(2, s4);
        SEGMENT(3, s3);
        SEGMENT(4, s2);
        SEGMENT(5, s1);
    }

    table paths {
        key = {
            meta.policy_version : exact @name("policy_version");
            meta.site_id        : exact @name("site_id");
            meta.path_id        : exact @name("path_id");
        }
        actions = {
            h_encaps_1;
            h_encaps_2;
            h_encaps_3;
            h_encaps_4;
            h_encaps_5;
            h_encaps_6;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = 4096;
    }

    apply {
        paths.apply();
        if (meta.encapped == 0) {
            meta.drop_reason = DROP_NO_SRV6_PATH;
        } else if (meta.traffic_class == TC_DETERMINISTIC) {
            hdr.ipv6.dscp = DSCP_DETERMINISTIC;
        }
    }
}

#endif
