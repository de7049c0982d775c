"""Time: calendars, free-interval algebra, bookings ledger, booking commit and repair."""
