import pytest

from connectors.topics import (
    REJECTED_TOPIC,
    Kind,
    TopicError,
    TopicRef,
    gateway_status_topic,
    parse_topic,
    resource_topic,
    shared_filter,
)


@pytest.mark.parametrize("kind", [Kind.STATE, Kind.AVAILABILITY, Kind.WORK_ORDERS, Kind.PROGRESS])
def test_parse_topic__resource_topics_round_trip(kind):
    topic = resource_topic("P1", "F1", "F1-CNC1", kind)
    assert parse_topic(topic) == TopicRef("P1", "F1", "F1-CNC1", kind)
    assert parse_topic(topic).topic() == topic


def test_parse_topic__gateway_status_has_no_resource():
    ref = parse_topic(gateway_status_topic("P1", "F1"))
    assert ref == TopicRef("P1", "F1", None, Kind.GATEWAY_STATUS)
    assert ref.inbound


def test_parse_topic__work_orders_are_outbound():
    assert not parse_topic(resource_topic("P", "F", "R", Kind.WORK_ORDERS)).inbound


@pytest.mark.parametrize(("topic", "level"), [
    ("sharefab/v2/P/F/R/state", "sharefab/v1"),
    ("sharefab/v1/P/F/state", "levels"),
    ("sharefab/v1/P/F/R/state/x", "levels"),
    ("sharefab/v1/P 1/F/R/state", "park"),
    ("sharefab/v1/P/F+/R/state", "factory"),
    ("sharefab/v1/P/F/#/state", "resource"),
    ("sharefab/v1/P/F/R/temperature", "kind"),
    ("sharefab/v1/P/F/gateway/state", "gateway"),
    ("sharefab/v1/P/F/R/status", "gateway"),
])
def test_parse_topic__bad_topic_names_the_level(topic, level):
    with pytest.raises(TopicError, match=level):
        parse_topic(topic)


def test_shared_filter__mqtt5_share_syntax():
    assert shared_filter() == "$share/ingest/sharefab/v1/#"
    assert REJECTED_TOPIC == "sharefab/v1/_rejected"
