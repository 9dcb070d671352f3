"""Console state: users, roles, sessions, API tokens, the audit log and login throttling, in one SQLite file
(`<state_dir>/console.sqlite`). The warehouse and the published snapshot stay read-only to the console.

Passwords are hashed with Argon2id (argon2-cffi). Session and API tokens are random (secrets) and stored only as
SHA-256 hashes, so a copy of this file gives no one a way in. Every function opens a per-thread connection in
WAL mode, so several console workers and the CLI can use the file at the same time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES = ("agent", "analyst", "steward", "admin")
# What each role may do (docs/console.md):
#   agent    frontline staff: find customers, see everything about them, say "not the same person"
#   analyst  data quality / data protection: find and view customers, read the audit log; no changes
#   steward  data steward: find and view customers, answer review pairs (same / different / unsure), which records
#            decisions and labels that calibrate identity resolution
#   admin    manages users and API tokens, reads the audit log, and may do what an agent and a steward do
PERMISSIONS: dict[str, frozenset[str]] = {
    "agent": frozenset({"search", "view", "decide"}),
    "analyst": frozenset({"search", "view", "audit"}),
    "steward": frozenset({"search", "view", "review"}),
    "admin": frozenset({"search", "view", "decide", "review", "audit", "users", "erase"}),
}
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
MIN_PASSWORD_LENGTH = 10
NOTICE_SECONDS = 600  # a notice not shown within ten minutes is dropped
TOKEN_PREFIX = "c360_"

_USERS = """
create table if not exists {table} (
    username text primary key collate nocase,
    password_hash text not null,
    role text not null check (role in ({roles})),
    display_name text,
    lang text,
    is_active integer not null default 1,
    created_at text not null,
    password_changed_at text not null
);
"""
_USER_COLUMNS = "username, password_hash, role, display_name, lang, is_active, created_at, password_changed_at"
_SCHEMA = (
    _USERS.format(table="users", roles=", ".join(f"'{role}'" for role in ROLES))
    + """
