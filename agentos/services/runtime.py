"""The runtime: what one process (or one test) builds once and passes down.

A `Runtime` holds the settings, the database engines, the backends (cache, bus, counters,
rate limiter, breaker and idempotency state), the dispatchers of queued work and the
runner, plus the per-process stores that higher layers hang on it (`component`): the SSOT
store, the token and user cache, the allow-list cache. It is built at the boundary
(`create_app`, the Celery worker's init, the CLI's connection, a test fixture) and
reaches services through their session (`runtime_of(session)`), so no module keeps a
cache keyed by settings and a test's runtime is gone when it is closed.

Everything is built on first use: constructing a runtime touches neither the disk nor
the network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Protocol, TypeVar, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from agentos.db.session import (
    build_engine,
    build_read_engine,
    build_relaxed_engine,
    unit_of_work,
)
from agentos.errors import InternalError
from agentos.services.backends import build_backends
from agentos.services.backends.base import Backends
from agentos.settings import Settings

T = TypeVar("T")
RUNTIME_KEY = "runtime"


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._components: dict[object, object] = {}
        self._closed = False
        # The runner started in this process, if any (`pipeline.runner.install`).
        self.runner: object | None = None

    def __repr__(self) -> str:
        kind = "embedded" if self.settings.is_embedded else "distributed"
        return f"<Runtime {kind} {self.settings.home_dir}>"

    # Database ------------------------------------------------------------------------

    @cached_property
    def engine(self) -> Engine:
        with self._lock:
            if self.settings.is_sqlite:
                self.settings.ensure_home()
            return build_engine(self.settings.resolved_database_url)

    @cached_property
    def relaxed_engine(self) -> Engine:
        """Runner bookkeeping on PostgreSQL: commits that skip the WAL flush (see
        `pipeline.claims.relaxed_commit`). SQLite has one engine."""
        if self.settings.is_sqlite:
            return self.engine
        with self._lock:
            return build_relaxed_engine(self.settings.resolved_database_url)

    @cached_property
    def read_engine(self) -> Engine:
        """Read-only work that must never block writers (the admin read model)."""
        if not self.settings.is_sqlite:
            return self.engine
        with self._lock:
            self.settings.ensure_home()
            return build_read_engine(self.settings.resolved_database_url)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session that only reads; rolled back at the end."""
        session = Session(bind=self.read_engine, info={RUNTIME_KEY: self})
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def session(self, *, relaxed: bool = False) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        relaxed = relaxed and not self.settings.is_sqlite
        bind = self.relaxed_engine if relaxed else self.engine
        with unit_of_work(bind, info={RUNTIME_KEY: self, "relaxed": relaxed}) as session:
            yield session

    def open_session(self) -> Session:
        """A session whose transaction the caller owns (an HTTP request's dependency)."""
        return Session(bind=self.engine, expire_on_commit=False, info={RUNTIME_KEY: self})

    # Backends and per-process stores ---------------------------------------------------

    @cached_property
    def backends(self) -> Backends:
        with self._lock:
            return build_backends(self.settings, engine=lambda: self.engine)

    @cached_property
    def dispatch(self) -> Dispatchers:
        return Dispatchers()

    def component(self, key: object, factory: Callable[[], T]) -> T:
        """The one instance of a per-process store for this runtime, built on first use.

        Higher layers keep their stores here (`admin_data.store_for`, the token cache),
        keyed by their own class, so the kernel needs no knowledge of them.
        """
        found = self._components.get(key)
        if found is None:
            with self._lock:
                found = self._components.get(key)
                if found is None:
                    found = self._components[key] = factory()
        return cast(T, found)

    def close(self) -> None:
        """Stop and release everything this runtime built (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            components = list(self._components.values())
            self._components.clear()
        for component in reversed(components):
            closer = getattr(component, "close", None)
            if callable(closer):
                closer()
        if "backends" in self.__dict__:
            self.backends.close()
        for name in ("read_engine", "relaxed_engine", "engine"):
            engine = self.__dict__.get(name)
            if engine is not None:
                engine.dispose()


class Dispatcher(Protocol):
    def wake(self, agent: str) -> None: ...


class Dispatchers:
    """The runners registered in this process to be woken when work is queued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Dispatcher] = []

    def register(self, dispatcher: Dispatcher) -> None:
        with self._lock:
            self._items.append(dispatcher)

    def unregister(self, dispatcher: Dispatcher) -> None:
        with self._lock:
            if dispatcher in self._items:
                self._items.remove(dispatcher)

    def all(self) -> list[Dispatcher]:
        with self._lock:
            return list(self._items)


def runtime_of(session: Session) -> Runtime:
    runtime = session.info.get(RUNTIME_KEY)
    if not isinstance(runtime, Runtime):
        raise InternalError("session was not opened by a Runtime (runtime.session())")
    return runtime


def settings_of(session: Session) -> Settings:
    return runtime_of(session).settings


def backends_of(session: Session) -> Backends:
    return runtime_of(session).backends


def component_of(session: Session, key: object, factory: Callable[[Runtime], T]) -> T:
    runtime = runtime_of(session)
    return runtime.component(key, lambda: factory(runtime))
