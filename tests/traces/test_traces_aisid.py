"""The AISID type: build, parse, validate, Performance unit."""

import ipaddress

import pytest

from traces.aisid import AISID, PERFORMANCE_UNIT_US, AISIDError, performance_from_latency_us

PAPER_EXAMPLE = "2001:0db8:abcd:0012:0001:0002:0001:1388"


def test_parse_paper_example():
    a = AISID.from_address(PAPER_EXAMPLE)
    assert (a.object, a.function, a.method, a.performance) == (1, 2, 1, 0x1388)
    assert a.prefix == 0x20010DB8ABCD0012
    assert a.address == "2001:db8:abcd:12:1:2:1:1388"
    assert a.prefix_network == ipaddress.IPv6Network("2001:db8:abcd:12::/64")
    assert a.suffix == 0x0001000200011388
    assert a.latency_budget_us == 5000 * PERFORMANCE_UNIT_US == 500_000


@pytest.mark.parametrize(
    "prefix",
    ["2001:db8:abcd:12::/64", "2001:db8:abcd:12::", "2001:db8:abcd:12", 0x20010DB8ABCD0012],
)
def test_build_from_fields_round_trips(prefix):
    a = AISID.from_fields(prefix, 1, 2, 1, 0x1388)
    assert a.packed == ipaddress.IPv6Address(PAPER_EXAMPLE).packed
    assert AISID.from_address(a.packed) == a
    assert AISID.from_address(int(a)) == a
    assert AISID.from_address(ipaddress.IPv6Address(a.address)) == a
    assert str(a) == a.address


@pytest.mark.parametrize(
    "field,value,msg",
    [
        ("object", 65536, "object must be in 0..65535"),
        ("function", -1, "function must be in 0..65535"),
        ("method", 1.5, "method must be an int"),
        ("performance", True, "performance must be an int"),
    ],
)
def test_field_range_errors(field, value, msg):
    fields = dict(object=1, function=2, method=1, performance=5)
    fields[field] = value
    with pytest.raises(AISIDError, match=msg):
        AISID.from_fields("2001:db8::/64", **fields)


@pytest.mark.parametrize(
    "prefix,msg",
    [
        ("2001:db8::/48", "must be a /64"),
        ("2001:db8::1/64", "not an IPv6 /64 prefix"),
        ("not-an-address", "not an IPv6 /64 prefix"),
        (1 << 64, "64 bits"),
        (-1, "64 bits"),
    ],
)
def test_prefix_errors(prefix, msg):
    with pytest.raises(AISIDError, match=msg):
        AISID.from_fields(prefix, 1, 1, 1, 1)


def test_address_errors():
    with pytest.raises(AISIDError, match="not an IPv6 address"):
        AISID.from_address("10.0.0.1")
    with pytest.raises(AISIDError, match="16 bytes"):
        AISID.from_address(b"\x00" * 4)
    with pytest.raises(AISIDError, match="128-bit"):
        AISID.from_address(1 << 128)


def test_performance_unit_rounds_down_and_bounds():
    assert performance_from_latency_us(250) == 2  # 200 µs, never more than asked
    assert performance_from_latency_us(2000) == 20
    assert AISID.with_latency("2001:db8::/64", 1, 1, 1, 2000).performance == 20
    with pytest.raises(AISIDError, match="below one Performance unit"):
        performance_from_latency_us(99)
    with pytest.raises(AISIDError, match="exceeds"):
        performance_from_latency_us(65536 * PERFORMANCE_UNIT_US)
    assert AISID.from_fields("2001:db8::/64", 1, 1, 1, 0).latency_budget_us is None


def test_replace_validates():
    a = AISID.from_address(PAPER_EXAMPLE)
    assert a.replace(method=3).method == 3
    with pytest.raises(AISIDError):
        a.replace(method=70000)
    with pytest.raises(AISIDError, match="unknown AISID field"):
        a.replace(colour=1)
