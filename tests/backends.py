"""Where the test PostgreSQL and Redis live, and a skip with a clear reason when they do not answer.

    from backends import postgres_url_or_skip, redis_url_or_skip

``IDP_TEST_POSTGRES_URL`` (default: user ``postgres``, then ``root``, at 127.0.0.1:5432/test) and
``IDP_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``) choose the servers. With
``IDP_REQUIRE_BACKENDS=1`` a skipped ``postgres``/``redis`` test fails the run (backend_requirements.py).
"""
from __future__ import annotations

import functools
import os

import pytest

POSTGRES_ENV = "IDP_TEST_POSTGRES_URL"
REDIS_ENV = "IDP_TEST_REDIS_URL"
POSTGRES_DEFAULTS = ("postgresql+psycopg://postgres@127.0.0.1:5432/test",
                     "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_DEFAULT = "redis://127.0.0.1:6379/15"


def libpq_url(url: str) -> str:
    """The same URL without the SQLAlchemy driver suffix, for psycopg.connect()."""
    scheme, rest = url.split("://", 1)
    return scheme.split("+", 1)[0] + "://" + rest


@functools.cache
def _postgres() -> tuple[str | None, str]:
    import psycopg

    explicit = os.environ.get(POSTGRES_ENV)
    candidates = (explicit,) if explicit else POSTGRES_DEFAULTS
    errors = []
    for url in candidates:
        try:
            with psycopg.connect(libpq_url(url), connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return url, ""
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
            errors.append(f"{url}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
    return None, "; ".join(errors)


@functools.cache
def _redis() -> tuple[str | None, str]:
    import redis

    url = os.environ.get(REDIS_ENV) or REDIS_DEFAULT
    try:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        client.ping()
        client.close()
        return url, ""
    except Exception as exc:  # noqa: BLE001
        return None, f"{url}: {exc}"


def postgres_url_or_skip() -> str:
    """A SQLAlchemy URL of a reachable PostgreSQL server, or skip the calling test saying why."""
    url, why = _postgres()
    if url is None:
        pytest.skip(f"PostgreSQL not reachable (set {POSTGRES_ENV}): {why}")
    return url


def redis_url_or_skip() -> str:
    """The URL of a reachable Redis server, or skip the calling test saying why."""
    url, why = _redis()
    if url is None:
        pytest.skip(f"Redis not reachable (set {REDIS_ENV}): {why}")
    return url

