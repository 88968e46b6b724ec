/* cpn-p4 pipeline: constants.
 *
 * Mirrored in Python by traces/constants.py (tests/traces/test_constants.py keeps them equal).
 * Every value can be overridden at compile time with -DNAME=VALUE.
 */
#ifndef CPN_DEFINES_P4
#define CPN_DEFINES_P4

/* Ports (simple_switch numbering). Start simple_switch with --cpu-port CPU_PORT. */
#ifndef CPU_PORT
#define CPU_PORT 255
#endif
#define DROP_PORT 511

/* EtherTypes, IP protocol numbers, well-known ports. */
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_IPV6 41
#define IPPROTO_ROUTING 43
#define SRH_ROUTING_TYPE 4
#ifndef PROBE_UDP_PORT
#define PROBE_UDP_PORT 50000
#endif

/* Parser limits. */
#ifndef MAX_SRH_SEGMENTS
#define MAX_SRH_SEGMENTS 8
#endif
#ifndef MAX_SRH_TLV_WORDS
#define MAX_SRH_TLV_WORDS 4
#endif
#ifndef MAX_PROBE_HOPS
#define MAX_PROBE_HOPS 8
#endif

/* Ingress gateway. */
#define MAX_PATHS 4
#define SPLIT_SCALE 10000
#ifndef FLOWLET_SLOTS
#define FLOWLET_SLOTS 16384
#endif
#ifndef FLOWLET_DEFAULT_TIMEOUT_US
#define FLOWLET_DEFAULT_TIMEOUT_US 50000
#endif
#ifndef FLOW_PIN_DEFAULT_US
#define FLOW_PIN_DEFAULT_US 1000000
#endif
#define FLOW_SITE_LOCAL 0xFFFF
#ifndef SRV6_OUTER_HOP_LIMIT
#define SRV6_OUTER_HOP_LIMIT 64
#endif
#define DSCP_DETERMINISTIC 46

/* Egress gateway. */
#define MAX_EGW_NODES 8
#ifndef EGW_FLOW_SLOTS
#define EGW_FLOW_SLOTS 16384
#endif
#define EGW_NODE_IDS 256
#define EGW_FLOW_EMPTY 0
#define EGW_FLOW_ACTIVE 1
#define EGW_FLOW_CLOSED 2
#define EGW_FLOW_STATE_MASK 3
#define EGW_FLOW_SHARED 4

/* Telemetry. */
#define PORT_COUNT 512
#define SERVICE_COUNT 65536
#define DROP_REASON_COUNTER_SIZE 64
#define EGW_STATS_SIZE 8
#define EGW_STAT_NEW_FLOW 0
#define EGW_STAT_CLOSED_FLOW 1
#define EGW_STAT_COLLISION 2
#define EGW_STAT_AGED_FLOW 3
#define EGW_STAT_REPLY_REWRITTEN 4
#define EGW_STAT_REPLY_UNKNOWN 5
#define EGW_STAT_SHARED 6
#define EGW_STAT_REPLY_OVERWRITTEN 7
#define FLOWLET_STATS_SIZE 4
#define FLOWLET_STAT_NEW_PIN 0
#define FLOWLET_STAT_UNPINNED 1

/* CQF: deterministic traffic uses the queue pair CQF_PRIORITY_BASE (even cycles) and
 * CQF_PRIORITY_BASE + 1 (odd cycles); best effort uses BEST_EFFORT_PRIORITY. BMv2 serves the
 * highest priority value first. */
#ifndef CQF_PRIORITY_BASE
#define CQF_PRIORITY_BASE 6
#endif
#define BEST_EFFORT_PRIORITY 0
#define CQF_MAX_HOLD_PASSES 4096
/* Held packets loop through this otherwise unused port (never transmitted: they recirculate),
 * so that they do not wait behind the real port's traffic. */
#ifndef CQF_HOLD_PORT
#define CQF_HOLD_PORT 510
#endif

/* Traffic classes. */
#define TC_BEST_EFFORT 0
#define TC_DETERMINISTIC 1

/* packet_out.mode */
#define PACKET_OUT_DIRECT 0
#define PACKET_OUT_INJECT 1

/* packet_in.reason */
#define PUNT_UNKNOWN_AISID 1
#define PUNT_PROBE 2
#define PUNT_NO_SERVICE_SITE 3

/* Drop reasons: index of CpnIngress.drop_reasons. */
#define DROP_NONE 0
#define DROP_PARSER_TRUNCATED 1
#define DROP_PARSER_ERROR 2
#define DROP_IP_BAD_VERSION 3
#define DROP_SRH_SEGMENTS_LEFT_INVALID 4
#define DROP_SRH_LENGTH_INVALID 5
#define DROP_SRH_TOO_MANY_SEGMENTS 6
#define DROP_SRH_TLV_TOO_LONG 7
#define DROP_ROUTING_TYPE_UNSUPPORTED 8
#define DROP_PROBE_MALFORMED 9
#define DROP_IPV4_BAD_CHECKSUM 10
#define DROP_IPV4_OPTIONS_UNSUPPORTED 11
#define DROP_HOP_LIMIT_EXCEEDED 12
#define DROP_NO_ROUTE 13
#define DROP_SRV6_SID_INVALID 14
#define DROP_NO_SRV6_PATH 15
#define DROP_CQF_OVERFLOW 16
#define DROP_EGW_NO_NODE 17
#define DROP_NOT_IP 18
#define DROP_PACKET_OUT_INVALID 19

/* v1model instance types (standard_metadata.instance_type, BMv2 values). */
#define PKT_INSTANCE_TYPE_NORMAL 0
#define PKT_INSTANCE_TYPE_RECIRC 4

/* Recirculation field list (CQF hold). */
#define FL_CQF_HOLD 1

#endif
