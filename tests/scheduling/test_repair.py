"""repair: done stays done, broken and dependent lots released, shortfalls remade."""

from __future__ import annotations

from scheduling.repair import Breakage, Cut, LotState, PlannedLot, remake_layers, repair

# s1 -> s2 -> s3, 100 pieces
STEPS = {"s1": (), "s2": ("s1",), "s3": ("s2",)}


def _lot(lid: str, step: str, resource: str, start: int, end: int, *, quantity: int = 100,
         state: LotState = LotState.BOOKED, done: int = 0, scrap: int = 0) -> PlannedLot:
    return PlannedLot(lid, step, resource, start, end, quantity, state, done, scrap)


def _plan(*, s1: LotState = LotState.DONE, s1_done: int = 100) -> list[PlannedLot]:
    return [_lot("L1", "s1", "A", 0, 10, state=s1, done=s1_done),
            _lot("L2", "s2", "B", 12, 20), _lot("L3", "s3", "C", 22, 30)]


def test_repair__nothing_broken_nothing_to_do() -> None:
    decision = repair(_plan(), steps=STEPS, quantity=100, broken=Breakage())
    assert not decision.needed
    assert decision.keep == ("L1", "L2", "L3")


def test_repair__down_machine_releases_its_lot_and_what_follows() -> None:
    decision = repair(_plan(), steps=STEPS, quantity=100,
                      broken=Breakage(resources=frozenset({"B"})))
    assert decision.keep == ("L1",)
    assert decision.release == ("L2", "L3")
    assert dict(decision.remake) == {"s2": 100, "s3": 100}
    assert decision.ready_at == 10  # the kept s1 lot's end
    assert "cannot work" in decision.why["L2"]
    assert "s2" in decision.why["L3"]


def test_repair__done_lot_on_broken_machine_stays_done() -> None:
    decision = repair(_plan(), steps=STEPS, quantity=100,
                      broken=Breakage(resources=frozenset({"A"})))
    assert not decision.needed


def test_repair__scrap_shortfall_remakes_the_missing_pieces() -> None:
    decision = repair(_plan(s1_done=95), steps=STEPS, quantity=100, broken=Breakage())
    assert dict(decision.remake)["s1"] == 5
    assert decision.release == ("L2", "L3")  # they would wait for the remade pieces


def test_repair__running_lot_downstream_is_kept() -> None:
    lots = [_lot("L1", "s1", "A", 0, 10, state=LotState.DONE, done=100),
            _lot("L2", "s2", "B", 12, 20, state=LotState.DONE, done=100),
            _lot("L3a", "s3", "C", 22, 30, quantity=50, state=LotState.RUNNING, done=10),
            _lot("L3b", "s3", "D", 22, 30, quantity=50)]
    decision = repair(lots, steps=STEPS, quantity=100, broken=Breakage(lots=frozenset({"L3b"})))
    assert decision.keep == ("L1", "L2", "L3a")
    assert dict(decision.remake) == {"s3": 50}
    assert decision.ready_at == 20


def test_repair__running_lot_on_down_machine_counts_what_it_made() -> None:
    lots = [_lot("L1", "s1", "A", 0, 10, state=LotState.RUNNING, done=40)]
    decision = repair(lots, steps={"s1": ()}, quantity=100,
                      broken=Breakage(resources=frozenset({"A"})))
    assert decision.release == ("L1",)
    assert dict(decision.remake) == {"s1": 60}


def test_remake_layers__each_step_remakes_exactly_its_shortfall() -> None:
    """55 good of 100 at s1 (a done lot): s1 is short 45, s2 and s3 (released) 100."""
    lots = [_lot("L1", "s1", "A", 0, 10, state=LotState.DONE, done=55, scrap=45),
            _lot("L2", "s2", "B", 12, 20), _lot("L3", "s3", "C", 22, 30)]
    decision = repair(lots, steps=STEPS, quantity=100, broken=Breakage())
    layers = remake_layers(decision, steps=STEPS, lots=lots)
    assert [(x.steps, x.quantity, x.fed_by) for x in layers] == [
        (("s1", "s2", "s3"), 45, ()),  # from scratch: s1 -> s2 -> s3
        (("s2", "s3"), 55, ("L1",)),  # from the kept s1 lot's 55 good pieces
    ]
    for step, short in decision.remake.items():
        assert sum(x.quantity for x in layers if step in x.steps) == short


def test_remake_layers__one_shortfall_is_one_layer() -> None:
    decision = repair(_plan(), steps=STEPS, quantity=100,
                      broken=Breakage(resources=frozenset({"B"})))
    [layer] = remake_layers(decision, steps=STEPS, lots=_plan())
    assert (layer.steps, layer.quantity, layer.fed_by) == (("s2", "s3"), 100, ("L1",))


def test_repair__a_cut_lot_is_kept_smaller_and_the_difference_remade() -> None:
    lots = [_lot("L1", "s1", "A", 0, 10, state=LotState.RUNNING, done=30),
            _lot("L2", "s2", "B", 12, 20)]
    decision = repair(lots, steps={"s1": (), "s2": ("s1",)}, quantity=100,
                      broken=Breakage(cuts=(Cut("L1", 70),)))
    assert decision.keep == ("L1",)
    assert dict(decision.cut) == {"L1": 70}
    assert dict(decision.remake) == {"s1": 30, "s2": 100}
    assert decision.release == ("L2",)  # its input now arrives in two parts, later
