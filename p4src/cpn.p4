/* cpn-p4: the computing-power-network data plane (P4_16, v1model).
 *
 * One program for every switch of the network; a switch's role is decided by the tables the
 * control plane fills:
 *   ingress gateway  aisid.prefixes/classify, flowlet.service_site/path_split, srv6_encap.paths
 *   transit          srv6.my_sid (End), routing.ipv6_routes
 *   egress gateway   srv6.my_sid (End.DT6), aisid.*, egw.service_nodes/nodes/node_replies
 *   any              routing.*, cqf.ports/flow_offsets, telemetry registers
 * Pipeline (see README "Data plane"):
 *   parse -> [packet_out] -> policy version -> SRv6 SID (End | End.DT6) -> AISID classification
 *   -> ingress gateway (site, flowlet path, H.Encaps) | egress gateway (WLC node, rewrite)
 *   -> routing (LPM, MAC, hop limit) -> CQF queue -> counters
 *   egress: probe stamp, port/queue telemetry, packet_in, L4 checksum, [CQF hold recirculation]
 *
 * Build flags: -DCQF_RECIRCULATE (hold deterministic packets by recirculation instead of the
 * embedded traffic manager's CQF gate), -DCPU_PORT=N, and the limits in include/defines.p4.
 */
#include <core.p4>
#define V1MODEL_VERSION 20200408
#include <v1model.p4>

#include "include/defines.p4"
#include "include/headers.p4"
#include "include/parser.p4"
#include "include/checksum.p4"
#include "include/cpu.p4"
#include "include/srv6.p4"
#include "include/aisid.p4"
#include "include/flowlet.p4"
#include "include/egress_gateway.p4"
#include "include/routing.p4"
#include "include/cqf.p4"
#include "include/telemetry.p4"

