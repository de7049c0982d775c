"""The outside world: MQTT topics, payload validation, ingest, dispatch, simulated gateway."""
