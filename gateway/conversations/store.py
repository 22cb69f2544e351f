"""Where conversations live: in process (bounded, least recently used first out) or in Redis.

A conversation is a list of turns as Deep Chat shows them: `{"role": "user"|"ai", "text": ...}`. Keys are
opaque strings the caller built from the profile, the subject and the conversation id.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Protocol

import orjson
import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster

from gateway import redis_url

StoredMessage = dict[str, str]  # {"role": "user"|"ai", "text": ...}, as Deep Chat shows it


class StoreUnavailable(Exception):
    """The store could not be reached; GATEWAY_REDIS_FAILURE decides what the caller sees."""


class ConversationStore(Protocol):
    async def load(self, key: str) -> list[StoredMessage]: ...

    async def save(self, key: str, turns: list[StoredMessage], ttl: int) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def aclose(self) -> None: ...


class MemoryStore:
    """Process memory, at most `capacity` conversations: the one unused longest is forgotten first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[float, list[StoredMessage]]] = OrderedDict()

    async def load(self, key: str) -> list[StoredMessage]:
        item = self._items.get(key)
        if item is None:
            return []
        expires, turns = item
        if expires < time.monotonic():
            del self._items[key]
            return []
        self._items.move_to_end(key)
        return list(turns)

    async def save(self, key: str, turns: list[StoredMessage], ttl: int) -> None:
        self._items[key] = (time.monotonic() + ttl, list(turns))
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)

    async def aclose(self) -> None:
        self._items.clear()


class RedisStore:
    """One Redis string per conversation (JSON), expiring `ttl` seconds after its last turn."""

    def __init__(self, client: redis.Redis | RedisCluster, prefix: str = "deepchat:conversation:") -> None:
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """One Redis, a Sentinel set or a Cluster (see `gateway.redis_url`)."""
        return cls(redis_url.client(url))

    async def load(self, key: str) -> list[StoredMessage]:
        with _unavailable_on_failure():
            raw = await self._client.get(self._prefix + key)
        if raw is None:
            return []
        turns: list[StoredMessage] = orjson.loads(raw)
        return turns

    async def save(self, key: str, turns: list[StoredMessage], ttl: int) -> None:
        with _unavailable_on_failure():
            await self._client.set(self._prefix + key, orjson.dumps(turns), ex=ttl)

    async def delete(self, key: str) -> None:
        with _unavailable_on_failure():
            await self._client.delete(self._prefix + key)

    async def aclose(self) -> None:
        await self._client.aclose()


@contextlib.contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Whatever the Redis client raises is `StoreUnavailable` (why any exception: gateway/redis_url.py)."""
    try:
        yield
    except Exception as exc:
        raise StoreUnavailable(str(exc)) from exc
