"""The ``trioserver`` command: serve, register-user, registration-token, db status,
backup, rotate-signing-key.

Errors print one clear line on stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import logging
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import outcome
import trio

import trioserver
from trioserver.config import COMMON_KEYS, Config, ConfigError, add_option_flags, config_from_args
from trioserver.db import Database

T = TypeVar("T")

log = logging.getLogger("trioserver")


class CommandError(Exception):
    """A command failed in a way the user can fix; the message says how."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trioserver",
        description="A Matrix homeserver on Trio with one SQLite file holding everything.",
    )
    parser.add_argument(
        "--version", action="version", version=f"trioserver {trioserver.__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, keys: Sequence[str] | None) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--config", metavar="FILE", help="a TOML configuration file")
        add_option_flags(sub, keys)
        return sub

    command("serve", "run the homeserver (defaults: ./homeserver.db, 127.0.0.1:8008)", None)

    register = command("register-user", "create a local user", COMMON_KEYS)
    register.add_argument("name", help="the user's localpart (or full user ID)")
    register.add_argument("--admin", action="store_true", help="make the user a server admin")
    register.add_argument(
        "--password-file", metavar="F", help="read the password from F ('-' for stdin)"
    )

    tokens = commands.add_parser(
        "registration-token",
        help="tokens that let people register (with --registration token)",
        description="tokens that let people register (with --registration token)",
    )
    token_commands = tokens.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    create = token_commands.add_parser("create", help="make a new registration token")
    create.add_argument("--config", metavar="FILE", help="a TOML configuration file")
    add_option_flags(create, ["db"])
    create.add_argument(
        "--uses", metavar="N", help="how many registrations it allows (default: any)"
    )
    create.add_argument(
        "--expires-in-days", metavar="D", help="days until it expires (default: never)"
    )
    listing = token_commands.add_parser("list", help="list registration tokens and their uses")
    listing.add_argument("--config", metavar="FILE", help="a TOML configuration file")
    add_option_flags(listing, ["db"])

    db = commands.add_parser("db", help="database maintenance", description="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    status = db_commands.add_parser(
        "status", help="print the schema version, compat version and applied deltas"
    )
    status.add_argument("--config", metavar="FILE", help="a TOML configuration file")
    add_option_flags(status, ["db"])

    backup = command("backup", "copy the live database consistently to PATH", ["db"])
    backup.add_argument("path", help="where to write the copy (must not exist)")

    command(
        "rotate-signing-key",
        "retire the server signing key and make a new one (restart the server afterwards)",
        ["db"],
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = config_from_args(args)
        _setup_logging(config)
        if args.command == "serve":
            return _serve(config)
        if args.command == "register-user":
            return trio.run(_register_user, config, args)
        if args.command == "registration-token":
            return trio.run(_registration_token, config, args)
        if args.command == "db":
            return _db_status(config)
        if args.command == "backup":
            return trio.run(_backup, config, args.path)
        if args.command == "rotate-signing-key":
            return trio.run(_rotate_key, config)
        raise CommandError(f"unknown command {args.command}")
    except (ConfigError, CommandError) as exc:
        print(f"trioserver: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _setup_logging(config: Config) -> None:
    logging.basicConfig(
        level=getattr(logging, config.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _schema_error_type() -> type[Exception]:
    from trioserver.db import SchemaError

    return SchemaError


def _serve(config: Config) -> int:
    from trioserver.server import serve_forever

    if config.registration == "closed":
        log.info(
            "registration is closed: create users with "
            "'trioserver register-user NAME --admin --db %s --server-name %s'",
            config.db,
            config.server_name,
        )
    try:
        serve_forever(config)
    except BaseException as exc:
        inner = _unwrap(exc)
        if isinstance(inner, _schema_error_type()):
            raise CommandError(str(inner)) from None
        if isinstance(inner, OSError):
            raise CommandError(f"cannot start: {inner.strerror or inner}") from None
        raise
    return 0


def _unwrap(exc: BaseException) -> BaseException:
    """The one exception inside nested single-exception groups (trio nurseries)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def _open(config: Config) -> Database:
    from trioserver.server import open_database

    try:
        return await open_database(config.db)
    except _schema_error_type() as exc:
        raise CommandError(str(exc)) from None
    except sqlite3.Error as exc:
        raise CommandError(f"cannot open {config.db}: {exc}") from None


async def _with_database(config: Config, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database, run its writer while ``work`` runs, close it; errors of
    ``work`` come out as themselves (not wrapped in an exception group)."""
    db = await _open(config)
    result: outcome.Outcome[T] | None = None
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(db.run_writer)
            result = await outcome.acapture(work, db)
            await db.aclose()
    finally:
        await db.aclose()
    assert result is not None
    return result.unwrap()


def _read_password(args: argparse.Namespace) -> str:
    if args.password_file == "-":
        password = sys.stdin.readline().rstrip("\n")
    elif args.password_file:
        try:
            password = Path(args.password_file).read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            raise CommandError(f"cannot read {args.password_file}: {exc.strerror}") from None
    else:
        if not sys.stdin.isatty():
            raise CommandError("no terminal to ask for a password: use --password-file F")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("the passwords do not match")
    if not password:
        raise CommandError("the password is empty")
    return password


async def _register_user(config: Config, args: argparse.Namespace) -> int:
    from trioserver.accounts import Accounts, InvalidUserName
    from trioserver.db.accounts import UserExists
    from trioserver.util.clock import SystemClock

    password = _read_password(args)

    async def register(db: Database) -> str:
        accounts = Accounts(db, SystemClock(), config.server_name)
        try:
            user_id = accounts.user_id_for(args.name)
            await accounts.register(args.name, password, admin=args.admin, login=False)
        except InvalidUserName as exc:
            raise CommandError(str(exc)) from None
        except UserExists:
            raise CommandError(f"{user_id} already exists") from None
        return user_id

    user_id = await _with_database(config, register)
    role = "admin " if args.admin else ""
    print(f"created {role}user {user_id}")
    return 0


async def _registration_token(config: Config, args: argparse.Namespace) -> int:
    from trioserver.accounts import registration_tokens
    from trioserver.util.clock import SystemClock

    clock = SystemClock()
    if args.token_command == "create":
        uses_allowed = _uses(args.uses)
        days = _days(args.expires_in_days)

        async def create(db: Database) -> registration_tokens.RegistrationToken:
            return await registration_tokens.create_token(
                db, clock, uses_allowed=uses_allowed, expires_in_days=days
            )

        created = await _with_database(config, create)
        print(created.token)
        return 0
    if not await trio.Path(config.db).exists():
        raise CommandError(f"no database at {config.db}")
    found = await _with_database(config, registration_tokens.list_tokens)
    now = clock.time_ms()
    for token in found:
        uses = "unlimited" if token.uses_allowed is None else str(token.uses_allowed)
        expires = "never" if token.expiry_time is None else _iso(token.expiry_time)
        state = "valid" if token.is_valid(now) else "used up or expired"
        print(
            f"{token.token}  uses {token.completed}/{uses} (pending {token.pending})"
            f"  expires {expires}  {state}"
        )
    if not found:
        print("no registration tokens")
    return 0


def _uses(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000_000:
        raise CommandError(f"--uses {text}: must be a whole number of at least 1")
    return int(text)


def _days(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not 0 < days <= 36500:
        raise CommandError(f"--expires-in-days {text}: must be a number of days from 0 to 36500")
    return days


def _iso(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _db_status(config: Config) -> int:
    from trioserver.db import read_status
    from trioserver.db.schema import SCHEMA_COMPAT_VERSION, SCHEMA_VERSION

    if not os.path.exists(config.db):
        raise CommandError(f"no database at {config.db}")
    conn = sqlite3.connect(f"file:{config.db}?mode=ro", uri=True)
    try:
        status = read_status(conn)
    except sqlite3.Error as exc:
        raise CommandError(f"cannot read {config.db}: {exc}") from None
    finally:
        conn.close()
    print(f"database: {config.db}")
    print(f"schema version: {status.version if status.version is not None else 'none (empty)'}")
    print(f"compat version: {status.compat_version}")
    print(f"this trioserver: schema {SCHEMA_VERSION}, compat {SCHEMA_COMPAT_VERSION}")
    print(f"applied deltas: {len(status.applied_deltas)}")
    for version, name in status.applied_deltas:
        print(f"  {version:04d}/{name}")
    return 0


async def _backup(config: Config, target: str) -> int:
    if not await trio.Path(config.db).exists():
        raise CommandError(f"no database at {config.db}")
    if await trio.Path(target).exists():
        raise CommandError(f"{target} already exists")

    async def backup(db: Database) -> None:
        await db.backup(target)

    await _with_database(config, backup)
    print(f"backed up {config.db} to {target}")
    return 0


async def _rotate_key(config: Config) -> int:
    from trioserver.db import server_keys as keys_sql
    from trioserver.util.clock import SystemClock

    async def rotate(db: Database) -> keys_sql.StoredSigningKey:
        return await db.run_write(keys_sql.rotate_key_txn, SystemClock().time_ms())

    key = await _with_database(config, rotate)
    print(f"new signing key {key.key_id}; restart the server to use it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
