/* cpn-p4 pipeline: AISID classification (behaviour 2).
 *
 * The IPv6 destination of a request is an AISID: prefix (64) | Object | Function | Method |
 * Performance (16 bits each). Performance = latency budget in units of 100 µs (0 = none).
 *
 *   prefixes  (key: prefix lpm)                       -> is_aisid          [topology config]
 *   classify  (policy_version exact, prefix lpm, object/function/method ternary,
 *              performance range) -> set_service(service_id, traffic_class, deadline_us)
 *                                                     [scheduler: AISID registration]
 * A destination under an AISID prefix that no classify entry matches is sent to the controller
 * (PUNT_UNKNOWN_AISID: the "query" step of the AISID lifecycle) and not forwarded.
 */
#ifndef CPN_AISID_P4
#define CPN_AISID_P4

control AisidClassify(inout headers_t hdr,
                      inout local_metadata_t meta,
                      inout standard_metadata_t standard_metadata) {

    action aisid_prefix() {
        meta.is_aisid = 1;
    }

    table prefixes {
        key = {
            meta.aisid_prefix : lpm @name("prefix");
        }
        actions = {
            aisid_prefix;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = 1024;
    }

    action set_service(bit<16> service_id, bit<8> traffic_class, bit<32> deadline_us) {
        meta.classified = 1;
        meta.service_id = service_id;
        meta.traffic_class = traffic_class;
        meta.deadline_us = deadline_us;
    }

    table classify {
        key = {
            meta.policy_version    : exact   @name("policy_version");
            meta.aisid_prefix      : lpm     @name("prefix");
            meta.aisid_object      : ternary @name("object");
            meta.aisid_function    : ternary @name("function");
            meta.aisid_method      : ternary @name("method");
            meta.aisid_performance : range   @name("performance");
        }
        actions = {
            set_service;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = 4096;
    }

    apply {
        meta.aisid_prefix = hdr.ipv6.dst_addr[127:64];
        meta.aisid_object = hdr.ipv6.dst_addr[63:48];
        meta.aisid_function = hdr.ipv6.dst_addr[47:32];
        meta.aisid_method = hdr.ipv6.dst_addr[31:16];
        meta.aisid_performance = hdr.ipv6.dst_addr[15:0];
        prefixes.apply();
        if (meta.is_aisid == 1) {
            classify.apply();
            if (meta.classified == 0) {
                meta.punt_reason = PUNT_UNKNOWN_AISID;
            }
        }
    }
}

#endif
