"""Bring an existing database up to the tables of :mod:`records.schema`, additive changes only.

``metadata.create_all`` creates missing tables but leaves existing ones alone, so a column added
to an existing table would break every database made before it. :func:`upgrade` (run by
:func:`records.init_db`) compares the live database with ``records.schema`` using Alembic's
comparison (``alembic.autogenerate.compare_metadata``) and applies, with Alembic's operations:

- missing tables (``create_all``);
- missing columns: they must be nullable or have a ``server_default`` (the project's rule for a
  new column on an existing table), else :class:`UnsafeSchemaChange` is raised and nothing changes;
- missing indexes (by name);
- a ``NOT NULL`` the schema no longer has (relaxing a constraint keeps every row valid). PostgreSQL
  alters the column; SQLite cannot, so the table is rebuilt the way SQLite documents it (Alembic's
  batch mode: new table, copy, drop, rename, indexes), with foreign keys off meanwhile and checked
  before the commit, so rows referring to the table keep their links.

Nothing is ever dropped, renamed or narrowed: differences of that kind are logged and left to a
person. Everything happens in one transaction under a lock (PostgreSQL: an advisory lock; SQLite:
``BEGIN IMMEDIATE``), so processes starting together neither race nor half-apply a change.
"""

from __future__ import annotations

import logging
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Column, Connection, Engine, Index, MetaData, Table

from records.db import get_engine, schema_transaction
from records.schema import metadata

logger = logging.getLogger(__name__)


class UnsafeSchemaChange(RuntimeError):
    """records.schema asks for a change that would not keep existing rows valid."""


def upgrade(engine: Engine | None = None, *, target: MetaData = metadata) -> list[str]:
    """Create missing tables and apply the additive differences; returns what was done.

    ``target``: the tables to reach (``records.schema``; tests pass others).
    """
    engine = engine or get_engine()
    with schema_transaction(engine) as conn:
        target.create_all(conn)
        done = _apply(conn, pending_changes(conn, target), target)
    for step in done:
        logger.info("schema upgrade: %s", step)
    return done


def pending_changes(conn: Connection, target: MetaData = metadata) -> list[tuple[Any, ...]]:
    """Alembic's differences between the database and ``target`` (flattened)."""
    context = MigrationContext.configure(conn, opts={"compare_type": False, "compare_server_default": False})
    flat: list[tuple[Any, ...]] = []
    for diff in compare_metadata(context, target):
        flat.extend(diff if isinstance(diff, list) else [diff])  # modify_* come grouped per column
    return flat


def _apply(conn: Connection, diffs: list[tuple[Any, ...]], target: MetaData) -> list[str]:
    columns = [d for d in diffs if d[0] == "add_column"]
    unsafe = [f"{d[2]}.{d[3].name}" for d in columns if not d[3].nullable and d[3].server_default is None]
    if unsafe:
        raise UnsafeSchemaChange(
            f"new NOT NULL column(s) without a server default: {', '.join(unsafe)}; "
            "make them nullable or give them a server_default"
        )
    ops = Operations(MigrationContext.configure(conn))
    done: list[str] = []
    for _, schema, table_name, column in columns:
        ops.add_column(table_name, _detached(column), schema=schema)
        done.append(f"added column {table_name}.{column.name}")
    relaxed: dict[str, list[str]] = {}
    for diff in diffs:
        if diff[0] == "modify_nullable" and diff[-1] is True:
            relaxed.setdefault(diff[2], []).append(diff[3])
    for table_name, names in relaxed.items():
        _relax_not_null(conn, ops, target.tables[table_name], names)
        done.extend(f"{table_name}.{name} may now be NULL" for name in names)
    for diff in diffs:
        if diff[0] == "add_index" and isinstance(diff[1], Index) and diff[1].table is not None:
            diff[1].create(conn, checkfirst=True)  # by name: never fails on one that exists
            done.append(f"added index {diff[1].name}")
    for diff in diffs:
        if diff[0] not in ("add_column", "add_index", "modify_nullable", "add_table"):
            logger.debug("schema difference left alone: %s", diff[0])
    return done


def _detached(column: Column[Any]) -> Column[Any]:
    """A copy of a table's column that Alembic can attach to its own ALTER TABLE."""
    return column._copy()


def _relax_not_null(conn: Connection, ops: Operations, table: Table, names: list[str]) -> None:
    if conn.dialect.name != "sqlite":
        for name in names:
            ops.alter_column(table.name, name, nullable=True, existing_type=table.c[name].type)
        return
    # SQLite has no ALTER COLUMN: rebuild the table from the schema's definition (all its
    # columns exist by now) and copy the rows; foreign keys are off on this connection.
    with ops.batch_alter_table(table.name, copy_from=table, recreate="always") as batch:
        for name in names:
            batch.alter_column(name, nullable=True, existing_type=table.c[name].type)
    for index in table.indexes:  # batch mode keeps only the Index() ones, not index=True columns
        index.create(conn, checkfirst=True)
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise UnsafeSchemaChange(f"rebuilding {table.name} broke foreign keys: {broken[:3]}")
