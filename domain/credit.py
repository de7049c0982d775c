"""A factory's credit score from its record on the platform, with priors (plain data, no I/O).

Three pieces of evidence, each a Bayesian estimate that starts at a prior worth a few
observations, so one late lot or one review does not swing a young record:
- on-time share of its finished lots: Beta prior of mean 0.8 worth 10 lots;
- scrap rate of its pieces: prior 2 % worth 500 pieces; quality = 1 - 5 x scrap rate
  (we assume 20 % scrap is as bad as it gets);
- customers' ratings (mean of quality, on-time, communication, 1-5): prior 4.0 worth 5
  reviews, scaled to 0..1.
The score weighs them 0.5 / 0.25 / 0.25: delivery on time is what a contract-manufacturing
customer buys first. A factory with no record scores the prior, 0.8125.
"""

from __future__ import annotations

from dataclasses import dataclass

ON_TIME_PRIOR, ON_TIME_PRIOR_LOTS = 0.8, 10.0
SCRAP_PRIOR, SCRAP_PRIOR_PIECES = 0.02, 500.0
RATING_PRIOR, RATING_PRIOR_REVIEWS = 4.0, 5.0
WEIGHTS = {"on_time": 0.5, "quality": 0.25, "ratings": 0.25}


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the platform has seen of one factory."""

    lots: int = 0
    on_time_lots: int = 0
    late_min_total: int = 0
    pieces: int = 0
    scrap: int = 0
    reviews: int = 0
    review_points: float = 0.0  # sum over reviews of each review's mean score (1-5)


@dataclass(frozen=True, slots=True)
class Credit:
    """The score (0..1) and its parts, each already blended with its prior."""

    score: float
    on_time_share: float
    scrap_rate: float
    rating: float  # 1..5


def on_time_share(e: Evidence) -> float:
    return (e.on_time_lots + ON_TIME_PRIOR * ON_TIME_PRIOR_LOTS) / (e.lots + ON_TIME_PRIOR_LOTS)


def scrap_rate(e: Evidence) -> float:
    return (e.scrap + SCRAP_PRIOR * SCRAP_PRIOR_PIECES) / (e.pieces + SCRAP_PRIOR_PIECES)


def rating(e: Evidence) -> float:
    return ((e.review_points + RATING_PRIOR * RATING_PRIOR_REVIEWS)
            / (e.reviews + RATING_PRIOR_REVIEWS))


def credit(e: Evidence) -> Credit:
    on_time, scrap, stars = on_time_share(e), scrap_rate(e), rating(e)
    quality = max(0.0, 1.0 - 5.0 * scrap)
    score = (WEIGHTS["on_time"] * on_time + WEIGHTS["quality"] * quality
             + WEIGHTS["ratings"] * (stars - 1.0) / 4.0)
    return Credit(score=round(score, 4), on_time_share=round(on_time, 4),
                  scrap_rate=round(scrap, 4), rating=round(stars, 3))
