"""Record a finished quote request; look one up (the matcher skips what is already done)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.jobs.models import JobState, QuoteJob


def get(session: Session, *, request_id: str) -> QuoteJob | None:
    return session.get(QuoteJob, request_id)


def create(session: Session, *, request_id: str, order_id: str, consumer: str,
           attempts: int, quote_ids: list[str], now: datetime,
           status: JobState = JobState.DONE, reason: str | None = None) -> QuoteJob:
    """Insert the record and flush: raises IntegrityError when the request was answered."""
    job = QuoteJob(request_id=request_id, order_id=order_id, status=status.value,
                   consumer=consumer[:128], attempts=attempts, quote_ids=quote_ids,
                   reason=None if reason is None else reason[:500], finished_at=now)
    session.add(job)
    session.flush()
    return job
