"""Turn batches of incoming MQTT messages into live state, windows and progress.

``Ingest.handle_batch`` is the one handling function: the MQTT client hands it what its
callback queued, the fuzz test calls it directly. It never raises on input: every message ends
``applied``, ``rejected`` (with a reason, counted, and published to ``sharefab/v1/_rejected``)
or ``ignored`` (platform-to-gateway traffic the wildcard subscription also sees).

One batch costs one Redis round trip for all its seq checks and live-state writes (one Lua
script call), plus one for the counters. Windows and progress go to the database through the
``Effects`` protocol, implemented by the services layer.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol, runtime_checkable

import redis

from connectors.directory import Directory
from connectors.payloads import (
    AvailabilityPayload,
    GatewayStatusPayload,
    ProgressPayload,
    RejectedPayload,
    StatePayload,
    WorkOrderReplyPayload,
    encode,
)
from connectors.state import RedisState, SeqRules
from connectors.topics import REJECTED_TOPIC, Kind
from connectors.validation import Accepted, Ignored, Limits, Reason, Rejected, validate
from domain.model import Window

log = logging.getLogger(__name__)


class EffectUnavailable(Exception):  # noqa: N818 - a condition, not a programming error
    """Raised by an ``Effects`` implementation when its store is down (not when the data is
    bad): the message is not applied, its seq is given back, and the client retries it
    without acknowledging it."""


class Effects(Protocol):
    """Writes outside Redis that accepted messages cause (the database, in services).

    Raise ``EffectUnavailable`` for an outage (retried, never acknowledged); any other error
    rejects the message as ``effect_failed``.
    """

    def replace_windows(self, resource: str, windows: list[Window]) -> None: ...

    def record_progress(self, booking: str, done: int, scrap: int) -> None: ...


@runtime_checkable
class PlanEffects(Protocol):
    """Optional effects of the plan side: an ``Effects`` may also implement these."""

    def resource_down(self, resource: str) -> None: ...

    def reply_work_order(self, booking: str, accepted: bool, reason: str | None) -> None: ...


class NoEffects:
    """Keeps the last windows and progress in memory (benchmarks, tests without a database)."""

    def __init__(self) -> None:
        self.windows: dict[str, list[Window]] = {}
        self.progress: dict[str, tuple[int, int]] = {}

    def replace_windows(self, resource: str, windows: list[Window]) -> None:
        self.windows[resource] = windows

    def record_progress(self, booking: str, done: int, scrap: int) -> None:
        self.progress[booking] = (done, scrap)


# Not frozen: a frozen dataclass's __init__ costs ~1 us more, paid per message on the hot path.
@dataclass(slots=True)
class Incoming:
    topic: str
    payload: bytes
    retained: bool = False
    qos: int = 0
    mid: int = 0
    # Which connection delivered it: a QoS 1 ack is only sent on that same connection.
    generation: int = 0
    received_at: float = field(default_factory=time.time)


@dataclass(slots=True)
class Outcome:
    topic: str
    # "retry": the effect's store was down; not applied, not counted, must not be acknowledged.
    status: Literal["applied", "rejected", "ignored", "retry"]
    reason: Reason | None = None
    detail: str = ""
    kind: Kind | None = None


PublishRejected = Callable[[str, bytes], None]


class Ingest:
    """Validation, seq check, live-state write, side effects, counting: for one batch."""

    def __init__(self, state: RedisState, directory: Directory, effects: Effects | None = None,
                 *, publish: PublishRejected | None = None, limits: Limits = Limits(),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.state = state
        self.directory = directory
        self.effects = effects or NoEffects()
        self._plans_of: object = None  # the effects object _plans() last judged
        self._plan_effects: PlanEffects | None = None
        self.publish = publish
        self.limits = limits
        self.clock = clock
        self.messages = 0  # in this process; the Redis totals cover every process
        self.rejected: Counter[str] = Counter()
        self.applied = 0
        self._seq = int(time.time() * 1000)
        self._rules = SeqRules(max_jump=limits.max_seq_jump,
                               max_rate_per_s=limits.max_seq_rate_per_s,
                               clock_slack_ms=int(limits.max_future.total_seconds() * 1000))

    def handle(self, topic: str, payload: bytes, *, retained: bool = False) -> Outcome:
        return self.handle_batch([Incoming(topic, payload, retained=retained)])[0]

    def handle_batch(self, batch: Sequence[Incoming]) -> list[Outcome]:
        now = self.clock()
        outcomes: list[Outcome | None] = [None] * len(batch)
        accepted: list[tuple[int, Accepted]] = []
        for i, msg in enumerate(batch):
            verdict = _safe_validate(msg, now, self.directory, self.limits)
            if isinstance(verdict, Accepted):
                accepted.append((i, verdict))
            elif isinstance(verdict, Rejected):
                outcomes[i] = Outcome(msg.topic, "rejected", verdict.reason, verdict.detail)
            else:
                outcomes[i] = Outcome(msg.topic, "ignored")
        for i, outcome in self._apply(batch, accepted, now):
            outcomes[i] = outcome
        done = [o for o in outcomes if o is not None]
        self._count(batch, done)
        return done

    # ------------------------------------------------------------------ internals
    def _apply(self, batch: Sequence[Incoming], accepted: list[tuple[int, Accepted]],
               now: datetime) -> list[tuple[int, Outcome]]:
        if not accepted:
            return []
        results = self.state.apply(
            [self._op(batch[i].topic, acc, now) for i, acc in accepted],
            [int(acc.payload.ts.timestamp() * 1000) for _, acc in accepted],
            now=now, rules=self._rules)
        out: list[tuple[int, Outcome]] = []
        for (i, acc), result in zip(accepted, results, strict=True):
            topic, kind = batch[i].topic, acc.ref.kind
            if result == 0:
                out.append((i, Outcome(topic, "rejected", Reason.DUPLICATE_SEQ,
                                       f"seq {acc.payload.seq} already applied", kind)))
            elif result == -1:
                out.append((i, Outcome(topic, "rejected", Reason.STALE_SEQ,
                                       f"seq {acc.payload.seq} older than the last applied",
                                       kind)))
            elif result == -2:
                out.append((i, Outcome(topic, "rejected", Reason.SEQ_JUMP,
                                       f"seq {acc.payload.seq} is further ahead of the last "
                                       f"applied than the time since allows", kind)))
            elif kind is Kind.STATE and getattr(acc.payload, "status", None) != "down":
                # The common case: nothing outside Redis to do.
                out.append((i, Outcome(topic, "applied", None, "", kind)))
            else:
                out.append((i, self._side_effects(topic, acc, now)))
        return out

    def _op(self, topic: str, acc: Accepted, now: datetime) -> list[str]:
        ref, p = acc.ref, acc.payload
        if isinstance(p, StatePayload):
            assert ref.resource is not None
            return self.state.state_op(topic=topic, seq=p.seq, park=ref.park,
                                       factory=ref.factory, resource=ref.resource,
                                       status=p.status, utilization=p.utilization,
                                       last_seen=p.ts, now=now)
        if isinstance(p, GatewayStatusPayload):
            return self.state.gateway_op(topic=topic, seq=p.seq, park=ref.park,
                                         factory=ref.factory, online=p.online, ts=p.ts)
        if isinstance(p, ProgressPayload):
            # Ordered per booking, not per topic: one machine's topic carries the progress of
            # every lot on it, and reports of different lots may reach different workers.
            return self.state.seq_op(topic=progress_seq_key(topic, p.booking), seq=p.seq)
        return self.state.seq_op(topic=topic, seq=p.seq)

    def _plans(self) -> PlanEffects | None:
        """``effects`` if it also implements ``PlanEffects``, decided once per effects object:
        ``isinstance`` on a runtime-checkable Protocol walks its members on every call (about
        13 % of the ingest's path on a stream of ``down`` states, bench/ingest.py)."""
        if self._plans_of is not self.effects:
            effects = self.effects
            self._plans_of = effects
            self._plan_effects = effects if isinstance(effects, PlanEffects) else None
        return self._plan_effects

    def _side_effects(self, topic: str, acc: Accepted, now: datetime) -> Outcome:
        ref, p = acc.ref, acc.payload
        try:
            if isinstance(p, AvailabilityPayload):
                assert ref.resource is not None
                self.effects.replace_windows(ref.resource, [w.to_domain() for w in p.windows])
            elif isinstance(p, ProgressPayload):
                self.effects.record_progress(p.booking, p.done, p.scrap)
            elif isinstance(p, StatePayload) and (plans := self._plans()) is not None:
                assert ref.resource is not None
                plans.resource_down(ref.resource)  # only "down" states get here
            elif isinstance(p, WorkOrderReplyPayload) and (plans := self._plans()) is not None:
                plans.reply_work_order(p.booking, p.accepted, p.reason)
            elif isinstance(p, GatewayStatusPayload) and not p.online:
                self.state.mark_known_offline(
                    park=ref.park, factory=ref.factory,
                    resources=self.directory.resources_of(ref.park, ref.factory), ts=p.ts)
        except EffectUnavailable as exc:
            log.warning("applying %s deferred, its store is down: %s", topic, exc)
            # The key ``_op`` checked: a progress report's is per booking.
            key = progress_seq_key(topic, p.booking) if isinstance(p, ProgressPayload) else topic
            self.state.revert_seq(topic=key, seq=p.seq)
            return Outcome(topic, "retry", None, str(exc)[:300], ref.kind)
        except Exception as exc:  # bad data in the database must not stop the ingest
            log.warning("applying %s failed: %s", topic, exc)
            return Outcome(topic, "rejected", Reason.EFFECT_FAILED,
                           f"{type(exc).__name__}: {exc}"[:300], ref.kind)
        return Outcome(topic, "applied", kind=ref.kind)

    def _count(self, batch: Sequence[Incoming], outcomes: list[Outcome]) -> None:
        rejected: Counter[str] = Counter()
        received = 0
        for msg, outcome in zip(batch, outcomes, strict=True):
            if outcome.status in ("ignored", "retry"):
                continue
            received += 1
            if outcome.status == "applied":
                self.applied += 1
            else:
                assert outcome.reason is not None
                rejected[outcome.reason.value] += 1
                # A retained message replayed on (re)subscription is a duplicate by design:
                # counted, but not worth a notice to the gateway's developers.
                if not (msg.retained and outcome.reason is Reason.DUPLICATE_SEQ):
                    self._publish_rejection(msg, outcome)
        self.messages += received
        self.rejected.update(rejected)
        try:
            self.state.add_totals(received, rejected)
        except redis.RedisError as exc:  # the totals are best effort; the state is not
            log.warning("could not add ingest totals to Redis: %s", exc)

    def _publish_rejection(self, msg: Incoming, outcome: Outcome) -> None:
        if self.publish is None:
            return
        self._seq += 1
        assert outcome.reason is not None
        notice = RejectedPayload(
            topic=msg.topic[:512], reason=outcome.reason.value, detail=outcome.detail,
            payload_excerpt=msg.payload[:200].decode("utf-8", "replace"),
            ts=self.clock(), seq=self._seq)
        try:
            self.publish(REJECTED_TOPIC, encode(notice))
        except Exception as exc:  # a full outgoing queue drops notices, never the ingest
            log.debug("rejection notice not published: %s", exc)


def progress_seq_key(topic: str, booking: str) -> str:
    """The seq-check key of a progress report: its topic and its booking."""
    return f"{topic}#{booking}"


def _safe_validate(msg: Incoming, now: datetime, directory: Directory,
                   limits: Limits) -> Accepted | Rejected | Ignored:
    try:
        return validate(msg.topic, msg.payload, now=now, directory=directory, limits=limits)
    except Exception as exc:  # validate is total; this guards the directory implementation
        log.exception("validation of %s failed unexpectedly", msg.topic[:200])
        return Rejected(Reason.INVALID, f"{type(exc).__name__}: {exc}"[:300])
