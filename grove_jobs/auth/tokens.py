"""API bearer tokens: created once, stored hashed, scoped, optionally expiring, revocable.

A token is ``gjt_`` plus 32 random bytes (URL-safe base64). Only its SHA-256 is stored: a fast
hash is the right tool for a high-entropy secret (nothing to brute-force, unlike a password),
and it lets a lookup go straight to the row by its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from grove_jobs.auth.admin_audit import AdminSource, record_admin
from grove_jobs.auth.tables import ApiTokenRow
from grove_jobs.clock import iso_z, utcnow
from grove_jobs.db.engine import Database
from grove_jobs.exceptions import AlreadyExists, FieldError, GroveError, NotFound, ValidationFailed

Scope = Literal["read", "run", "write", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "run", "write", "admin")
TOKEN_PREFIX = "gjt_"
_SECRET_BYTES = 32
_MAX_PRESENTED = 200  # longer input cannot be one of ours; refuse before hashing it
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,99}$")
_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Longer lifetimes are "never" in disguise (and 999999w overflows a datetime).
MAX_LIFETIME = timedelta(days=3650)


class InvalidToken(GroveError):
    """A presented token is unknown, malformed, expired or revoked (``reason`` says which)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ApiToken:
    """A stored token (never its secret)."""

    id: int
    name: str
    scopes: frozenset[str]
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None

    @property
    def actor(self) -> str:
        """How runs and revisions record this token."""
        return f"token:{self.name}"

    def status(self, at: datetime) -> Literal["active", "expired", "revoked"]:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= at:
            return "expired"
        return "active"

    def to_json(self, at: datetime) -> dict[str, object]:
        def iso(value: datetime | None) -> str | None:
            return iso_z(value)

        return {
            "id": self.id,
            "name": self.name,
            "scopes": sorted(self.scopes),
            "prefix": self.prefix,
            "status": self.status(at),
            "createdAt": iso(self.created_at),
            "createdBy": self.created_by,
            "expiresAt": iso(self.expires_at),
            "revokedAt": iso(self.revoked_at),
            "revokedBy": self.revoked_by,
            "lastUsedAt": iso(self.last_used_at),
        }


def hash_token(secret: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``30d`` or ``2w``; ValidationFailed otherwise."""
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise ValidationFailed(
            [FieldError("expires", f"{text!r} is not a duration such as 30d, 12h, 15m or 2w")]
        )
    lifetime = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if lifetime > MAX_LIFETIME:
        raise ValidationFailed(
            [FieldError("expires", f"{text!r} is too long: at most {MAX_LIFETIME.days}d")]
        )
    return lifetime


def _record(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        scopes=frozenset(row.scopes.split()),
        prefix=row.prefix,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        last_used_at=row.last_used_at,
    )


def _check_new(name: str, scopes: set[str]) -> None:
    errors = []
    if not _NAME_PATTERN.match(name or ""):
        errors.append(
            FieldError("name", "use 1-100 letters, digits and _ . @ : -, starting alphanumeric")
        )
    if not scopes:
        errors.append(FieldError("scopes", f"give at least one of {', '.join(SCOPES)}"))
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        errors.append(FieldError("scopes", f"unknown scope(s) {', '.join(unknown)}"))
    if errors:
        raise ValidationFailed(errors)


def create_token(
    db: Database,
    *,
    name: str,
    scopes: set[str] | frozenset[str],
    created_by: str,
    expires_in: timedelta | None = None,
    at: datetime | None = None,
    source: AdminSource = "cli",
) -> tuple[ApiToken, str]:
    """Create a token; returns the record and the secret, which is never retrievable again.
    Audited as ``token.create`` by ``created_by``."""
    at = at or utcnow()
    scopes = set(scopes)
    _check_new(name, scopes)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    row = ApiTokenRow(
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        scopes=" ".join(sorted(scopes)),
        created_at=at,
        created_by=created_by,
        expires_at=at + expires_in if expires_in else None,
    )
    try:
        with db.write() as session:
            session.add(row)
            session.flush()
            record = _record(row)
            detail = {"scopes": sorted(scopes), "expiresAt": iso_z(record.expires_at)}
            record_admin(
                session,
                actor=created_by,
                source=source,
                action="token.create",
                target=name,
                detail=detail,
                at=at,
            )
            return record, secret
    except IntegrityError as exc:
        # The partial unique index on active names; the hash cannot realistically collide.
        raise AlreadyExists("token", name) from exc


def list_tokens(db: Database, *, include_revoked: bool = False) -> list[ApiToken]:
    """Tokens by name (revoked ones only when asked)."""
    stmt = select(ApiTokenRow).order_by(ApiTokenRow.name, ApiTokenRow.id)
    if not include_revoked:
        stmt = stmt.where(ApiTokenRow.revoked_at.is_(None))
    with db.read() as session:
        return [_record(r) for r in session.scalars(stmt)]


def revoke_token(
    db: Database,
    name_or_id: str,
    *,
    revoked_by: str,
    at: datetime | None = None,
    source: AdminSource = "cli",
) -> ApiToken:
    """Revoke the active token with this name (or this numeric id); effective immediately."""
    at = at or utcnow()
    with db.write() as session:
        stmt = select(ApiTokenRow).where(ApiTokenRow.revoked_at.is_(None))
        if name_or_id.isdigit():
            stmt = stmt.where(ApiTokenRow.id == int(name_or_id))
        else:
            stmt = stmt.where(ApiTokenRow.name == name_or_id)
        row = session.scalars(stmt).first()
        if row is None:
            raise NotFound("active token", name_or_id)
        row.revoked_at = at
        row.revoked_by = revoked_by
        record_admin(
            session, actor=revoked_by, source=source, action="token.revoke", target=row.name, at=at
        )
        session.flush()
        return _record(row)


def verify_token(db: Database, presented: str | None, *, at: datetime | None = None) -> ApiToken:
    """The token a bearer secret belongs to; InvalidToken when it is unknown or unusable."""
    at = at or utcnow()
    if not presented or len(presented) > _MAX_PRESENTED or not presented.startswith(TOKEN_PREFIX):
        raise InvalidToken("malformed token")
    digest = hash_token(presented)
    with db.read() as session:
        row = session.scalars(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest)).first()
        token = _record(row) if row is not None else None
        stored = row.token_hash if row is not None else "0" * 64
    # The lookup keys on a hash of a 256-bit secret, so its timing reveals nothing usable; the
    # constant-time comparison keeps the final check free of early exits all the same.
    if not hmac.compare_digest(stored, digest) or token is None:
        raise InvalidToken("unknown token")
    status = token.status(at)
    if status != "active":
        raise InvalidToken(f"token {status}")
    return token


def touch_token(db: Database, token_id: int, *, at: datetime | None = None) -> None:
    """Record that a token was used (callers throttle this; it is informational)."""
    with db.write() as session:
        session.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.id == token_id)
            .values(last_used_at=at or utcnow())
        )
