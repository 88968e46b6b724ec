/* cpn-p4 pipeline: IPv6 and IPv4 LPM routing with next-hop MAC rewrite and hop limit.
 *
 *   ipv6_routes (dst_addr lpm) -> route(port, src_mac, dst_mac)   [topology / routing config]
 *   ipv4_routes (dst_addr lpm) -> route(port, src_mac, dst_mac)   [legacy traffic]
 * The forwarded header's hop limit (TTL) is checked and decremented: <= 1 drops the packet
 * (DROP_HOP_LIMIT_EXCEEDED). A header this switch has just pushed (H.Encaps) is not
 * decremented: its hop limit is SRV6_OUTER_HOP_LIMIT as sent; the inner packet was decremented
 * when it was encapsulated.
 */
#ifndef CPN_ROUTING_P4
#define CPN_ROUTING_P4

control Routing(inout headers_t hdr,
                inout local_metadata_t meta,
                inout standard_metadata_t standard_metadata) {

    action route(bit<9> port, mac_addr_t src_mac, mac_addr_t dst_mac) {
        standard_metadata.egress_spec = port;
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
    }

    action no_route() {
        meta.drop_reason = DROP_NO_ROUTE;
    }

    table ipv6_routes {
        key = {
            hdr.ipv6.dst_addr : lpm @name("dst_addr");
        }
        actions = {
            route;
            no_route;
        }
        default_action = no_route();
        size = 4096;
    }

    table ipv4_routes {
        key = {
            hdr.ipv4.dst_addr : lpm @name("dst_addr");
        }
        actions = {
            route;
            no_route;
        }
        default_action = no_route();
        size = 4096;
    }

    apply {
        if (hdr.ipv6.isValid()) {
            if (meta.encapped == 0) {
                if (hdr.ipv6.hop_limit <= 1) {
                    meta.drop_reason = DROP_HOP_LIMIT_EXCEEDED;
                } else {
                    hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
                }
            }
            if (meta.drop_reason == DROP_NONE) {
                ipv6_routes.apply();
            }
        } else if (hdr.ipv4.isValid()) {
            if (hdr.ipv4.ttl <= 1) {
                meta.drop_reason = DROP_HOP_LIMIT_EXCEEDED;
            } else {
                hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
                ipv4_routes.apply();
            }
        } else {
            meta.drop_reason = DROP_NOT_IP;
        }
    }
}

#endif
