"""``grove-jobs tokens`` and ``grove-jobs users``: the secret printed once, hashes at rest,
revocation, expiry, role grants."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from grove_jobs.auth.roles import Role, role_of
from grove_jobs.auth.tables import ApiTokenRow
from grove_jobs.auth.tokens import InvalidToken, hash_token, parse_duration, verify_token
from grove_jobs.cli import main
from grove_jobs.clock import utcnow
from grove_jobs.db.engine import Database
from grove_jobs.exceptions import ValidationFailed


def _cli(db: Database, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--database-url", db.url, *args], env={"GROVE_ACTOR": "ann"})
    return result.exit_code, result.stdout, result.stderr


def test_tokens_create_prints_the_secret_once(db: Database) -> None:
    code, out, err = _cli(
        db, "tokens", "create", "--name", "ci", "--scope", "run", "--scope", "read"
    )
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("gjt_") and "\n" not in secret
    assert "cannot be shown again" in err
    token = verify_token(db, secret)
    assert token.scopes == {"run", "read"} and token.created_by == "ann"
    with db.read() as session:
        assert session.scalars(select(ApiTokenRow.token_hash)).one() == hash_token(secret)
    code, listing, _ = _cli(db, "tokens", "list")
    assert code == 0 and "ci" in listing and "read,run" in listing
    assert secret not in listing
    code, listing, _ = _cli(db, "tokens", "list", "--json")
    assert secret not in listing
    assert json.loads(listing)[0]["status"] == "active"


def test_tokens_expire(db: Database) -> None:
    code, out, _ = _cli(
        db, "tokens", "create", "--name", "short", "--scope", "read", "--expires", "2h"
    )
    assert code == 0
    secret = out.strip()
    token = verify_token(db, secret)
    assert token.expires_at is not None
    assert timedelta(hours=1, minutes=59) < token.expires_at - utcnow() <= timedelta(hours=2)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(db, secret, at=utcnow() + timedelta(hours=3))


def test_tokens_revoke(db: Database) -> None:
    secret = _cli(db, "tokens", "create", "--name", "ci", "--scope", "run")[1].strip()
    code, out, _ = _cli(db, "tokens", "revoke", "ci")
    assert code == 0 and "revoked" in out
    with pytest.raises(InvalidToken, match="revoked"):
        verify_token(db, secret)
    assert _cli(db, "tokens", "revoke", "ci")[0] == 1  # nothing active by that name
    assert "revoked" in _cli(db, "tokens", "list", "--all")[1]
    assert "ci" not in _cli(db, "tokens", "list")[1]


@pytest.mark.parametrize(
    "args",
    [
        ["--name", "x", "--scope", "superuser"],
        ["--name", "x"],
        ["--name", "bad name!", "--scope", "read"],
        ["--name", "x", "--scope", "read", "--expires", "soon"],
        ["--name", "x", "--scope", "read", "--expires", "0d"],
    ],
)
def test_tokens_create_rejects_bad_input(db: Database, args: list[str]) -> None:
    code, out, _ = _cli(db, "tokens", "create", *args)
    assert code != 0 and not out.strip().startswith("gjt_")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("12h", 43200), ("30d", 2592000), ("2w", 1209600)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_parse_duration_rejects_nonsense() -> None:
    for text in ("", "30", "d", "-1d", "1y", "1.5h"):
        with pytest.raises(ValidationFailed):
            parse_duration(text)


def test_verify_rejects_malformed_tokens(db: Database) -> None:
    for presented in (None, "", "Bearer x", "gjt_" + "x" * 300, "not-ours"):
        with pytest.raises(InvalidToken):
            verify_token(db, presented)


def test_users_grant_list_revoke(db: Database) -> None:
    code, out, err = _cli(db, "users", "grant", "Ed@Example.com", "editor")
    assert code == 0, err
    assert "ed@example.com is now editor" in out
    assert role_of(db, "ED@example.com") == Role.EDITOR
    assert _cli(db, "users", "grant", "ed@example.com", "ADMIN")[0] == 0
    listing = json.loads(_cli(db, "users", "list", "--json")[1])
    assert listing == [
        {
            "email": "ed@example.com",
            "role": "admin",
            "grantedBy": "ann",
            "grantedAt": listing[0]["grantedAt"],
        }
    ]
    assert _cli(db, "users", "grant", "x@example.com", "superuser")[0] != 0
    assert _cli(db, "users", "revoke", "ed@example.com")[0] == 0
    assert role_of(db, "ed@example.com") is None
    assert _cli(db, "users", "revoke", "ed@example.com")[0] == 1


def test_api_command_is_registered() -> None:
    result = CliRunner().invoke(main, ["api", "--help"])
    assert result.exit_code == 0 and "--port" in result.output
