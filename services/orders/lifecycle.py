"""The order lifecycle as an explicit state machine: which status may follow which.

Pure: no I/O. ``services.orders.transitions.transition`` applies a step to a stored order and
records it in the order's event history; everything that moves an order's status goes there.

    new -> quoted -> accepted -> in_production -> done
    new | quoted | expired -> cancelled;  accepted | in_production -> cancelled | failed
    quoted -> expired (every offer lapsed unaccepted) -> quoted (asked again)
"""

from __future__ import annotations

from services.core.errors import ConflictError
from services.orders.models import OrderState

S = OrderState

TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    S.NEW: frozenset({S.QUOTED, S.CANCELLED}),
    S.QUOTED: frozenset({S.ACCEPTED, S.EXPIRED, S.CANCELLED}),
    S.EXPIRED: frozenset({S.QUOTED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.IN_PRODUCTION, S.CANCELLED, S.FAILED}),
    # in_production -> accepted: a repair released every started lot's successors and
    # nothing runs any more is still production; we keep the order in_production then.
    S.IN_PRODUCTION: frozenset({S.DONE, S.CANCELLED, S.FAILED}),
    S.DONE: frozenset(),
    S.CANCELLED: frozenset(),
    S.FAILED: frozenset(),
}

# Nothing is booked in these states: the order may still be replaced, re-quoted or deleted.
OPEN_STATES = frozenset({S.NEW, S.QUOTED, S.EXPIRED})
# Time on the shop floor is committed in these states.
COMMITTED_STATES = frozenset({S.ACCEPTED, S.IN_PRODUCTION})
FINAL_STATES = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class IllegalTransitionError(ConflictError):
    """A status change the lifecycle does not allow (answered 409, naming both ends)."""

    def __init__(self, order_id: str, current: OrderState, target: OrderState) -> None:
        super().__init__(f"order {order_id} cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target


def allowed(current: OrderState, target: OrderState) -> bool:
    return target in TRANSITIONS[current]


def check(order_id: str, current: OrderState, target: OrderState) -> None:
    """IllegalTransitionError unless ``target`` may follow ``current``."""
    if not allowed(current, target):
        raise IllegalTransitionError(order_id, current, target)


def path_to(current: OrderState, target: OrderState) -> list[OrderState]:
    """The statuses to pass through from ``current`` to ``target`` along the production line.

    Progress can jump (one message reports a lot finished while the order was only accepted):
    the order still passes in_production, so its history says it started before it completed.
    Empty when already there; IllegalTransitionError is for the caller to raise when unreachable.
    """
    line = [S.ACCEPTED, S.IN_PRODUCTION, S.DONE]
    if current == target:
        return []
    if current in line and target in line and line.index(target) > line.index(current):
        return line[line.index(current) + 1: line.index(target) + 1]
    return [target]