create table if not exists sessions (
    token_hash text primary key,
    username text not null collate nocase,
    csrf_token text not null,
    created_at real not null,
    last_seen_at real not null,
    expires_at real not null,
    ip text,
    user_agent text
);
create index if not exists sessions_user on sessions (username);
create table if not exists api_tokens (
    token_hash text primary key,
    token_prefix text not null,
    username text not null collate nocase,
    name text,
    created_at text not null,
    expires_at real,
    last_used_at real,
    is_revoked integer not null default 0
);
create table if not exists audit_log (
    audit_id integer primary key autoincrement,
    at text not null,
    username text,
    role text,
    action text not null,
    customer_id text,
    detail text,
    channel text,
    ip text
);
create index if not exists audit_customer on audit_log (customer_id, audit_id);
create index if not exists audit_user on audit_log (username, audit_id);
create table if not exists login_failures (username text not null, ip text not null, at real not null);
-- what a page says after a redirect ("decision saved", "merged into"): from here, never from the URL, which anyone
-- can write into a link
create table if not exists notices (
    id text primary key, username text not null, kind text not null, payload text not null, at real not null
);
create index if not exists login_failures_key on login_failures (username, ip, at);
create index if not exists login_failures_ip on login_failures (ip, at);
-- earlier versions kept the demo logins' passwords here in clear text: never again
drop table if exists demo_logins;
"""
)


class StoreError(ValueError):
    """A request the store refuses (unknown user, weak password, bad role); the message says why."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    display_name: str | None = None
    lang: str | None = None
    is_active: bool = True
    created_at: str | None = None

    @property
    def permissions(self) -> frozenset[str]:
        return PERMISSIONS.get(self.role, frozenset())

    def can(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    token_hash: str
    via: str  # "session" or "token"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def console_db_path(state_dir: Path) -> Path:
    return state_dir / "console.sqlite"


class ConsoleStore:
    def __init__(self, path: Path, session_idle_seconds: float = 2 * 3600, session_max_seconds: float = 12 * 3600):
        self.path = path
        self.session_idle_seconds = session_idle_seconds
        self.session_max_seconds = session_max_seconds
        self._local = threading.local()
        self._hasher = PasswordHasher()
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        path.parent.mkdir(parents=True, exist_ok=True)
        db = self._db()
        db.executescript(_SCHEMA)
        db.commit()
        self._migrate_roles(db)
        os.chmod(path, 0o600)

    @staticmethod
    def _migrate_roles(db: sqlite3.Connection) -> None:
        """A users table created before a role existed checks against the old role list: rebuild it (SQLite cannot
        alter a check constraint). Once, in one transaction; other processes wait for it."""

        def current() -> bool:
            row = db.execute("select sql from sqlite_master where type = 'table' and name = 'users'").fetchone()
            return row is None or all(f"'{role}'" in row[0] for role in ROLES)

        if current():
            return
        db.execute("begin immediate")
        try:
            if not current():
                roles = ", ".join(f"'{role}'" for role in ROLES)
                db.execute("drop table if exists users_migrated")
                db.execute(_USERS.format(table="users_migrated", roles=roles))
                db.execute(f"insert into users_migrated ({_USER_COLUMNS}) select {_USER_COLUMNS} from users")
                db.execute("drop table users")
                db.execute("alter table users_migrated rename to users")
            db.execute("commit")
        except BaseException:
            db.execute("rollback")
            raise

    @classmethod
    def for_state_dir(cls, state_dir: Path, **kwargs: Any) -> ConsoleStore:
        return cls(console_db_path(state_dir), **kwargs)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute("pragma journal_mode = wal")
            db.execute("pragma synchronous = normal")
            db.execute("pragma busy_timeout = 10000")
            self._local.db = db
        return db

    def _write(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Cursor:
        return self._db().execute(sql, params)

    # -- users -------------------------------------------------------------------------------------------------
    def add_user(self, username: str, password: str, role: str, display_name: str | None = None) -> User:
        if not USERNAME.match(username or ""):
            raise StoreError("a username is 2-64 letters, digits or . _ @ - (starting with a letter or digit)")
        self._check_role(role)
        self._check_password(password)
        try:
            self._write(
                "insert into users (username, password_hash, role, display_name, created_at, password_changed_at)"
                " values (?, ?, ?, ?, ?, ?)",
                (username, self._hasher.hash(password), role, display_name, _now_iso(), _now_iso()),
            )
        except sqlite3.IntegrityError:
            raise StoreError(f"user {username} exists already") from None
        return self.get_user(username)  # type: ignore[return-value]

    def get_user(self, username: str) -> User | None:
        row = (
            self._db()
            .execute(
                "select username, role, display_name, lang, is_active, created_at from users where username = ?",
                (username,),
            )
            .fetchone()
        )
        return User(row[0], row[1], row[2], row[3], bool(row[4]), row[5]) if row else None

    def list_users(self) -> list[User]:
        rows = (
            self._db()
            .execute("select username, role, display_name, lang, is_active, created_at from users order by username")
            .fetchall()
        )
        return [User(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows]

    def set_role(self, username: str, role: str) -> User:
        self._check_role(role)
        self._require_user(username)
        self._write("update users set role = ? where username = ?", (role, username))
        self._write("delete from sessions where username = ?", (username,))  # new rights need a new login
        return self.get_user(username)  # type: ignore[return-value]

    def set_password(self, username: str, password: str) -> None:
        self._require_user(username)
        self._check_password(password)
        self._write(
            "update users set password_hash = ?, password_changed_at = ? where username = ?",
            (self._hasher.hash(password), _now_iso(), username),
        )
        self._write("delete from sessions where username = ?", (username,))

    def set_active(self, username: str, active: bool) -> None:
        self._require_user(username)
        self._write("update users set is_active = ? where username = ?", (int(active), username))
        if not active:
            self._write("delete from sessions where username = ?", (username,))
            self._write("update api_tokens set is_revoked = 1 where username = ?", (username,))

    def set_lang(self, username: str, lang: str) -> None:
        self._write("update users set lang = ? where username = ?", (lang, username))

    def verify_password(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account active; None otherwise (same work either way)."""
        row = (
            self._db().execute("select password_hash, is_active from users where username = ?", (username,)).fetchone()
        )
        stored = row[0] if row else self._dummy_hash
        try:
            self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or not row[1]:
            return None
        if self._hasher.check_needs_rehash(stored):
            self._write(
                "update users set password_hash = ? where username = ?",
                (self._hasher.hash(password), username),
            )
        return self.get_user(username)

    def _require_user(self, username: str) -> None:
        if self.get_user(username) is None:
            raise StoreError(f"no user {username}")

    @staticmethod
    def _check_role(role: str) -> None:
        if role not in ROLES:
            raise StoreError(f"role must be one of {', '.join(ROLES)}, got {role!r}")

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password or "") < MIN_PASSWORD_LENGTH:
            raise StoreError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        if len(password) > 1024:
            raise StoreError("a password may have at most 1024 characters")

    # -- sessions ----------------------------------------------------------------------------------------------
    def create_session(self, user: User, ip: str | None, user_agent: str | None) -> tuple[str, str]:
        """A new session: returns (token for the cookie, CSRF token). Only the token's hash is stored."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = time.time()
        self._write(
            "insert into sessions (token_hash, username, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)"
            " values (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                hash_token(token),
                user.username,
                csrf,
                now,
                now,
                now + self.session_max_seconds,
                ip,
                (user_agent or "")[:200],
            ),
        )
        if secrets.randbelow(50) == 0:
            self._write(
                "delete from sessions where expires_at < ? or last_seen_at < ?",
                (now, now - self.session_idle_seconds),
            )
        return token, csrf

    def session(self, token: str) -> Session | None:
        if not token or len(token) > 200:
            return None
        token_hash = hash_token(token)
        row = (
            self._db()
            .execute(
                "select s.csrf_token, s.last_seen_at, s.expires_at, u.username, u.role, u.display_name, u.lang, u.is_active,"
                " u.created_at from sessions as s join users as u on u.username = s.username where s.token_hash = ?",
                (token_hash,),
            )
            .fetchone()
        )
        if row is None:
            return None
        now = time.time()
        if now > row[2] or now - row[1] > self.session_idle_seconds or not row[7]:
            self._write("delete from sessions where token_hash = ?", (token_hash,))
            return None
        if now - row[1] > 60:  # sliding expiry, written at most once a minute
            self._write("update sessions set last_seen_at = ? where token_hash = ?", (now, token_hash))
        return Session(User(row[3], row[4], row[5], row[6], bool(row[7]), row[8]), row[0], token_hash, "session")

    def end_session(self, token: str) -> None:
        self._write("delete from sessions where token_hash = ?", (hash_token(token),))

    # -- API tokens --------------------------------------------------------------------------------------------
    def create_token(self, username: str, name: str | None = None, days: int | None = 365) -> str:
        """A new API token for a user (shown once; only its hash is kept)."""
        self._require_user(username)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = time.time() + days * 86400 if days else None
        self._write(
            "insert into api_tokens (token_hash, token_prefix, username, name, created_at, expires_at)"
            " values (?, ?, ?, ?, ?, ?)",
            (hash_token(token), token[:12], username, name, _now_iso(), expires),
        )
        return token

    def token_session(self, token: str) -> Session | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        token_hash = hash_token(token)
        row = (
            self._db()
            .execute(
                "select t.expires_at, t.is_revoked, t.last_used_at, u.username, u.role, u.display_name, u.lang,"
                " u.is_active, u.created_at from api_tokens as t join users as u on u.username = t.username"
                " where t.token_hash = ?",
                (token_hash,),
            )
            .fetchone()
        )
        if row is None or row[1] or not row[7] or (row[0] is not None and time.time() > row[0]):
            return None
        if row[2] is None or time.time() - row[2] > 60:
            self._write("update api_tokens set last_used_at = ? where token_hash = ?", (time.time(), token_hash))
        return Session(User(row[3], row[4], row[5], row[6], bool(row[7]), row[8]), "", token_hash, "token")

    def list_tokens(self, username: str | None = None) -> list[dict[str, Any]]:
        sql = "select token_prefix, username, name, created_at, expires_at, last_used_at, is_revoked from api_tokens"
        rows = (
            self._db()
            .execute(
                sql + (" where username = ?" if username else "") + " order by created_at",
                (username,) if username else (),
            )
            .fetchall()
        )
        keys = ("token_prefix", "username", "name", "created_at", "expires_at", "last_used_at", "is_revoked")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def revoke_token(self, token_prefix: str) -> int:
        return self._write("update api_tokens set is_revoked = 1 where token_prefix = ?", (token_prefix,)).rowcount

    # -- login throttling --------------------------------------------------------------------------------------
    def reserve_login_attempt(
        self, username: str, ip: str, per_user_ip: int, per_ip: int, window: float = 60.0
    ) -> float:
        """Seconds to wait if this user+IP (or this IP across users) tried too often within the window, else 0 —
        and then the attempt is counted at once, in the same transaction, before the slow password check: thirty
        parallel guesses get five checks, not thirty. A successful login clears its count (clear_login_failures)."""
        now = time.time()
        since, key = now - window, username.lower()[:100]
        db = self._db()
        db.execute("begin immediate")  # one writer at a time: the count and the insert are one step
        try:
            wait = 0.0
            for sql, params, limit in (
                ("username = ? and ip = ?", (key, ip), per_user_ip),
                ("ip = ?", (ip,), per_ip),
            ):
                count, first = db.execute(
                    f"select count(*), min(at) from login_failures where {sql} and at > ?", (*params, since)
                ).fetchone()
                if count >= limit:
                    wait = max(1.0, first + window - now)
                    break
            if not wait:
                db.execute("insert into login_failures values (?, ?, ?)", (key, ip, now))
            db.execute("commit")
        except BaseException:
            db.execute("rollback")
            raise
        if secrets.randbelow(20) == 0:
            self._write("delete from login_failures where at < ?", (now - 3600,))
        return wait

    def clear_login_failures(self, username: str, ip: str) -> None:
        self._write("delete from login_failures where username = ? and ip = ?", (username.lower()[:100], ip))

    # -- notices after a redirect -------------------------------------------------------------------------------
    def add_notice(self, username: str, kind: str, **values: Any) -> str:
        """A notice for the next page this user opens with `?notice=<id>`; returns the id."""
        notice_id = secrets.token_urlsafe(12)
        now = time.time()
        self._write("insert into notices values (?, ?, ?, ?, ?)", (notice_id, username, kind, json.dumps(values), now))
        self._write("delete from notices where at < ?", (now - NOTICE_SECONDS,))
        return notice_id

    def pop_notice(self, username: str, notice_id: str | None) -> tuple[str, dict[str, Any]] | None:
        """The notice, once, if it is this user's and recent; else None (a link someone else wrote shows nothing)."""
        if not notice_id:
            return None
        row = self._write(
            "delete from notices where id = ? and username = ? and at > ? returning kind, payload",
            (notice_id, username, time.time() - NOTICE_SECONDS),
        ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    # -- audit log ---------------------------------------------------------------------------------------------
    def audit(
        self,
        user: User | None,
        action: str,
        customer_id: str | None = None,
        detail: str | None = None,
        channel: str = "web",
        ip: str | None = None,
        username: str | None = None,
    ) -> None:
        self._write(
            "insert into audit_log (at, username, role, action, customer_id, detail, channel, ip)"
            " values (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                datetime.now(UTC).isoformat(timespec="milliseconds"),
                user.username if user else username,
                user.role if user else None,
                action,
                customer_id,
                (detail or None) and detail[:1000],
                channel,
                ip,
            ),
        )

    def pseudonymise(self, customer_ids: list[str], record_keys: list[str], pseudonym: str) -> int:
        """An erasure (docs/privacy.md): the audit log keeps that something happened, not to whom. Entries about
        the customers lose the ID (the pseudonym instead) and their detail; record keys in other details are
        replaced by the pseudonym. Returns the entries changed."""
        changed = 0
        if customer_ids:
            marks = ",".join("?" * len(customer_ids))
            changed += self._write(
                f"update audit_log set customer_id = ?, detail = null where customer_id in ({marks})",
                (pseudonym, *customer_ids),
            ).rowcount
        for key in record_keys:
            changed += self._write(
                "update audit_log set detail = replace(detail, ?, ?) where instr(detail, ?) > 0", (key, pseudonym, key)
            ).rowcount
        return changed

    def forget_audit_before(self, cutoff: str) -> int:
        """Retention (docs/privacy.md#retention): delete the audit entries older than `cutoff` (ISO 8601 UTC)."""
        return self._write("delete from audit_log where at < ?", (cutoff,)).rowcount

    def audit_entries(
        self,
        *,
        username: str | None = None,
        customer_id: str | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        where, params = [], []
        for column, value in (("username", username), ("customer_id", customer_id), ("action", action)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f"where {' and '.join(where)}" if where else ""
        total = self._db().execute(f"select count(*) from audit_log {clause}", params).fetchone()[0]
        rows = (
            self._db()
            .execute(
                "select audit_id, at, username, role, action, customer_id, detail, channel, ip from audit_log"
                f" {clause} order by audit_id desc limit ? offset ?",
                [*params, limit, offset],
            )
            .fetchall()
        )
        keys = ("audit_id", "at", "username", "role", "action", "customer_id", "detail", "channel", "ip")
        return [dict(zip(keys, row, strict=True)) for row in rows], int(total)

    # -- demo logins -------------------------------------------------------------------------------------------
    def reset_demo_login(self, username: str, role: str) -> str:
        """Give a demo user (created if missing) a new random password and return it: it is shown once and stored
        only as its Argon2 hash, so the next call sets another one."""
        password = secrets.token_urlsafe(12)
        if self.get_user(username) is None:
            self.add_user(username, password, role, display_name=f"Demo {role}")
        else:
            self.set_password(username, password)
            self.set_role(username, role)
            self.set_active(username, True)
        return password
