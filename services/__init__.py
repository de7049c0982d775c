"""Running processes: API, workers, persistence, live state, settings, CLI."""
