"""Live state of resources in Redis: the key layout, the atomic writes and the reads.

Keys (all under one prefix, so tests and deployments can share a Redis):

    {p}seq:{topic}          last accepted seq of a topic (shared by every ingest process)
    {p}live:{resource}      hash: status, utilization, last_seen (epoch s), park, factory
    {p}hb:{resource}        heartbeat, ``SET ... EX heartbeat_ttl``: gone = not heard from
    {p}gw:{park}/{factory}  hash: online (1/0), ts of the gateway's last status
    {p}resources            set of resource ids that have a live hash
    {p}metrics:messages     messages received by all ingest processes
    {p}metrics:rejected     hash reason -> count

The seq check and the write it guards run in one Lua script (one call per batch), so two
consumers of a shared subscription can never let an older message overwrite a newer one.
The effective status a reader sees folds in the gateway and the heartbeat: a resource whose
gateway is offline, or whose heartbeat expired, is ``offline`` whatever its last message said
(no sweeper needed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

# One call applies a whole batch: for each op, 1 = applied, 0 = duplicate seq, -1 = stale seq,
# -2 = seq too far ahead. ARGV: prefix, seq TTL, JSON list of ops, JSON list of the ops'
# message ts (epoch ms), now (epoch ms), max jump, max jump per ms, clock slack (ms). Numbers
# travel as strings: Lua numbers are doubles and would print large seqs in exponent form.
# Ops:
#   ["s", topic, seq, resource, park, factory, status, utilization, last_seen, hb_ttl]
#   ["g", topic, seq, park, factory, online (1/0), ts]
#   ["q", topic, seq]                       (seq check only: the effect is in the database)
# The seq key holds "seq ts_ms at_ms": the last accepted seq, its message's ts, and when we
# accepted it (a bare "seq" from before is read too). The rules, per topic:
# - seq above the last: applied, unless it is further ahead than both the clock in ms
#   (+ slack) and max jump + rate x time since the last accepted (one message must not lock
#   the real sender out);
# - seq at or below the last: a duplicate or stale, unless its ts is newer than the last
#   accepted ts: the sender restarted its counter. So a forged huge seq holds the real
#   sender back at most until its clock passes the forged ts (ts is at most max_future
#   ahead), never for good.
# Keys are built inside the script from the prefix: fine on one Redis, not on Redis Cluster.
_APPLY_BATCH = """
local p, seq_ttl = ARGV[1], ARGV[2]
local ops = cjson.decode(ARGV[3])
local times = cjson.decode(ARGV[4])
local now, max_jump, rate, slack = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]),
  tonumber(ARGV[8])
local out = {}
for i, op in ipairs(ops) do
  local skey = p .. 'seq:' .. op[2]
  local seq = tonumber(op[3])
  local ts = tonumber(times[i])
  local last = redis.call('GET', skey)
  local r = 1
  local l, lts, lat = 0, nil, now
  if last then
    local a, b, c = string.match(last, '^(%-?%d+) ?(%-?%d*) ?(%-?%d*)$')
    l = tonumber(a) or 0
    lts = tonumber(b)
    lat = tonumber(c) or now
  end
  if last and seq <= l then
    if lts == nil or ts <= lts then
      if seq < l then r = -1 else r = 0 end
    end
  elseif seq > now + slack and seq - l > max_jump + rate * math.max(0, now - lat) then
    r = -2
  end
  if r == 1 then
    redis.call('SET', skey, op[3] .. ' ' .. times[i] .. ' ' .. ARGV[5], 'EX', seq_ttl)
    if op[1] == 's' then
      local rid = op[4]
      redis.call('HSET', p .. 'live:' .. rid, 'status', op[7], 'utilization', op[8],
                 'last_seen', op[9], 'park', op[5], 'factory', op[6])
      if tonumber(op[10]) > 0 then
        redis.call('SET', p .. 'hb:' .. rid, op[9], 'EX', op[10])
      else
        redis.call('DEL', p .. 'hb:' .. rid)
      end
      redis.call('SADD', p .. 'resources', rid)
    elseif op[1] == 'g' then
      redis.call('HSET', p .. 'gw:' .. op[4] .. '/' .. op[5], 'online', op[6], 'ts', op[7])
    end
  end
  out[i] = r
