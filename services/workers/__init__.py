"""Long-running consumers beside the API: the matcher (``match``: quote requests from a Redis
stream), the MQTT ingest (``ingest``) and the in-process MQTT runtime (``mqtt_runtime``)."""
