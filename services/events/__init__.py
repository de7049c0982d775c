"""Order events (append-only history); owned by the order-lifecycle work, minimal here."""
