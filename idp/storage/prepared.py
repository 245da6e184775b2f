"""Core statements compiled once per dialect and run on the connection's DBAPI cursor.

The token endpoint runs five short statements per request. Executed through SQLAlchemy, each one
costs a cache-key computation, an execution context and a result object, which together took longer
than SQLite needed for the statement itself. A ``Prepared`` statement keeps what SQLAlchemy is for:
it writes the SQL for the dialect and converts values with the column types' own bind and result
processors. It runs inside the caller's SQLAlchemy transaction (the same DBAPI connection), so
``db.session.commit()`` commits it with everything else.

Only statements whose parameters are all supplied by the caller (or fixed in the statement, like a
LIMIT) belong here: column defaults are not applied, so an INSERT must name every column it fills.
"""
from __future__ import annotations

import contextlib
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement


_CALLER = object()  # marks a bind whose value the caller supplies


@dataclass(frozen=True)
class _Plan:
    sql: str
    # per bind, in the order of a positional paramstyle: (name, fixed value or _CALLER, bind processor)
    binds: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    positional: bool


class Prepared:
    def __init__(self, statement: ClauseElement):
        self.statement = statement
        # per dialect instance (one per engine: its settings, e.g. the JSON serializer, shape the plan)
        self._plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        # per dialect, per selected column: the type's result processor (some depend on the type code
        # the driver reports, so they are made from the first result)
        self._results: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _plan(self, dialect) -> _Plan:
        plan = self._plans.get(dialect)
        if plan is None:
            with self._lock:
                plan = self._plans.get(dialect) or self._compile(dialect)
                self._plans[dialect] = plan
        return plan

    def _compile(self, dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        by_name = {name: parameter for parameter, name in compiled.bind_names.items()}
        names = compiled.positiontup if compiled.positiontup is not None else list(by_name)
        binds = []
        for name in names:
            parameter = by_name[name]
            fixed = _CALLER if parameter.required else parameter.effective_value
            binds.append((name, fixed, parameter.type.dialect_impl(dialect).bind_processor(dialect)))
        return _Plan(compiled.string, tuple(binds), compiled.positiontup is not None)

    def _result_processors(self, dialect, description) -> tuple:
        processors = self._results.get(dialect)
        if processors is None:
            columns = self.statement.exported_columns  # a SELECT's columns, or what a DML statement RETURNs
            processors = tuple(column.type.dialect_impl(dialect).result_processor(dialect, described[1])
                               for column, described in zip(columns, description))
            self._results[dialect] = processors
        return processors

    def _run(self, conn: Connection, params: dict):
        plan = self._plan(conn.dialect)
        values = []
        for name, fixed, processor in plan.binds:
            value = params[name] if fixed is _CALLER else fixed
            values.append(value if processor is None else processor(value))
        arguments = values if plan.positional else {bind[0]: value for bind, value in zip(plan.binds, values)}
        cursor = conn.connection.cursor()
        try:
            cursor.execute(plan.sql, arguments)
        except conn.dialect.loaded_dbapi.Error as exc:
            # SQLAlchemy's own execution would find a lost connection and invalidate it, so that the
            # pool replaces it; the raw cursor bypasses that, so do the same here.
            disconnected = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
            with contextlib.suppress(conn.dialect.loaded_dbapi.Error):
                cursor.close()
            if disconnected:
                conn.invalidate(exc)
            # the exception SQLAlchemy would raise (IntegrityError, OperationalError, ...), so callers
            # handle a prepared statement's failure like any other
            raise DBAPIError.instance(plan.sql, arguments, exc, conn.dialect.loaded_dbapi.Error,
                                      connection_invalidated=disconnected) from exc
        return plan, cursor

    def execute(self, conn: Connection, params: dict | None = None) -> int:
        """Run the statement; returns the number of rows it changed."""
        _, cursor = self._run(conn, params or {})
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def first(self, conn: Connection, params: dict | None = None) -> tuple | None:
        """The first row of a SELECT, converted by the columns' types; None when there is none."""
        _, cursor = self._run(conn, params or {})
        try:
            row = cursor.fetchone()
            if row is None:
                return None
            processors = self._result_processors(conn.dialect, cursor.description)
        finally:
            cursor.close()
        return tuple(value if process is None else process(value) for process, value in zip(processors, row))

    def all(self, conn: Connection, params: dict | None = None) -> list[tuple]:
        """Every row of a SELECT, converted by the columns' types."""
        _, cursor = self._run(conn, params or {})
        try:
            rows = cursor.fetchall()
            if not rows:
                return []
            processors = self._result_processors(conn.dialect, cursor.description)
        finally:
            cursor.close()
        if not any(processors):
            return [tuple(row) for row in rows]
        return [tuple(value if process is None else process(value) for process, value in zip(processors, row))
                for row in rows]
