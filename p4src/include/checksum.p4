/* cpn-p4 pipeline: incremental L4 checksum maintenance (RFC 1624, eqn. 3).
 *
 * Rewrites that change bytes covered by the UDP/TCP checksum (the egress gateway's address
 * rewrite, a probe's new hop record and lengths) add  ~old + new  for every changed 16-bit word
 * (and  new  for every inserted word) to meta.csum_delta; L4Checksum applies the sum once, at
 * the end of egress:  HC' = ~(~HC + delta)  folded to 16 bits. A UDP checksum of 0 ("none")
 * is left alone; a computed UDP checksum of 0 is sent as 0xffff (RFC 768/8200).
 */
#ifndef CPN_CHECKSUM_P4
#define CPN_CHECKSUM_P4

#define CSUM_ADD16(acc, v) acc = acc + (bit<32>)(v)
#define CSUM_REPLACE16(acc, old, new) acc = acc + (bit<32>)(~(old)) + (bit<32>)(new)
#define CSUM_REPLACE128(acc, old, new) \
    CSUM_REPLACE16(acc, old[127:112], new[127:112]); \
    CSUM_REPLACE16(acc, old[111:96], new[111:96]); \
    CSUM_REPLACE16(acc, old[95:80], new[95:80]); \
    CSUM_REPLACE16(acc, old[79:64], new[79:64]); \
    CSUM_REPLACE16(acc, old[63:48], new[63:48]); \
    CSUM_REPLACE16(acc, old[47:32], new[47:32]); \
    CSUM_REPLACE16(acc, old[31:16], new[31:16]); \
    CSUM_REPLACE16(acc, old[15:0], new[15:0])

control L4Checksum(inout headers_t hdr, inout local_metadata_t meta) {
    bit<32> sum = 0;
    bit<16> folded = 0;
    apply {
        if (meta.csum_delta != 0) {
            if (hdr.udp.isValid() && hdr.udp.checksum != 0) {
                sum = (bit<32>)(~hdr.udp.checksum) + meta.csum_delta;
                sum = (sum & 0xffff) + (sum >> 16);
                sum = (sum & 0xffff) + (sum >> 16);
                folded = ~((bit<16>)sum);
                if (folded == 0) {
                    folded = 0xffff;
                }
                hdr.udp.checksum = folded;
            } else if (hdr.tcp.isValid()) {
                sum = (bit<32>)(~hdr.tcp.checksum) + meta.csum_delta;
                sum = (sum & 0xffff) + (sum >> 16);
                sum = (sum & 0xffff) + (sum >> 16);
                hdr.tcp.checksum = ~((bit<16>)sum);
            }
            meta.csum_delta = 0;
        }
    }
}

#endif
