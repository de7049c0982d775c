"""Which tests run one after another on one worker: ``make test`` spreads the suite over
several workers (pytest-xdist, ``--dist loadgroup``) and gives these one group, so no two of
them ever overlap; the other workers go on with the rest meanwhile.

Why together: the fault tests time outages and kill processes of their own, the 100-accept test
runs three API processes and 100 threads, and the users of the shared Mosquitto clear its test
retained messages when their session starts and ends (``mqtt_url``), which would pull a retained
message from under a test on the other worker. Everything else keeps to its own database
schema, Redis key prefix, park id and free ports, so two workers cannot see each other.
"""

from __future__ import annotations

from collections.abc import Iterable

# The xdist_group of these tests.
ALONE_GROUP = "alone"

# Node-id prefixes (paths from the repository root) of the tests of the group.
SERIAL_PATHS = (
    "tests/faults/",
    # kills its own Mosquitto mid-stream and times its restart, like the fault tests
    "tests/connectors/test_broker_restart.py",
    "tests/services/test_concurrent_accepts.py",
    "tests/services/test_e2e_repair.py",
)

# A test using one of these fixtures (directly or through another fixture) is of the group.
SERIAL_FIXTURES = frozenset({"mqtt_url"})


def runs_alone(nodeid: str, fixturenames: Iterable[str]) -> bool:
    """Whether the test ``nodeid`` (with the closure of its fixtures) is of the group."""
    return nodeid.startswith(SERIAL_PATHS) or not SERIAL_FIXTURES.isdisjoint(fixturenames)
