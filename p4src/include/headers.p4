/* cpn-p4 pipeline: header types, the headers struct and the per-packet metadata. */
#ifndef CPN_HEADERS_P4
#define CPN_HEADERS_P4

#include "defines.p4"

typedef bit<48> mac_addr_t;
typedef bit<32> ipv4_addr_t;
typedef bit<128> ipv6_addr_t;

/* Controller headers (P4Runtime PacketIn / PacketOut metadata). */
@controller_header("packet_in")
header packet_in_t {
    bit<16> ingress_port;   /* port the packet arrived on */
    bit<8>  reason;         /* PUNT_* */
}

@controller_header("packet_out")
header packet_out_t {
    bit<16> egress_port;    /* PACKET_OUT_DIRECT: port to send the packet out of */
    bit<8>  mode;           /* PACKET_OUT_DIRECT or PACKET_OUT_INJECT (run the pipeline) */
}

header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

header ipv4_t {
    bit<4>      version;
    bit<4>      ihl;
    bit<6>      dscp;
    bit<2>      ecn;
    bit<16>     total_len;
    bit<16>     identification;
    bit<3>      flags;
    bit<13>     frag_offset;
    bit<8>      ttl;
    bit<8>      protocol;
    bit<16>     hdr_checksum;
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
}

/* IPv6 (RFC 8200); the 8-bit Traffic Class is split into DSCP and ECN. */
header ipv6_t {
    bit<4>      version;
    bit<6>      dscp;
    bit<2>      ecn;
    bit<20>     flow_label;
    bit<16>     payload_len;
    bit<8>      next_hdr;
    bit<8>      hop_limit;
    ipv6_addr_t src_addr;
    ipv6_addr_t dst_addr;
}

/* Segment Routing Header (RFC 8754 §2): the first 8 octets. The segment list follows as
 * srh_segments[0..last_entry] (Segment List[0] = the LAST segment of the path), then optional
 * TLVs up to 8 * (hdr_ext_len + 1) octets in all. */
header srh_t {
    bit<8>  next_hdr;
    bit<8>  hdr_ext_len;    /* 8-octet units, not counting the first 8 octets */
    bit<8>  routing_type;   /* 4 */
    bit<8>  segments_left;
    bit<8>  last_entry;     /* index of the last element of the segment list */
    bit<8>  flags;
    bit<16> tag;            /* cpn-p4: the policy version stamped by the ingress gateway */
}

header srh_segment_t {
    ipv6_addr_t sid;
}

/* SRH TLV area, skipped in 8-octet words and re-emitted unchanged. */
header srh_tlv_word_t {
    bit<64> data;
}

header udp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> length;
    bit<16> checksum;
}

header tcp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<32> seq_no;
    bit<32> ack_no;
    bit<4>  data_offset;
    bit<4>  reserved;
    bit<8>  flags;          /* CWR ECE URG ACK PSH RST SYN FIN */
    bit<16> window;
    bit<16> checksum;
    bit<16> urgent_ptr;
}

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/* Path probe (UDP destination port PROBE_UDP_PORT): 8 octets + hop_count hop records. */
header probe_t {
    bit<32> seq;
    bit<8>  flags;          /* PROBE_FLAG_* */
    bit<8>  path_id;        /* with PROBE_FLAG_PINNED_PATH: the path the ingress gateway uses */
    bit<8>  hop_count;
    bit<8>  reserved;
}

#define PROBE_FLAG_PINNED_PATH 0x01
#define PROBE_FLAG_OVERFLOW 0x02

/* One switch's stamp; pushed at the front (probe_hops[0] = the most recent switch). */
header probe_hop_t {
    bit<16> switch_id;
    bit<16> ingress_port;
    bit<16> egress_port;
    bit<16> queue_depth;    /* packets in the egress queue at enqueue (saturated) */
    bit<48> ingress_ts;     /* µs, switch clock */
    bit<48> egress_ts;      /* µs, switch clock */
}

struct headers_t {
    packet_out_t   packet_out;
    packet_in_t    packet_in;
    ethernet_t     ethernet;
    ipv4_t         ipv4;
    ipv6_t         ipv6;
    srh_t          srh;
    srh_segment_t[MAX_SRH_SEGMENTS]   srh_segments;
    srh_tlv_word_t[MAX_SRH_TLV_WORDS] srh_tlvs;
    ipv6_t         inner_ipv6;
    udp_t          udp;
    tcp_t          tcp;
    probe_t        probe;
    probe_hop_t[MAX_PROBE_HOPS] probe_hops;
}

