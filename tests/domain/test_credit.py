"""The credit score: priors so one record does not swing it; delivery weighs most."""

from __future__ import annotations

from domain.credit import Evidence, credit


def test_credit__no_record_scores_the_prior():
    assert credit(Evidence()).score == 0.8125


def test_credit__one_bad_review_moves_little_many_move_much():
    one = credit(Evidence(reviews=1, review_points=1.0)).score
    many = credit(Evidence(reviews=50, review_points=50.0)).score
    assert 0.8125 - one < 0.04
    assert 0.8125 - many > 0.15


def test_credit__late_lots_cost_more_than_the_same_count_of_bad_reviews():
    late = credit(Evidence(lots=10, on_time_lots=0)).score
    unhappy = credit(Evidence(reviews=10, review_points=10.0)).score
    punctual = credit(Evidence(lots=10, on_time_lots=10)).score
    assert late < unhappy < punctual


def test_credit__scrap_rate_blends_with_its_prior():
    clean = credit(Evidence(lots=5, on_time_lots=5, pieces=1000, scrap=0))
    scrappy = credit(Evidence(lots=5, on_time_lots=5, pieces=1000, scrap=150))
    assert clean.scrap_rate < 0.02 < scrappy.scrap_rate
    assert scrappy.score < clean.score
