"""Staff accounts (roles adviser / township / operator / admin) and failed-login counting.

Only a password *hash* is stored; hashing and checking are the staff app's job (argon2). A user
may hold several roles; an ``adviser`` account is bound to one row of ``advisers`` and a
``township`` account to one township (司法所).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Engine, delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from records.db import transaction
from records.errors import InvalidValue, NotFound, UnknownAdviser
from records.schema import STAFF_ROLES, advisers, login_failures, staff_users, utcnow, villages

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")


class UnknownUser(NotFound):
    """A staff username or id that does not exist."""


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    roles: tuple[str, ...]
    adviser_id: int | None
    township: str | None
    email: str | None
    disabled: bool
    created_at: datetime
    password_hash: str = field(repr=False)

    def has(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


def parse_roles(roles: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(r.strip() for r in roles if r and r.strip()))
    if not wanted:
        raise InvalidValue("a user needs at least one role")
    for role in wanted:
        if role not in STAFF_ROLES:
            raise InvalidValue(f"role must be one of {STAFF_ROLES}, not {role!r}")
    return wanted


def create_user(
    username: str,
    password_hash: str,
    roles: Iterable[str],
    *,
    adviser_id: int | None = None,
    township: str | None = None,
    email: str | None = None,
    engine: Engine | None = None,
) -> StaffUser:
    """Store a new account; raises InvalidValue for a taken or malformed name or missing binding."""
    if not isinstance(username, str) or not USERNAME.match(username):
        raise InvalidValue("username: 2–64 letters, digits, '.', '_' or '-'")
    role_tuple = parse_roles(roles)
    if "adviser" in role_tuple and adviser_id is None:
        raise InvalidValue("an adviser account needs --adviser")
    if "township" in role_tuple and not township:
        raise InvalidValue("a township account needs --township")
    with transaction(engine) as conn:
        if adviser_id is not None and conn.execute(
            select(advisers.c.id).where(advisers.c.id == adviser_id)
        ).first() is None:
            raise UnknownAdviser(f"unknown adviser {adviser_id!r}")
        if township and conn.execute(
            select(villages.c.id).where(villages.c.township == township).limit(1)
        ).first() is None:
            raise InvalidValue(f"unknown township {township!r}")
        try:
            new_id = conn.execute(
                insert(staff_users)
                .values(
                    username=username,
                    password_hash=password_hash,
                    roles=",".join(role_tuple),
                    adviser_id=adviser_id,
                    township=township or None,
                    email=email or None,
                    disabled=False,
                    created_at=utcnow(),
                )
                .returning(staff_users.c.id)
            ).scalar_one()
        except IntegrityError:
            raise InvalidValue(f"username {username!r} is taken") from None
        return _get(conn, staff_users.c.id == new_id, username)


def get_user(key: int | str, *, engine: Engine | None = None) -> StaffUser:
    """A user by id or username; raises UnknownUser."""
    column = staff_users.c.id if isinstance(key, int) else staff_users.c.username
    with transaction(engine, write=False) as conn:
        return _get(conn, column == key, key)


def list_users(*, engine: Engine | None = None) -> list[StaffUser]:
    with transaction(engine, write=False) as conn:
        return [_user(r) for r in conn.execute(select(staff_users).order_by(staff_users.c.id))]


def set_password_hash(username: str, password_hash: str, *, engine: Engine | None = None) -> None:
    _update(username, {"password_hash": password_hash}, engine)


def set_disabled(username: str, disabled: bool = True, *, engine: Engine | None = None) -> None:
    _update(username, {"disabled": disabled}, engine)


def adviser_id_for(name_or_id: str, *, engine: Engine | None = None) -> int:
    """An adviser's id from its id or its unique name (the CLI's ``--adviser``)."""
    with transaction(engine, write=False) as conn:
        if name_or_id.isdigit():
            query = select(advisers.c.id).where(advisers.c.id == int(name_or_id))
        else:
            query = select(advisers.c.id).where(advisers.c.name == name_or_id.strip())
        ids = conn.execute(query).scalars().all()
    if len(ids) != 1:
        raise UnknownAdviser(f"no single adviser {name_or_id!r}")
    return ids[0]


# --- failed logins (throttling) ----------------------------------------------------------------


def record_failure(keys: Iterable[str], *, at: datetime | None = None, engine: Engine | None = None) -> None:
    now = at or utcnow()
    with transaction(engine) as conn:
        for key in keys:
            conn.execute(insert(login_failures).values(key=key[:200], at=now))


def failures_since(key: str, since: datetime, *, engine: Engine | None = None) -> int:
    query = select(func.count()).where(login_failures.c.key == key[:200], login_failures.c.at >= since)
    with transaction(engine, write=False) as conn:
        return int(conn.execute(query).scalar_one())


def clear_failures(key: str, *, engine: Engine | None = None) -> None:
    with transaction(engine) as conn:
        conn.execute(delete(login_failures).where(login_failures.c.key == key[:200]))


def purge_failures(before: datetime, *, engine: Engine | None = None) -> int:
    """Forget failed logins older than ``before`` (they no longer count)."""
    with transaction(engine) as conn:
        return conn.execute(delete(login_failures).where(login_failures.c.at < before)).rowcount


def _update(username: str, values: dict[str, object], engine: Engine | None) -> None:
    with transaction(engine) as conn:
        changed = conn.execute(
            update(staff_users).where(staff_users.c.username == username).values(**values)
        ).rowcount
    if changed != 1:
        raise UnknownUser(f"unknown user {username!r}")


def _get(conn: Connection, condition: ColumnElement[bool], key: object) -> StaffUser:
    row = conn.execute(select(staff_users).where(condition)).one_or_none()
    if row is None:
        raise UnknownUser(f"unknown user {key!r}")
    return _user(row)


def _user(row: Row) -> StaffUser:
    return StaffUser(
        id=row.id,
        username=row.username,
        roles=tuple(row.roles.split(",")),
        adviser_id=row.adviser_id,
        township=row.township,
        email=row.email,
        disabled=bool(row.disabled),
        created_at=row.created_at,
        password_hash=row.password_hash,
    )
