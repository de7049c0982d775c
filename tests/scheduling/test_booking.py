"""book and stranded: each rule with a case it allows and one it forbids."""

from __future__ import annotations

from scheduling.booking import Calendar, ConflictKind, Held, Lot, book, stranded


def _cal(capacity: int = 1, windows: tuple[tuple[int, int], ...] = ((0, 100),),
         held: tuple[Held, ...] = (), available: bool = True) -> dict[str, Calendar]:
    return {"R": Calendar(capacity=capacity, windows=windows, held=held, available=available)}


def test_book__free_lot_inside_window_accepted() -> None:
    assert book(_cal(), [Lot("a", "R", 10, 20)]) == []


def test_book__lot_across_touching_windows_is_one_stretch() -> None:
    assert book(_cal(windows=((0, 50), (50, 100))), [Lot("a", "R", 40, 60)]) == []


def test_book__lot_outside_window_refused() -> None:
    [c] = book(_cal(windows=((0, 50), (60, 100))), [Lot("a", "R", 40, 70)])
    assert (c.lot, c.kind) == ("a", ConflictKind.OUTSIDE_WINDOW)


def test_book__overlap_with_held_lot_names_it() -> None:
    [c] = book(_cal(held=(Held("B1", 15, 30),)), [Lot("a", "R", 10, 20)])
    assert c.kind is ConflictKind.OVER_CAPACITY
    assert c.with_held == ("B1",)


def test_book__touching_held_lot_is_not_an_overlap() -> None:
    assert book(_cal(held=(Held("B1", 20, 30),)), [Lot("a", "R", 10, 20)]) == []


def test_book__lots_of_one_proposal_count_against_each_other() -> None:
    conflicts = book(_cal(capacity=2, held=(Held("B1", 0, 50),)),
                     [Lot("a", "R", 10, 20), Lot("b", "R", 15, 25)])
    assert [(c.lot, c.kind) for c in conflicts] == [("b", ConflictKind.OVER_CAPACITY)]


def test_book__capacity_two_takes_two() -> None:
    assert book(_cal(capacity=2, held=(Held("B1", 0, 50),)), [Lot("a", "R", 10, 20)]) == []


def test_book__unavailable_and_unknown_resources_refused() -> None:
    kinds = [c.kind for c in book(_cal(available=False),
                                  [Lot("a", "R", 10, 20), Lot("b", "X", 10, 20)])]
    assert kinds == [ConflictKind.UNAVAILABLE, ConflictKind.UNKNOWN_RESOURCE]


def test_book__empty_lot_refused() -> None:
    assert [c.kind for c in book(_cal(), [Lot("a", "R", 20, 20)])] == [ConflictKind.EMPTY]


def test_stranded__nothing_when_calendar_still_holds_every_lot() -> None:
    held = [Held("B1", 10, 20), Held("B2", 30, 40)]
    assert stranded(capacity=1, windows=[(0, 25), (25, 50)], held=held) == []


def test_stranded__lot_outside_new_windows() -> None:
    held = [Held("B1", 10, 20), Held("B2", 30, 40)]
    assert stranded(capacity=1, windows=[(0, 25)], held=held) == ["B2"]


def test_stranded__capacity_below_peak_strands_the_later_lot() -> None:
    held = [Held("B1", 10, 30), Held("B2", 20, 40), Held("B3", 50, 60)]
    assert stranded(capacity=2, windows=[(0, 100)], held=held) == []
    assert stranded(capacity=1, windows=[(0, 100)], held=held) == ["B2"]


def test_stranded__unbound_lot_needs_no_window() -> None:
    held = [Held("S1", 200, 300, bound=False)]
    assert stranded(capacity=1, windows=[(0, 100)], held=held) == []