error {
    IpHeaderInvalid,            /* IPv4 version != 4 or IHL < 5; IPv6 version != 6 */
    Ipv4OptionsUnsupported,
    RoutingTypeUnsupported,     /* routing header that is not an SRH */
    SrhTooManySegments,         /* last_entry + 1 > MAX_SRH_SEGMENTS */
    SrhLengthInvalid,           /* hdr_ext_len < 2 * (last_entry + 1) */
    SrhTlvTooLong,              /* TLV area > MAX_SRH_TLV_WORDS words */
    SrhSegmentsLeftInvalid,     /* segments_left > last_entry + 1 */
    ProbeTooManyHops            /* hop_count > MAX_PROBE_HOPS */
}

struct local_metadata_t {
    /* parser loop counters */
    bit<8>  parser_segments;
    bit<8>  parser_tlv_words;
    bit<8>  parser_probe_hops;

    /* flow identity (of the request: the innermost IPv6 header) */
    bit<8>  l4_proto;
    bit<16> l4_src_port;
    bit<16> l4_dst_port;
    bit<32> flow_crc;   /* crc32 of the 5-tuple (egress gateway: both slots) */
    bit<20> flow_hash;  /* flow_crc mod 2^20: flowlet slot, outer flow label */
    bit<16> flow_sig;

    /* verdicts */
    bit<8>  drop_reason;    /* DROP_*, 0 = not dropped */
    bit<8>  punt_reason;    /* PUNT_*, 0 = not sent to the controller */
    bit<1>  skip_pipeline;  /* packet_out DIRECT: no further processing */

    /* policy version used by every scheduler-filled table for this packet */
    bit<16> policy_version;

    /* AISID classification */
    bit<64> aisid_prefix;
    bit<16> aisid_object;
    bit<16> aisid_function;
    bit<16> aisid_method;
    bit<16> aisid_performance;
    bit<1>  is_aisid;
    bit<1>  classified;
    bit<16> service_id;
    bit<8>  traffic_class;  /* TC_* */
    bit<32> deadline_us;

    /* SRv6 */
    bit<1>  srv6_end;       /* End applied: transit, no gateway work */
    bit<1>  decapped;       /* End.DT6 applied */
    bit<1>  encapped;       /* H.Encaps applied: outer header is fresh */

    /* ingress gateway */
    bit<16> site_id;
    bit<1>  site_local;
    bit<1>  site_found;
    bit<8>  path_id;
    bit<16> split_point;
    bit<16> split_0;
    bit<16> split_1;
    bit<16> split_2;

    /* egress gateway */
    bit<1>  egw_request;

    /* length and checksum bookkeeping */
    bit<32> len_delta;      /* bytes added (two's complement: removed) by ingress rewrites */
    bit<32> csum_delta;     /* one's-complement sum to add to the L4 checksum (RFC 1624) */

    /* CQF */
    bit<1>  cqf_enabled;
    bit<32> cqf_cycle_bytes;
    bit<1>  cqf_offset;
    bit<1>  cqf_hold;       /* recirculate: the packet's cycle has not opened yet */
    @field_list(FL_CQF_HOLD)
    bit<8>  cqf_shift;      /* cycle T = 2^cqf_shift µs */
    @field_list(FL_CQF_HOLD)
    bit<48> cqf_release_cycle;  /* hold until this cycle starts */
    @field_list(FL_CQF_HOLD)
    bit<16> cqf_port;
    @field_list(FL_CQF_HOLD)
    bit<8>  cqf_priority;
    @field_list(FL_CQF_HOLD)
    bit<16> cqf_passes;
    @field_list(FL_CQF_HOLD)
    bit<1>  cqf_ready;      /* held packet: its cycle has opened, send it */
    @field_list(FL_CQF_HOLD)
    bit<48> ingress_ts;     /* first arrival (kept across recirculation) */
    @field_list(FL_CQF_HOLD)
    bit<16> ingress_port;   /* port of first arrival (kept across recirculation) */
}

#endif
