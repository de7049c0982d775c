"""Time on integer minutes and the platform's commitments, as pure functions.

Calendars (``calendar``), free-interval algebra (``intervals``) and conflict checks
(``conflicts``) serve the solver and the greedy baseline; the booking commit (``booking.book``,
``booking.stranded``), the repair of a broken plan (``repair.repair``, ``repair.remake_layers``),
an overrunning lot (``overrun``) and the arrival of a lot's input (``arrival``) serve the
services' transactions and the market simulation alike.
"""
