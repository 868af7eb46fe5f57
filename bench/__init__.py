"""Benchmarks: converters from the shared Swedish datasets, quality and speed measurements."""