end
return out
"""

# Undo one accepted seq whose effect outside Redis failed, so the redelivered message is
# accepted again (only if nothing newer was accepted meanwhile). KEYS[1] seq key; ARGV seq, TTL.
_REVERT_SEQ = """
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local a, rest = string.match(v, '^(%-?%d+)(.*)$')
if a == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[3] .. rest, 'EX', ARGV[2])
  return 1
end
return 0
"""

SEQ_TTL_S = 30 * 24 * 3600
DEFAULT_HEARTBEAT_TTL_S = 30


@dataclass(frozen=True, slots=True)
class SeqRules:
    """How far ahead a seq may jump (see the script above); ``connectors.validation.Limits``
    holds the configured values."""

    max_jump: int = 100_000
    max_rate_per_s: int = 10_000
    clock_slack_ms: int = 5 * 60 * 1000


@dataclass(frozen=True, slots=True)
class LiveRecord:
    """What Redis says about one resource, with the gateway and heartbeat folded in."""

    resource: str
    status: str
    utilization: float | None
    last_seen: datetime


class RedisState:
    """One Redis client and one key prefix; thread-safe (redis-py pools its connections)."""

    def __init__(self, client: redis.Redis, prefix: str = "sharefab:",
                 heartbeat_ttl_s: int = DEFAULT_HEARTBEAT_TTL_S,
                 time_scale: float = 1.0) -> None:
        self.redis = client
        self.prefix = prefix
        self.heartbeat_ttl_s = heartbeat_ttl_s
        # Seconds of message time per second of Redis (wall) time: 1, unless the platform
        # runs an accelerated simulated clock (services.core.clock, SHAREFAB_CLOCK_SPEED).
        # The heartbeat key expires in wall seconds; a message's age is in message seconds.
        self.time_scale = time_scale
        self._apply_batch = client.register_script(_APPLY_BATCH)
        self._revert_seq = client.register_script(_REVERT_SEQ)

    # ------------------------------------------------------------------ keys
    def seq_key(self, topic: str) -> str:
        return f"{self.prefix}seq:{topic}"

    def live_key(self, resource: str) -> str:
        return f"{self.prefix}live:{resource}"

    def hb_key(self, resource: str) -> str:
        return f"{self.prefix}hb:{resource}"

    def gw_key(self, park: str, factory: str) -> str:
        return f"{self.prefix}gw:{park}/{factory}"

    @property
    def index_key(self) -> str:
        return f"{self.prefix}resources"

    # ------------------------------------------------------------------ writes
    def state_op(self, *, topic: str, seq: int, park: str, factory: str, resource: str,
                 status: str, utilization: float | None, last_seen: datetime,
                 now: datetime) -> list[str]:
        # A replayed retained message keeps only what is left of its heartbeat. Times are
        # stored as epoch seconds: formatting ISO text per message costs more.
        seen_s = last_seen.timestamp()
        age_s = max(0.0, now.timestamp() - seen_s) / self.time_scale
        hb_ttl = int(self.heartbeat_ttl_s - age_s)
        return ["s", topic, str(seq), resource, park, factory, status,
                "" if utilization is None else repr(utilization), repr(seen_s), str(hb_ttl)]

    @staticmethod
    def gateway_op(*, topic: str, seq: int, park: str, factory: str, online: bool,
                   ts: datetime) -> list[str]:
        return ["g", topic, str(seq), park, factory, "1" if online else "0",
                repr(ts.timestamp())]

    @staticmethod
    def seq_op(*, topic: str, seq: int) -> list[str]:
        return ["q", topic, str(seq)]

    def warm_up(self) -> None:
        """Open the connection and load the script now, not on the first message's clock."""
        self.redis.ping()
        self._apply_batch(keys=[], args=[self.prefix, SEQ_TTL_S, "[]", "[]", "0", "0", "0", "0"])

    def apply(self, ops: list[list[str]], ts_ms: list[int] | None = None, *,
              now: datetime | None = None, rules: SeqRules = SeqRules()) -> list[int]:
        """Apply ops atomically, in order, in one round trip; 1 applied, 0 dup, -1 stale,
        -2 seq too far ahead. ``ts_ms``: each op's message ts (default: now)."""
        if not ops:
            return []
        now_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
        times = [str(t) for t in ts_ms] if ts_ms is not None else [str(now_ms)] * len(ops)
        if len(times) != len(ops):
            raise ValueError("one ts per op")
        result = self._apply_batch(keys=[], args=[
            self.prefix, SEQ_TTL_S, json.dumps(ops, separators=(",", ":")),
            json.dumps(times, separators=(",", ":")), str(now_ms), str(rules.max_jump),
            repr(rules.max_rate_per_s / 1000), str(rules.clock_slack_ms)])
        return [int(x) for x in result]

    def revert_seq(self, *, topic: str, seq: int) -> bool:
        """Forget that ``seq`` of ``topic`` was applied (its database effect failed), so the
        broker's redelivery applies it again; False when a newer seq came in meanwhile."""
        # The stored value is "seq ts at"; only the seq goes back (computed here: Lua numbers
        # are doubles and would print a large seq in exponent form).
        return bool(self._revert_seq(keys=[self.seq_key(topic)],
                                     args=[str(seq), SEQ_TTL_S, str(seq - 1)]))

    def mark_known_offline(self, *, park: str, factory: str, resources: Iterable[str],
                           ts: datetime) -> None:
        """Give resources that never reported a live entry, so they show as offline."""
        pipe = self.redis.pipeline(transaction=False)
        for resource in resources:
            key = self.live_key(resource)
            pipe.hsetnx(key, "status", "offline")
            pipe.hsetnx(key, "utilization", "")
            pipe.hsetnx(key, "last_seen", repr(ts.timestamp()))
            pipe.hsetnx(key, "park", park)
            pipe.hsetnx(key, "factory", factory)
            pipe.sadd(self.index_key, resource)
        pipe.execute()

    def add_totals(self, messages: int, rejected: Mapping[str, int]) -> None:
        if not messages and not rejected:
            return
        pipe = self.redis.pipeline(transaction=False)
        if messages:
            pipe.incrby(f"{self.prefix}metrics:messages", messages)
        for reason, count in rejected.items():
            pipe.hincrby(f"{self.prefix}metrics:rejected", reason, count)
        pipe.execute()

    # ------------------------------------------------------------------ reads
    def totals(self) -> tuple[int, dict[str, int]]:
        """(messages received, rejected by reason) over every ingest process."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(f"{self.prefix}metrics:messages")
        pipe.hgetall(f"{self.prefix}metrics:rejected")
        messages, rejected = pipe.execute()
        return int(messages or 0), {_s(k): int(v) for k, v in (rejected or {}).items()}

    def last_seq(self, topic: str) -> int | None:
        value = self.redis.get(self.seq_key(topic))
        return None if value is None else int(_s(value).split(" ", 1)[0])

    def read(self, resource_ids: list[str]) -> dict[str, LiveRecord]:
        if not resource_ids:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for rid in resource_ids:
            pipe.hgetall(self.live_key(rid))
            pipe.exists(self.hb_key(rid))
        raw = pipe.execute()
        hashes = {rid: {_s(k): _s(v) for k, v in raw[2 * i].items()}
                  for i, rid in enumerate(resource_ids) if raw[2 * i]}
        beating = {rid for i, rid in enumerate(resource_ids) if raw[2 * i + 1]}
        gateways = sorted({(h.get("park", ""), h.get("factory", "")) for h in hashes.values()})
        gw_pipe = self.redis.pipeline(transaction=False)
        for park, factory in gateways:
            gw_pipe.hget(self.gw_key(park, factory), "online")
        offline_gws = {gw for gw, online in zip(gateways, gw_pipe.execute(), strict=True)
                       if online is not None and _s(online) == "0"}
        out = {}
        for rid, h in hashes.items():
            status = h.get("status", "offline")
            gw_down = (h.get("park", ""), h.get("factory", "")) in offline_gws
            if gw_down or (rid not in beating and status not in ("down", "offline")):
                status = "offline"
            util = h.get("utilization", "")
            out[rid] = LiveRecord(resource=rid, status=status,
                                  utilization=float(util) if util else None,
                                  last_seen=_parse_ts(h.get("last_seen", "")))
        return out

    def all_resource_ids(self) -> list[str]:
        return sorted(_s(x) for x in self.redis.smembers(self.index_key))

    def read_all(self) -> dict[str, LiveRecord]:
        return self.read(self.all_resource_ids())

    def clear(self) -> None:
        """Delete every key under the prefix (tests and benchmarks)."""
        keys = list(self.redis.scan_iter(match=f"{self.prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            self.redis.delete(*keys[i:i + 500])


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse_ts(text: str) -> datetime:
    """Epoch seconds as written by ``state_op`` (ISO text accepted too)."""
    if not text:
        return datetime.fromtimestamp(0, UTC)
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
