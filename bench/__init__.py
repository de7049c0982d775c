"""Benchmarks: solver quality, quote latency, MQTT ingest, simulation scale."""
