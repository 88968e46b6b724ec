"""The P4Runtime protobuf modules load under the current protobuf runtime."""

from google.protobuf import text_format
from google.protobuf.internal import api_implementation

from p4target import protos


def test_generated_modules_use_fast_runtime():
    assert api_implementation.Type() in {"upb", "cpp"}
    req = protos.p4runtime_pb2.WriteRequest(device_id=7)
    upd = req.updates.add()
    upd.type = protos.p4runtime_pb2.Update.INSERT
    upd.entity.table_entry.table_id = 0x02000001
    upd.entity.table_entry.match.add(field_id=1).exact.value = b"\x0a\x00\x00\x01"
    again = protos.p4runtime_pb2.WriteRequest.FromString(req.SerializeToString())
    assert again == req
    assert again.updates[0].entity.table_entry.match[0].exact.value == b"\n\x00\x00\x01"


def test_p4info_text_format_round_trip():
    info = protos.p4info_pb2.P4Info()
    table = info.tables.add()
    table.preamble.id = 0x02000001
    table.preamble.name = "MyIngress.ipv4_lpm"
    text = text_format.MessageToString(info)
    assert 'name: "MyIngress.ipv4_lpm"' in text
    assert text_format.Parse(text, protos.p4info_pb2.P4Info()) == info


def test_modernise_is_idempotent_and_keeps_enums():
    src = protos.modernise(
        "from google.protobuf import descriptor as _descriptor\n"
        "DESCRIPTOR = _descriptor.FileDescriptor(name='x.proto', serialized_pb=b'abc')\n",
        "x_pb2",
    )
    assert src.startswith(protos.MARKER)
    assert protos.modernise(src, "x_pb2") == src
    # proto3 enums are int32: SDN_PORT_CPU is 0xFFFFFFFD seen as a signed value
    assert protos.p4runtime_pb2.SDN_PORT_CPU == -3