control CpnIngress(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    /* The policy version every scheduler-filled table is matched with (behaviour 7). */
    register<bit<16>, bit<32>>(1) active_policy_version;

    CpuIngress() cpu;
    Srv6Sid() srv6;
    AisidClassify() aisid;
    FlowletSplit() flowlet;
    Srv6Encap() srv6_encap;
    EgressGateway() egw;
    Routing() routing;
    CqfIngress() cqf;
    TelemetryIngress() telemetry;

    apply {
        if (standard_metadata.instance_type != PKT_INSTANCE_TYPE_RECIRC) {
            meta.ingress_ts = standard_metadata.ingress_global_timestamp;
            meta.ingress_port = (bit<16>)standard_metadata.ingress_port;

            /* Malformed input: drop, counted by reason. */
            if (standard_metadata.parser_error == error.PacketTooShort) {
                meta.drop_reason = DROP_PARSER_TRUNCATED;
            } else if (standard_metadata.parser_error == error.IpHeaderInvalid) {
                meta.drop_reason = DROP_IP_BAD_VERSION;
            } else if (standard_metadata.parser_error == error.Ipv4OptionsUnsupported) {
                meta.drop_reason = DROP_IPV4_OPTIONS_UNSUPPORTED;
            } else if (standard_metadata.parser_error == error.RoutingTypeUnsupported) {
                meta.drop_reason = DROP_ROUTING_TYPE_UNSUPPORTED;
            } else if (standard_metadata.parser_error == error.SrhTooManySegments) {
                meta.drop_reason = DROP_SRH_TOO_MANY_SEGMENTS;
            } else if (standard_metadata.parser_error == error.SrhLengthInvalid) {
                meta.drop_reason = DROP_SRH_LENGTH_INVALID;
            } else if (standard_metadata.parser_error == error.SrhTlvTooLong) {
                meta.drop_reason = DROP_SRH_TLV_TOO_LONG;
            } else if (standard_metadata.parser_error == error.SrhSegmentsLeftInvalid) {
                meta.drop_reason = DROP_SRH_SEGMENTS_LEFT_INVALID;
            } else if (standard_metadata.parser_error == error.ProbeTooManyHops) {
                meta.drop_reason = DROP_PROBE_MALFORMED;
            } else if (standard_metadata.parser_error != error.NoError) {
                meta.drop_reason = DROP_PARSER_ERROR;
            } else if (standard_metadata.checksum_error == 1) {
                meta.drop_reason = DROP_IPV4_BAD_CHECKSUM;
            }

            if (meta.drop_reason == DROP_NONE) {
                cpu.apply(hdr, meta, standard_metadata);
            }

            if (meta.drop_reason == DROP_NONE && meta.skip_pipeline == 0) {
                if (hdr.srh.isValid()) {
                    meta.policy_version = hdr.srh.tag;
                } else {
                    active_policy_version.read(meta.policy_version, 0);
                }
                if (hdr.ipv6.isValid()) {
                    srv6.apply(hdr, meta, standard_metadata);
                }
            }

            /* The request: the (decapsulated) IPv6 packet without an SRH of its own. */
            if (meta.drop_reason == DROP_NONE && meta.skip_pipeline == 0 && hdr.ipv6.isValid()
                    && meta.srv6_end == 0 && !hdr.srh.isValid() && !hdr.inner_ipv6.isValid()) {
                meta.l4_proto = hdr.ipv6.next_hdr;
                if (hdr.udp.isValid()) {
                    meta.l4_src_port = hdr.udp.src_port;
                    meta.l4_dst_port = hdr.udp.dst_port;
                } else if (hdr.tcp.isValid()) {
                    meta.l4_src_port = hdr.tcp.src_port;
                    meta.l4_dst_port = hdr.tcp.dst_port;
                }
                aisid.apply(hdr, meta, standard_metadata);
            }

            /* Gateways. */
            if (meta.drop_reason == DROP_NONE && meta.punt_reason == 0 && meta.classified == 1) {
                /* The request's flow: flowlet and egress-gateway slots, outer flow label. */
                hash(meta.flow_crc, HashAlgorithm.crc32, 32w0,
                     { hdr.ipv6.src_addr, hdr.ipv6.dst_addr, meta.l4_proto,
                       meta.l4_src_port, meta.l4_dst_port },
                     64w0x100000000);
                meta.flow_hash = meta.flow_crc[19:0];
                if (meta.decapped == 1) {
                    meta.egw_request = 1;
                } else {
                    flowlet.apply(hdr, meta, standard_metadata);
                    if (meta.site_found == 0 || meta.site_local == 1) {
                        meta.egw_request = 1;
                    } else if (hdr.ipv6.hop_limit <= 1) {
                        /* H.Encaps forwards the request: its hop limit is spent here. */
                        meta.drop_reason = DROP_HOP_LIMIT_EXCEEDED;
                    } else {
                        hdr.ipv6.hop_limit = hdr.ipv6.hop_limit - 1;
                        srv6_encap.apply(hdr, meta, standard_metadata);
                    }
                }
            }
            if (meta.drop_reason == DROP_NONE && meta.punt_reason == 0 && meta.skip_pipeline == 0) {
                egw.apply(hdr, meta, standard_metadata);
            }

            /* Deterministic traffic the gateways did not classify: the outer DSCP says so. */
            if (meta.classified == 0 && hdr.ipv6.isValid()
                    && hdr.ipv6.dscp == DSCP_DETERMINISTIC) {
                meta.traffic_class = TC_DETERMINISTIC;
            }

            if (meta.drop_reason == DROP_NONE && meta.punt_reason == 0 && meta.skip_pipeline == 0) {
                routing.apply(hdr, meta, standard_metadata);
            }
        }

        if (meta.drop_reason == DROP_NONE && meta.punt_reason == 0 && meta.skip_pipeline == 0) {
            cqf.apply(hdr, meta, standard_metadata);
        }

        if (meta.drop_reason == DROP_NONE && meta.punt_reason != 0) {
            standard_metadata.egress_spec = CPU_PORT;
        }
        telemetry.apply(hdr, meta, standard_metadata);
        if (meta.drop_reason != DROP_NONE) {
            mark_to_drop(standard_metadata);
        }
    }
}

control CpnEgress(inout headers_t hdr,
                  inout local_metadata_t meta,
                  inout standard_metadata_t standard_metadata) {
    CqfEgress() cqf;
    TelemetryEgress() telemetry;
    CpuEgress() cpu;
    L4Checksum() l4_checksum;

    apply {
        if (meta.cqf_hold == 1) {
            /* CQF: the packet's cycle has not opened yet; come back through ingress. */
            cqf.apply(hdr, meta, standard_metadata);
        } else {
            telemetry.apply(hdr, meta, standard_metadata);
            cpu.apply(hdr, meta, standard_metadata);
        }
        l4_checksum.apply(hdr, meta);
    }
}

V1Switch(CpnParser(),
         CpnVerifyChecksum(),
         CpnIngress(),
         CpnEgress(),
         CpnComputeChecksum(),
         CpnDeparser()) main;
