"""`REDIS_URL`: one Redis, a Sentinel set, or a Cluster, for the rate limiter and the conversation store.

- `redis://[:password@]host:port[/db]` (or `rediss://` for TLS): one server.
- `redis+sentinel://[:password@]host:port[,host:port...]/service_name[/db]`: the master Sentinel names.
- `redis+cluster://[:password@]host:port[,host:port...]`: a Redis Cluster, found from any of its nodes.

These are the forms the `limits` library takes (with `async+` in front); the conversation store builds the
matching redis-py client from the same URL.

Both users treat any exception from Redis as Redis being unavailable, and answer as GATEWAY_REDIS_FAILURE
says (fail open or closed, logged with its cause), never with a 500. RedisError alone is not enough, and
neither is the `StorageError` into which `limits` wraps it: a cluster missing a slot's master raises
SlotNotCoveredError (outside RedisError), and redis-py 8.1's asyncio connection to a node that just stopped
raises AttributeError or RuntimeError from its handshake (tests/security/test_redis_cluster.py saw both).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import redis.asyncio as redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel

SCHEMES = ("redis", "rediss", "redis+sentinel", "redis+cluster")
TIMEOUT = 2.0  # seconds to connect, and for each command: a Redis that hangs must not hang requests


def check(url: str) -> str:
    """The URL if its form is one of the three; ValueError naming them otherwise.

    The messages never quote the URL: it may hold a password, and a password holding an unencoded `/`
    or `@` ends up in what looks like the host, port or path.
    """
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.netloc:
        raise ValueError(
            "use redis://host:port/db (rediss:// for TLS), redis+sentinel://host:port,host:port/service "
            "or redis+cluster://host:port,host:port"
        )
    for node in _nodes(parts.netloc):
        if node and not _port_of(node):
            raise ValueError(
                "a port is not a number from 1 to 65535 (percent-encode a ':', '/' or '@' in the password)"
            )
    path = parts.path.strip("/")
    if parts.scheme == "redis+sentinel":
        if not path:
            raise ValueError("a Sentinel URL names its service: redis+sentinel://host:port/service_name")
        path = path.partition("/")[2]
    if parts.scheme != "redis+cluster" and path and not path.isdigit():
        raise ValueError("the database, at the end of the path, is a number: redis://host:port/0")
    return url


def limits_uri(url: str) -> str:
    return url if url.startswith("async+") else "async+" + url


def client(url: str) -> redis.Redis | RedisCluster:
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        return redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    password = unquote(parts.password) if parts.password else None
    nodes = [_host_port(node) for node in _nodes(parts.netloc)]
    if parts.scheme == "redis+cluster":
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in nodes],
            password=password,
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
        )
    service, _, db = parts.path.strip("/").partition("/")
    sentinel = Sentinel(  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8
        nodes,
        sentinel_kwargs={"password": password, "socket_timeout": TIMEOUT},
        password=password,
        socket_timeout=TIMEOUT,
    )
    master: redis.Redis = sentinel.master_for(service, db=int(db or 0))
    return master


def _nodes(netloc: str) -> list[str]:
    return netloc.rpartition("@")[2].split(",")


def _port_of(node: str) -> int | None:
    """The node's port (6379 when it names none); None when what stands for it is not a port."""
    host, colon, port = node.rpartition(":")
    if not colon or not host or node.endswith("]"):  # `host`, `[::1]`: no port
        return 6379
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return int(port)


def _host_port(node: str) -> tuple[str, int]:
    host, colon, _ = node.rpartition(":")
    port = _port_of(node) or 6379
    return (host if colon and host and not node.endswith("]") else node), port
