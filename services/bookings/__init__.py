"""Bookings: atomic acceptance of quotes (no double booking) and progress from gateways."""

from services.bookings.service import accept, get, get_all, record_progress

__all__ = ["accept", "get", "get_all", "record_progress"]
