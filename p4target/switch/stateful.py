"""Stateful objects: counter, register and meter arrays, parser value sets.

Meters are BMv2's two-rate three-color markers (RFC 2698, ``bm_sim/meters.cpp``): rates are given
committed first (CIR, then PIR), in units per microsecond (bytes or packets), bursts in bytes or
packets; the peak bucket is checked first (RED when empty), then the committed bucket (YELLOW),
else GREEN; an unconfigured meter returns GREEN (0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .errors import BadValueError

GREEN, YELLOW, RED = 0, 1, 2


class CounterArray:
    """Packet and byte counters (BMv2 counters always count both)."""

    def __init__(self, name: str, size: int, direct: bool = False, binding: str | None = None):
        self.name = name
        self.size = size
        self.direct = direct
        self.binding = binding
        self.packets = [0] * size
        self.bytes = [0] * size

    def count(self, idx: int, nbytes: int) -> None:
        if 0 <= idx < self.size:
            self.packets[idx] += 1
            self.bytes[idx] += nbytes

    def _check(self, idx: int) -> None:
        if not 0 <= idx < self.size:
            raise BadValueError(f"counter {self.name}: index {idx} out of range [0, {self.size})")

    def read(self, idx: int) -> tuple[int, int]:
        self._check(idx)
        return self.packets[idx], self.bytes[idx]

    def write(self, idx: int, packets: int, nbytes: int) -> None:
        self._check(idx)
        if packets < 0 or nbytes < 0:
            raise BadValueError("counter values must be non-negative")
        self.packets[idx] = packets
        self.bytes[idx] = nbytes

    def reset(self) -> None:
        self.packets = [0] * self.size
        self.bytes = [0] * self.size


class RegisterChecks:
    """The control-API checks of a register array (Python or native): ``name``, ``size``,
    ``bitwidth`` and ``mask`` are set by the subclass."""

    name: str
    size: int
    bitwidth: int
    mask: int

    def check_index(self, idx: int) -> None:
        if not 0 <= idx < self.size:
            raise BadValueError(f"register {self.name}: index {idx} out of range [0, {self.size})")

    def check_value(self, value: int) -> None:
        if not 0 <= value <= self.mask:
            raise BadValueError(
                f"register {self.name}: value {value} does not fit in {self.bitwidth} bits"
            )


class RegisterArray(RegisterChecks):
    """``size`` cells of ``bitwidth`` bits."""

    def __init__(self, name: str, size: int, bitwidth: int):
        self.name = name
        self.size = size
        self.bitwidth = bitwidth
        self.mask = (1 << bitwidth) - 1
        self.values = [0] * size

    def read(self, idx: int) -> int:
        if 0 <= idx < self.size:
            return self.values[idx]
        return 0

    def write(self, idx: int, value: int) -> None:
        if 0 <= idx < self.size:
            self.values[idx] = value & self.mask

    def reset(self) -> None:
        self.values = [0] * self.size


class Meter:
    """One N-rate (N+1)-color meter."""

    __slots__ = ("rates", "configured", "packets", "rate_count", "user_rates")

    def __init__(self, packets: bool, rate_count: int = 2):
        self.packets = packets
        self.rate_count = rate_count
        self.rates: list[list[float]] = []  # [info_rate, burst, tokens, tokens_last, color]
        self.user_rates: list[tuple[float, int]] = []
        self.configured = False

    def set_rates(self, configs: Sequence[tuple[float, int]]) -> None:
        """``configs`` = [(rate per µs, burst), ...] from the smallest rate (CIR) up."""
        configs = [(float(r), int(b)) for r, b in configs]
        if len(configs) != self.rate_count:
            raise BadValueError(f"meter needs {self.rate_count} rates, got {len(configs)}")
        for i, (r, b) in enumerate(configs):
            if r < 0 or b < 0:
                raise BadValueError("meter rates and bursts must be non-negative")
            if i and configs[i - 1][0] > r:
                raise BadValueError("meter rates must be given in increasing order (CIR <= PIR)")
        rates = [[r, b, b, 0, i + 1] for i, (r, b) in enumerate(configs)]
        rates.reverse()
        self.rates = rates
        self.user_rates = configs
        self.configured = True

    def reset_rates(self) -> None:
        self.rates = []
        self.user_rates = []
        self.configured = False

    def execute(self, now_us: float, length: int) -> int:
        if not self.configured:
            return GREEN
        micros = int(now_us)
        color = GREEN
        inp = 1 if self.packets else length
        for rate in self.rates:
            since_init = int(micros * rate[0])
            new_tokens = since_init - rate[3]
            if new_tokens < 0:
                new_tokens = 0
            rate[3] = since_init
            tokens = rate[2] + new_tokens
            if tokens > rate[1]:
                tokens = rate[1]
            if tokens < inp:
                rate[2] = tokens
                color = int(rate[4])
                break
            rate[2] = tokens - inp
        return color


class MeterArray:
    """``size`` meters of one type (bytes or packets)."""

    def __init__(
        self,
        name: str,
        size: int,
        packets: bool,
        rate_count: int,
        now_us: Callable[[], float],
        direct: bool = False,
        binding: str | None = None,
        result_target: int | None = None,
    ):
        self.name = name
        self.size = size
        self.packets = packets
        self.rate_count = rate_count
        self.now_us = now_us
        self.direct = direct
        self.binding = binding
        self.result_target = result_target  # field slot for direct meters
        self.meters = [Meter(packets, rate_count) for _ in range(size)]

    def execute(self, idx: int, P) -> int | None:  # noqa: ANN001
        if 0 <= idx < self.size:
            return self.meters[idx].execute(self.now_us(), P.ilen)
        return None

    def new_meter(self) -> Meter:
        return Meter(self.packets, self.rate_count)

    def check_index(self, idx: int) -> None:
        if not 0 <= idx < self.size:
            raise BadValueError(f"meter {self.name}: index {idx} out of range [0, {self.size})")

    def set_rates(self, idx: int | None, configs: Sequence[tuple[float, int]]) -> None:
        """Configure one meter (``idx``) or all of them (``idx`` None)."""
        probe = self.new_meter()
        probe.set_rates(configs)  # validates before anything changes
        targets = self.meters if idx is None else [self.meters[idx]]
        for m in targets:
            m.set_rates(configs)

    def reset(self) -> None:
        for m in self.meters:
            m.reset_rates()


class ParseValueSet:
    """A parser value set: values of ``bitwidth`` bits (the key fields concatenated)."""

    def __init__(self, name: str, bitwidth: int, max_size: int = 0):
        self.name = name
        self.bitwidth = bitwidth
        self.max_size = max_size
        self.values: set[int] = set()

    def _check(self, value: int) -> None:
        if not 0 <= value < (1 << self.bitwidth):
            raise BadValueError(
                f"value set {self.name}: {value:#x} does not fit in {self.bitwidth} bits"
            )

    def add(self, value: int) -> None:
        self._check(value)
        if self.max_size and value not in self.values and len(self.values) >= self.max_size:
            from .errors import TableFullError

            raise TableFullError(f"value set {self.name} is full ({self.max_size})")
        self.values.add(value)

    def remove(self, value: int) -> None:
        self._check(value)
        self.values.discard(value)

    def clear(self) -> None:
        self.values.clear()
