"""Quote jobs: which queued quote request was answered, once."""
