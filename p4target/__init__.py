"""The embedded P4 target: a P4_16 compiler to BMv2 JSON + P4Info, a v1model software switch that
executes BMv2 JSON, a P4Runtime server wrapping it, and an STF test runner."""
