"""The in-process broker: publish fans out to every subscriber of a channel, and only to them."""

from __future__ import annotations

import asyncio

import orjson

from lingxi.core.realtime import InMemoryBroker


async def _get(queue: asyncio.Queue[bytes]) -> dict:
    return orjson.loads(await asyncio.wait_for(queue.get(), 1))


async def test_fan_out_to_every_subscriber_of_the_channel():
    broker = InMemoryBroker()
    async with (
        broker.subscribe("conv:1") as a,
        broker.subscribe("conv:1") as b,
        broker.subscribe("conv:2") as other,
        broker.subscribe("conv:1", "agent:7") as multi,
    ):
        await broker.publish("conv:1", {"type": "message", "text": "您好"})
        for queue in (a, b, multi):
            assert await _get(queue) == {"type": "message", "text": "您好"}
        assert other.empty()
        await broker.publish("agent:7", {"type": "conversation", "id": 1})
        assert await _get(multi) == {"type": "conversation", "id": 1}
        assert a.empty() and b.empty()
    await broker.close()


async def test_order_is_kept_per_subscriber():
    broker = InMemoryBroker()
    async with broker.subscribe("conv:9") as queue:
        for i in range(20):
            await broker.publish("conv:9", {"n": i})
        assert [(await _get(queue))["n"] for _ in range(20)] == list(range(20))


async def test_unsubscribe_on_exit_and_publish_without_listeners():
    broker = InMemoryBroker()
    async with broker.subscribe("conv:3") as queue:
        pass
    await broker.publish("conv:3", {"late": True})  # nobody listens: no error, nothing queued
    assert queue.empty()
    assert "conv:3" not in broker._fanout.subscribers


async def test_a_stuck_subscriber_does_not_block_the_others():
    broker = InMemoryBroker()
    broker._fanout.QUEUE_SIZE = 2
    async with broker.subscribe("conv:5") as slow, broker.subscribe("conv:5") as fast:
        for i in range(3):
            await broker.publish("conv:5", {"n": i})
            assert (await _get(fast))["n"] == i
        assert slow.qsize() == 2  # the third notification was dropped for the stuck one only
