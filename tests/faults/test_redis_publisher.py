"""The bus publishes without waiting for Redis to answer (services/backends/redis_publisher.py).

On a Redis of the test's own: every message arrives, in order; the server writes nothing
back; a refused PUBLISH still fails the call; a Redis killed and started again is
reconnected; a server that answers anyway is noticed and published to with replies.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from agentos.errors import UnavailableError
from agentos.services.backends import redis_publisher
from agentos.services.backends.base import Subscription
from agentos.services.backends.redis import RedisBus, connect
from agentos.services.backends.redis_publisher import QuietPublisher
from tests.faults.private import PrivateRedis

pytestmark = [pytest.mark.faults]
PREFIX = "agentos-test:"


@pytest.fixture
def client(private_redis: PrivateRedis) -> Iterator[redis.Redis]:
    client = connect(private_redis.url)
    yield client
    client.close()


@pytest.fixture
def bus(client: redis.Redis) -> Iterator[RedisBus]:
    bus = RedisBus(client, PREFIX)
    yield bus
    bus.close()


Listening = tuple[RedisBus, Subscription]


@pytest.fixture
def listening(bus: RedisBus) -> Iterator[Listening]:
    subscription = bus.subscribe("changes")
    yield bus, subscription
    subscription.close()


def _received(subscription: Subscription, count: int) -> list[object]:
    numbers: list[object] = []
    deadline = time.monotonic() + 5
    while len(numbers) < count and time.monotonic() < deadline:
        event = subscription.get(0.2)
        if event is not None:
            numbers.append(event.payload["n"])
    return numbers


def _publisher(bus: RedisBus) -> QuietPublisher:
    publisher: QuietPublisher = bus._publisher
    return publisher


def test_every_message_arrives_in_order_and_redis_answers_nothing(listening: Listening) -> None:
    bus, subscription = listening
    bus.publish("changes", {"n": 0})
    bus.publish_many("changes", [{"n": n} for n in range(1, 40)])
    for n in range(40, 60):
        bus.publish("changes", {"n": n})
    assert _received(subscription, 60) == list(range(60))
    publisher = _publisher(bus)
    connection = publisher._connection
    assert connection is not None
    assert publisher.replies_off
    assert not connection.can_read(timeout=0.2), "Redis answered a CLIENT REPLY OFF connection"


def test_a_refused_publish_still_fails_the_call(
    private_redis: PrivateRedis, client: redis.Redis
) -> None:
    user = f"pub-{uuid.uuid4().hex[:8]}"
    client.execute_command("ACL", "SETUSER", user, "on", ">secret", "~*", "&*", "+@all", "-publish")
    refused = connect(f"redis://{user}:secret@127.0.0.1:{private_redis.port}/0")
    bus = RedisBus(refused, PREFIX)
    try:
        with pytest.raises(redis.ResponseError, match=r"(?i)permission|NOPERM"):
            bus.publish("changes", {"n": 1})
    finally:
        bus.close()
        refused.close()


def test_a_restarted_redis_is_reconnected(private_redis: PrivateRedis, bus: RedisBus) -> None:
    bus.publish("changes", {"n": 0})
    first = _publisher(bus)._connection
    private_redis.kill()
    # A dead server fails the send, or the next one when only the kernel knew.
    codes = []
    for n in range(50):  # the kernel learns of the close within a send or two
        try:
            bus.publish("changes", {"n": n})
        except UnavailableError as refused:
            codes.append(refused.code)
            break
        time.sleep(0.01)
    assert codes == ["BUS_UNAVAILABLE"]
    private_redis.start()
    subscription = bus.subscribe("changes")
    try:
        bus.publish("changes", {"n": 7})
        event = subscription.get(5)
    finally:
        subscription.close()
    assert event is not None
    assert event.payload == {"n": 7}
    assert _publisher(bus)._connection is not first


def test_a_server_that_answers_anyway_is_published_to_with_replies(
    listening: Listening, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bus, subscription = listening
    bus.publish("changes", {"n": 0})
    publisher = _publisher(bus)
    connection = publisher._connection
    assert connection is not None
    connection.send_command("CLIENT", "REPLY", "ON", check_health=False)  # as if ignored
    bus.publish("changes", {"n": 1})  # answered: the server writes a reply now
    assert connection.can_read(timeout=5)  # the answers are back before the next check
    monkeypatch.setattr(redis_publisher, "CHECK_EVERY_S", 0.0)
    with caplog.at_level(logging.WARNING, logger=redis_publisher.__name__):
        bus.publish("changes", {"n": 2})
        bus.publish_many("changes", [{"n": 3}, {"n": 4}])
    assert not publisher.replies_off
    assert publisher._connection is None
    assert "publishing with replies" in caplog.text
    assert _received(subscription, 5) == [0, 1, 2, 3, 4]
