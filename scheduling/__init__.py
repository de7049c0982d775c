"""Time on integer minutes: calendars (``calendar``), free-interval algebra (``intervals``) and
pure conflict checks (``conflicts``), used by the solver and the greedy baseline.

What is not here yet: the bookings ledger, committing a booking and repairing a plan. Today the
booking rules run in ``services/bookings/service.py`` on datetimes (locked rows, the capacity
sweep); moving them here as ``scheduling.book`` / ``repair`` is planned work (issue 11).
"""
