"""The append-only audit trail of every change that matters (issue 10)."""
