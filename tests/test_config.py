"""Configuration from defaults, a TOML file, TRIOSERVER_* variables and flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from trioserver.config import Config, ConfigError, build_config, load_toml


def test_defaults_need_no_configuration() -> None:
    config = build_config(env={})
    assert config == Config()
    assert config.db == "./homeserver.db"
    assert config.bind == ("127.0.0.1:8008",)
    assert config.server_name == "localhost:8008"
    assert config.registration == "closed"
    assert config.base_url == "http://localhost:8008/"


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        'server_name = "file.example"\nregistration = "token"\n'
        'bind = ["127.0.0.1:1", "[::1]:2"]\nlog_level = "debug"\n'
    )
    config = build_config(
        file_values=load_toml(toml),
        env={"TRIOSERVER_SERVER_NAME": "env.example", "TRIOSERVER_REGISTRATION": "open"},
        flag_values={"server_name": "flag.example"},
    )
    assert config.server_name == "flag.example"
    assert config.registration == "open"
    assert config.bind == ("127.0.0.1:1", "[::1]:2")
    assert config.log_level == "debug"


def test_environment_bind_list_and_booleans() -> None:
    config = build_config(
        env={"TRIOSERVER_BIND": "127.0.0.1:1, 127.0.0.2:2", "TRIOSERVER_RATE_LIMITS": "false"}
    )
    assert config.bind == ("127.0.0.1:1", "127.0.0.2:2")
    assert config.rate_limits is False


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ({"registration": "sometimes"}, "registration"),
        ({"bind": "nohost"}, "bind"),
        ({"bind": "127.0.0.1:99999"}, "bind"),
        ({"server_name": "bad name!"}, "server_name"),
        ({"public_baseurl": "ftp://x"}, "public_baseurl"),
        ({"max_request_bytes": -5}, "max_request_bytes"),
        ({"log_level": "loud"}, "log_level"),
        ({"no_such_option": 1}, "no_such_option"),
    ],
)
def test_a_bad_value_names_its_key(source: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config(file_values=source, env={})
    message = str(info.value)
    assert f"'{key}'" in message
    assert "\n" not in message


def test_a_broken_toml_file_is_one_clear_error(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("server_name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_toml(toml)
    with pytest.raises(ConfigError, match="No such file"):
        load_toml(tmp_path / "missing.toml")
