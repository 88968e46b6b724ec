"""A small v1model program template for error tests: the lines of PARSER, LOCALS and APPLY
are placed at known line numbers."""

PRELUDE = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<16> b; }
struct headers_t { h_t h; }
struct meta_t { bit<8> x; }
"""  # 5 lines

TEMPLATE = (
    PRELUDE
    + """parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
{PARSER}
}
control VC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
{LOCALS}
    apply {
{APPLY}
    }
}
control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control Dep(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;
"""
)

DEFAULT_PARSER = "    state start { pkt.extract(hdr.h); transition accept; }"
# With one-line PARSER/LOCALS/APPLY: parser line 7, locals line 11, apply line 13.
PARSER_LINE, LOCALS_LINE, APPLY_LINE = 7, 11, 13


def program(parser: str = DEFAULT_PARSER, locals_: str = "", apply: str = "") -> str:
    return (
        TEMPLATE.replace("{PARSER}", parser).replace("{LOCALS}", locals_).replace("{APPLY}", apply)
    )
