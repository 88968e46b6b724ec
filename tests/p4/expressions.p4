// Expressions: arithmetic, bitwise, comparison and logical operators, saturating |+| |-|,
// shifts, slices, concatenation, casts, ?:, signed int<N> arithmetic, compile-time constant
// folding. Inputs come in header `inp`; every result is written to header `res`.
#include <core.p4>
#include <v1model.p4>

const bit<8> K = 3;
const bit<8> FOLDED = (K << 4) + (K * 2) - (8w1 ^ 8w3);   // 48 + 6 - 2 = 52
const int<8> NEG = -5;

header inp_t {
    bit<8>  a;
    bit<8>  b;
    int<8>  s;
    int<8>  t;
    bit<16> w;
}

header res_t {
    bit<8>  add;      // a + b (wraps)
    bit<8>  sub;      // a - b (wraps)
    bit<8>  mul;      // a * b (wraps)
    bit<8>  band;     // a & b
    bit<8>  bor;      // a | b
    bit<8>  bxor;     // a ^ b
    bit<8>  bnot;     // ~a
    bit<8>  shl;      // a << 3
    bit<8>  shr;      // a >> 2
    bit<8>  shlv;     // a << (b & 7)
    bit<8>  sat_add;  // a |+| b
    bit<8>  sat_sub;  // a |-| b
    bit<8>  slice;    // w[11:4]
    bit<16> concat;   // a ++ b
    bit<8>  cast_lo;  // (bit<8>) w
    bit<16> cast_up;  // (bit<16>) a + 16w1000
    bit<8>  tern;     // a > b ? a : b
    bit<8>  cmp;      // comparisons packed as bits
    bit<8>  logic;    // logical operators packed as bits
    bit<8>  neg;      // -a
    bit<8>  divmod;   // (a / 4) ++ (a % 4) in 6+2 bits
    int<8>  s_add;    // s + t (wraps)
    int<8>  s_sub;    // s - t
    int<8>  s_sat;    // s |+| t
    bit<8>  s_cmp;    // signed comparisons packed as bits
    int<8>  s_shr;    // s >> 1 (arithmetic)
    bit<8>  folded;   // FOLDED
    bit<8>  nested;   // ((a + 1) * 2) >> 1 with 8-bit wrap-around in between
    bit<1>  bool_bit; // (bit<1>)(a == b)
    bit<7>  pad;
}

struct headers_t { inp_t inp; res_t res; }
struct meta_t { bool flag; }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.inp);
        transition accept;
    }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {
        bit<8> a = hdr.inp.a;
        bit<8> b = hdr.inp.b;
        hdr.res.setValid();
        hdr.res.add = a + b;
        hdr.res.sub = a - b;
        hdr.res.mul = a * b;
        hdr.res.band = a & b;
        hdr.res.bor = a | b;
        hdr.res.bxor = a ^ b;
        hdr.res.bnot = ~a;
        hdr.res.shl = a << 3;
        hdr.res.shr = a >> 2;
        hdr.res.shlv = a << (b & 7);
        hdr.res.sat_add = a |+| b;
        hdr.res.sat_sub = a |-| b;
        hdr.res.slice = hdr.inp.w[11:4];
        hdr.res.concat = a ++ b;
        hdr.res.cast_lo = (bit<8>)hdr.inp.w;
        hdr.res.cast_up = (bit<16>)a + 16w1000;
        hdr.res.tern = a > b ? a : b;
        hdr.res.cmp = (bit<8>)((bit<1>)(a == b)) | ((bit<8>)((bit<1>)(a != b)) << 1)
                    | ((bit<8>)((bit<1>)(a < b)) << 2) | ((bit<8>)((bit<1>)(a <= b)) << 3)
                    | ((bit<8>)((bit<1>)(a > b)) << 4) | ((bit<8>)((bit<1>)(a >= b)) << 5);
        meta.flag = a > 10 && b > 10;
        bool either = a > 10 || b > 10;
        hdr.res.logic = (meta.flag ? 8w1 : 8w0) | (either ? 8w2 : 8w0) | (!either ? 8w4 : 8w0);
        hdr.res.neg = -a;
        hdr.res.divmod = ((a / 4) << 2) | (a % 4);
        hdr.res.s_add = hdr.inp.s + hdr.inp.t;
        hdr.res.s_sub = hdr.inp.s - hdr.inp.t;
        hdr.res.s_sat = hdr.inp.s |+| hdr.inp.t;
        hdr.res.s_cmp = (hdr.inp.s < hdr.inp.t ? 8w1 : 8w0) | (hdr.inp.s < NEG ? 8w2 : 8w0)
                      | (hdr.inp.s >= 0 ? 8w4 : 8w0);
        hdr.res.s_shr = hdr.inp.s >> 1;
        hdr.res.folded = FOLDED;
        hdr.res.nested = ((a + 1) * 2) >> 1;
        hdr.res.bool_bit = (bit<1>)(a == b);
        hdr.res.pad = 0;
        sm.egress_spec = 1;
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Dep(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr.inp);
        pkt.emit(hdr.res);
    }
}

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
