// Preprocessor: #include "..." and <...> (twice, guarded), #define constants and function-like
// macros, #ifdef/#ifndef/#if/#elif/#else/#endif with defined() and arithmetic, #undef;
// annotations: @name (the control-plane name the STF uses), @hidden, others passed through.
#include <core.p4>
#include <v1model.p4>
#include "include/pp_common.p4"
#include "include/pp_common.p4"

#define FEATURE_X
#define LEVEL 3
#undef UNUSED_MACRO

#if defined(FEATURE_X) && LEVEL >= 2
#define B_VALUE 0x22
#elif LEVEL == 1
#define B_VALUE 0x11
#else
#define B_VALUE 0x00
#endif

#ifndef FEATURE_Y
const bit<8> C_VALUE = 0x33;
#else
const bit<8> C_VALUE = 0xFF;
#endif

struct headers_t { h_t h; }
struct meta_t { }

parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}

control VC(inout headers_t hdr, inout meta_t meta) { apply { } }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    @name("set_d") @brief("writes d") action write_d(bit<8> v) { hdr.h.d = v; }
    @hidden action internal() { hdr.h.a = hdr.h.a + 1; }
    @name("renamed_table") table t {
        key = { hdr.h.a: exact @name("a_key"); }
        actions = { write_d; @defaultonly NoAction; }
        default_action = NoAction();
    }
    apply {
        SET_BYTE(hdr.h.b, B_VALUE);
        SET_BYTE(hdr.h.c, C_VALUE + 1);
        t.apply();
        internal();
        sm.egress_spec = OUT_PORT;
    }
}

control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }

V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
