/* cpn-p4 pipeline: parser, checksum controls and deparser.
 *
 * Parse graph:
 *   start -(ingress_port == CPU_PORT)-> packet_out -> ethernet
 *   ethernet -> ipv4 | ipv6
 *   ipv6 -> srh (43) | inner_ipv6 (41) | udp | tcp
 *   srh -> srh_segments[last_entry + 1] -> srh_tlvs[hdr_ext_len - 2 (last_entry + 1)]
 *       -> inner_ipv6 (41) | udp | tcp
 *   inner_ipv6 -> udp | tcp
 *   udp (dst port PROBE_UDP_PORT) -> probe -> probe_hops[hop_count]
 * Malformed input fails a verify() (or runs past the end: PacketTooShort); v1model then starts
 * the ingress with standard_metadata.parser_error set, and the ingress drops and counts it.
 */
#ifndef CPN_PARSER_P4
#define CPN_PARSER_P4

parser CpnParser(packet_in packet,
                 out headers_t hdr,
                 inout local_metadata_t meta,
                 inout standard_metadata_t standard_metadata) {

    state start {
        transition select(standard_metadata.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }

    state parse_packet_out {
        packet.extract(hdr.packet_out);
        transition parse_ethernet;
    }

    state parse_ethernet {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            ETHERTYPE_IPV6: parse_ipv6;
            default: accept;
        }
    }

    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        verify(hdr.ipv4.version == 4 && hdr.ipv4.ihl >= 5, error.IpHeaderInvalid);
        verify(hdr.ipv4.ihl == 5, error.Ipv4OptionsUnsupported);
        transition accept;
    }

    state parse_ipv6 {
        packet.extract(hdr.ipv6);
        verify(hdr.ipv6.version == 6, error.IpHeaderInvalid);
        transition select(hdr.ipv6.next_hdr) {
            IPPROTO_ROUTING: parse_srh;
            IPPROTO_IPV6: parse_inner_ipv6;
            IPPROTO_UDP: parse_udp;
            IPPROTO_TCP: parse_tcp;
            default: accept;
        }
    }

    state parse_srh {
        packet.extract(hdr.srh);
        verify(hdr.srh.routing_type == SRH_ROUTING_TYPE, error.RoutingTypeUnsupported);
        verify(hdr.srh.last_entry < MAX_SRH_SEGMENTS, error.SrhTooManySegments);
        /* RFC 8754 §4.3.1.1 S10-S11: max_last_entry = hdr_ext_len / 2 - 1. */
        verify(hdr.srh.hdr_ext_len >= (hdr.srh.last_entry + 1) << 1, error.SrhLengthInvalid);
        verify(hdr.srh.hdr_ext_len - ((hdr.srh.last_entry + 1) << 1) <= MAX_SRH_TLV_WORDS,
               error.SrhTlvTooLong);
        /* RFC 8754 §4.3.1.1 S12: segments_left > last_entry + 1 is an error. */
        verify(hdr.srh.segments_left <= hdr.srh.last_entry + 1, error.SrhSegmentsLeftInvalid);
        meta.parser_segments = hdr.srh.last_entry + 1;
        meta.parser_tlv_words = hdr.srh.hdr_ext_len - ((hdr.srh.last_entry + 1) << 1);
        transition parse_srh_segment;
    }

    state parse_srh_segment {
        packet.extract(hdr.srh_segments.next);
        meta.parser_segments = meta.parser_segments - 1;
        transition select(meta.parser_segments) {
            0: parse_srh_tlvs;
            default: parse_srh_segment;
        }
    }

    state parse_srh_tlvs {
        transition select(meta.parser_tlv_words) {
            0: parse_srh_next;
            default: parse_srh_tlv_word;
        }
    }

    state parse_srh_tlv_word {
        packet.extract(hdr.srh_tlvs.next);
        meta.parser_tlv_words = meta.parser_tlv_words - 1;
        transition parse_srh_tlvs;
    }

    state parse_srh_next {
        transition select(hdr.srh.next_hdr) {
            IPPROTO_IPV6: parse_inner_ipv6;
            IPPROTO_UDP: parse_udp;
            IPPROTO_TCP: parse_tcp;
            default: accept;
        }
    }

    state parse_inner_ipv6 {
        packet.extract(hdr.inner_ipv6);
        verify(hdr.inner_ipv6.version == 6, error.IpHeaderInvalid);
        transition select(hdr.inner_ipv6.next_hdr) {
            IPPROTO_UDP: parse_udp;
            IPPROTO_TCP: parse_tcp;
            default: accept;
        }
    }

    state parse_udp {
        packet.extract(hdr.udp);
        transition select(hdr.udp.dst_port) {
            PROBE_UDP_PORT: parse_probe;
            default: accept;
        }
    }

    state parse_tcp {
        packet.extract(hdr.tcp);
        transition accept;
    }

    state parse_probe {
        packet.extract(hdr.probe);
        verify(hdr.probe.hop_count <= MAX_PROBE_HOPS, error.ProbeTooManyHops);
        meta.parser_probe_hops = hdr.probe.hop_count;
        transition parse_probe_hops;
    }

    state parse_probe_hops {
        transition select(meta.parser_probe_hops) {
            0: accept;
            default: parse_probe_hop;
        }
    }

    state parse_probe_hop {
        packet.extract(hdr.probe_hops.next);
        meta.parser_probe_hops = meta.parser_probe_hops - 1;
        transition parse_probe_hops;
    }
}

control CpnVerifyChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid() && hdr.ipv4.ihl == 5,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp, hdr.ipv4.ecn,
              hdr.ipv4.total_len, hdr.ipv4.identification, hdr.ipv4.flags,
              hdr.ipv4.frag_offset, hdr.ipv4.ttl, hdr.ipv4.protocol,
              hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

control CpnComputeChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
        update_checksum(hdr.ipv4.isValid() && hdr.ipv4.ihl == 5,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.dscp, hdr.ipv4.ecn,
              hdr.ipv4.total_len, hdr.ipv4.identification, hdr.ipv4.flags,
              hdr.ipv4.frag_offset, hdr.ipv4.ttl, hdr.ipv4.protocol,
              hdr.ipv4.src_addr, hdr.ipv4.dst_addr },
            hdr.ipv4.hdr_checksum, HashAlgorithm.csum16);
    }
}

control CpnDeparser(packet_out packet, in headers_t hdr) {
    apply {
        packet.emit(hdr.packet_in);
        packet.emit(hdr.ethernet);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.ipv6);
        packet.emit(hdr.srh);
        packet.emit(hdr.srh_segments);
        packet.emit(hdr.srh_tlvs);
        packet.emit(hdr.inner_ipv6);
        packet.emit(hdr.udp);
        packet.emit(hdr.tcp);
        packet.emit(hdr.probe);
        packet.emit(hdr.probe_hops);
    }
}

#endif
