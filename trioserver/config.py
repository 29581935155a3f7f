"""Configuration: one table of options, read from defaults, a TOML file,
``TRIOSERVER_*`` environment variables and command-line flags (in rising order
of precedence). A bad value stops start-up with one line naming the key.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGISTRATION_MODES = ("closed", "token", "open")
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """One bad configuration value; the message names the key."""


@dataclass(frozen=True, slots=True)
class Config:
    server_name: str = "localhost:8008"
    bind: tuple[str, ...] = ("127.0.0.1:8008",)
    db: str = "./homeserver.db"
    public_baseurl: str | None = None
    registration: str = "closed"
    log_level: str = "info"
    #: Largest request body accepted outside media uploads (bytes).
    max_request_bytes: int = 10 * 1024 * 1024
    #: How long in-flight requests may run on shutdown (seconds).
    graceful_timeout: float = 10.0
    rate_limits: bool = True
    guest_access: bool = False
    #: Lifetime of access tokens given to clients that take refresh tokens (seconds).
    access_token_lifetime: int = 300
    #: Token-bucket rates as (tokens per second, burst); defaults close to Synapse's.
    rate_limit_login: tuple[float, int] = (0.003, 5)
    rate_limit_registration: tuple[float, int] = (0.17, 3)
    rate_limit_message: tuple[float, int] = (0.2, 10)
    rate_limit_join: tuple[float, int] = (0.1, 10)
    rate_limit_invite: tuple[float, int] = (0.3, 10)
    #: Largest media upload (bytes); clients read it from GET /media/config.
    max_upload_bytes: int = 50 * 1024 * 1024
    #: Bytes of media each user may store; 0: no quota.
    media_quota_bytes: int = 0
    #: Serve the deprecated unauthenticated /_matrix/media/*/download and
    #: /thumbnail endpoints; false "freezes" them (404 M_NOT_FOUND).
    legacy_media: bool = True
    #: GET /media/preview_url fetches pages for clients (off: 404 M_UNRECOGNIZED).
    url_previews: bool = False
    #: Networks (CIDR) the URL previewer may reach although they are not public.
    url_preview_allowed_ips: tuple[str, ...] = ()

    @property
    def base_url(self) -> str:
        """The public base URL of the client API, with a trailing slash."""
        url = self.public_baseurl or f"http://{self.server_name}/"
        return url if url.endswith("/") else url + "/"

    def with_(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


# -- parsing and validating single values ------------------------------------

_HOSTNAME = re.compile(r"^[A-Za-z0-9.\-]{1,255}$")
_IPV6 = re.compile(r"^\[[0-9A-Fa-f:.]{2,45}\]$")


def _parse_port(text: str, key: str, value: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ConfigError(f"config key '{key}': {value!r} has no valid port (0-65535)")
    return int(text)


def parse_server_name(value: Any, key: str = "server_name") -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"config key '{key}': must be a server name such as example.org")
    host, sep, port = value.rpartition(":") if not value.endswith("]") else (value, "", "")
    if not sep:
        host = value
    if sep and host.startswith("[") and not host.endswith("]"):
        host, port = value, ""
    if not (_HOSTNAME.match(host) or _IPV6.match(host)):
        raise ConfigError(f"config key '{key}': {value!r} is not a valid server name")
    if sep:
        _parse_port(port, key, value)
    return value


def parse_bind(value: Any, key: str = "bind") -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ConfigError(f"config key '{key}': must be HOST:PORT or a list of them")
    binds: list[str] = []
    for item in items:
        if not isinstance(item, str) or ":" not in item:
            raise ConfigError(f"config key '{key}': {item!r} is not HOST:PORT")
        host, _, port = item.rpartition(":")
        if not host or not (_HOSTNAME.match(host) or _IPV6.match(host)):
            raise ConfigError(f"config key '{key}': {item!r} has no valid host")
        _parse_port(port, key, item)
        binds.append(item)
    return tuple(binds)


def _parse_choice(choices: Sequence[str]) -> Callable[[Any, str], str]:
    def parse(value: Any, key: str) -> str:
        if not isinstance(value, str) or value.lower() not in choices:
            raise ConfigError(f"config key '{key}': {value!r} is not one of {', '.join(choices)}")
        return value.lower()

    return parse


def _parse_str(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"config key '{key}': must be a non-empty string")
    return value


def _parse_url(value: Any, key: str) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
        raise ConfigError(f"config key '{key}': {value!r} is not an http(s) URL")
    return value


def _parse_positive_int(value: Any, key: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"config key '{key}': must be a positive integer")
    return value


def _parse_rate(value: Any, key: str) -> tuple[float, int]:
    """``"PER_SECOND/BURST"`` (e.g. ``"0.2/10"``) or a TOML pair ``[0.2, 10]``."""
    parts: Any = value.split("/") if isinstance(value, str) else value
    problem = f"config key '{key}': must be PER_SECOND/BURST such as 0.2/10"
    if not isinstance(parts, list | tuple) or len(parts) != 2:
        raise ConfigError(problem)
    try:
        per_second, burst = float(parts[0]), int(str(parts[1]).strip())
    except (TypeError, ValueError):
        raise ConfigError(problem) from None
    if not 0 < per_second < float("inf") or not 1 <= burst <= 1_000_000:
        raise ConfigError(f"{problem} (rate above 0, burst of at least 1)")
    return per_second, burst


def _parse_seconds(value: Any, key: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"config key '{key}': must be a number of seconds") from None
    if isinstance(value, bool) or not 0 <= seconds <= 3600:
        raise ConfigError(f"config key '{key}': must be between 0 and 3600 seconds")
    return seconds


def _parse_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"config key '{key}': must be true or false")


def _parse_non_negative_int(value: Any, key: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"config key '{key}': must be a whole number (0 or more)")
    return value


def _parse_networks(value: Any, key: str) -> tuple[str, ...]:
    """CIDR networks: a TOML list, or one string with commas (flags, environment)."""
    items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(f"config key '{key}': must be a list of networks such as 10.0.0.0/8")
    for item in items:
        try:
            ipaddress.ip_network(item if isinstance(item, str) else "", strict=False)
        except ValueError:
            raise ConfigError(
                f"config key '{key}': {item!r} is not a network such as 10.0.0.0/8"
            ) from None
    return tuple(items)


@dataclass(frozen=True, slots=True)
class Option:
    key: str  #: the Config field and the TOML key
    parse: Callable[[Any, str], Any]
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def env(self) -> str:
        return "TRIOSERVER_" + self.key.upper()


#: Every option of ``trioserver serve``. Flag names are a public interface.
OPTIONS: tuple[Option, ...] = (
    Option("server_name", parse_server_name, "the server name in user and room IDs"),
    Option("bind", parse_bind, "HOST:PORT to listen on (repeatable)"),
    Option("db", _parse_str, "the SQLite database file"),
    Option("public_baseurl", _parse_url, "the URL clients reach this server at"),
    Option("registration", _parse_choice(REGISTRATION_MODES), "who may register"),
    Option("log_level", _parse_choice(LOG_LEVELS), "logging level"),
    Option("max_request_bytes", _parse_positive_int, "largest request body (bytes)"),
    Option("graceful_timeout", _parse_seconds, "seconds in-flight requests get on shutdown"),
    Option("rate_limits", _parse_bool, "rate-limit clients (true/false)"),
    Option("guest_access", _parse_bool, "allow guest accounts (true/false)"),
    Option(
        "access_token_lifetime",
        _parse_positive_int,
        "seconds an access token lives when the client takes a refresh token",
    ),
    Option("rate_limit_login", _parse_rate, "login attempts per IP and per account"),
    Option("rate_limit_registration", _parse_rate, "registrations per IP"),
    Option("rate_limit_message", _parse_rate, "messages sent per user"),
    Option("rate_limit_join", _parse_rate, "room joins per user"),
    Option("rate_limit_invite", _parse_rate, "invites sent per user"),
    Option("max_upload_bytes", _parse_positive_int, "largest media upload (bytes)"),
    Option("media_quota_bytes", _parse_non_negative_int, "media bytes per user (0: no quota)"),
    Option("legacy_media", _parse_bool, "serve unauthenticated /_matrix/media downloads"),
    Option("url_previews", _parse_bool, "fetch URL previews for clients (true/false)"),
    Option(
        "url_preview_allowed_ips",
        _parse_networks,
        "non-public networks URL previews may reach (CIDR, comma-separated)",
    ),
)
_BY_KEY = {option.key: option for option in OPTIONS}
#: Options that only ``serve`` takes; ``db`` (and ``server_name``) every command takes.
COMMON_KEYS = ("db", "server_name")


def load_toml(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None
    return data


def build_config(
    *,
    file_values: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    flag_values: Mapping[str, Any] | None = None,
) -> Config:
    """Merge the sources (flags > environment > file > defaults), validating each value."""
    values: dict[str, Any] = {}
    for key, value in (file_values or {}).items():
        option = _BY_KEY.get(key.replace("-", "_"))
        if option is None:
            raise ConfigError(f"config key '{key}': unknown option")
        values[option.key] = option.parse(value, option.key)
    environ = os.environ if env is None else env
    for option in OPTIONS:
        if option.env in environ:
            raw: Any = environ[option.env]
            if option.key == "bind":
                raw = [b.strip() for b in raw.split(",") if b.strip()]
            values[option.key] = option.parse(raw, option.key)
    for key, value in (flag_values or {}).items():
        if value is not None:
            option = _BY_KEY[key]
            values[key] = option.parse(value, key)
    return Config(**values)


def add_option_flags(parser: argparse.ArgumentParser, keys: Sequence[str] | None = None) -> None:
    """Add the flags of ``keys`` (default: every option) to ``parser``; each flag's
    value lands in ``args.<key>`` as given (validated by :func:`build_config`)."""
    for option in OPTIONS:
        if keys is not None and option.key not in keys:
            continue
        kwargs: dict[str, Any] = {"dest": option.key, "default": None, "help": option.help}
        if option.key == "bind":
            kwargs["action"] = "append"
            kwargs["metavar"] = "HOST:PORT"
        parser.add_argument(option.flag, **kwargs)
    if keys is None or "rate_limits" in keys:
        parser.add_argument(
            "--no-rate-limits",
            dest="rate_limits",
            action="store_const",
            const=False,
            help="turn rate limiting off (benchmarks, tests)",
        )


def config_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Config:
    file_values = load_toml(args.config) if getattr(args, "config", None) else None
    flags = {o.key: getattr(args, o.key) for o in OPTIONS if hasattr(args, o.key)}
    return build_config(file_values=file_values, env=env, flag_values=flags)
