"""Live machine state (status, utilization, last seen) behind ``LiveStateStore``: Redis in
production, in memory for tests and the embedded mode."""
