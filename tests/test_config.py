"""Settings resolution: precedence, profiles, base URL rules, and the key never shown."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clicksend_sql.config import (
    DEFAULT_BASE_URL,
    Settings,
    is_loopback_host,
    normalize_base_url,
    resolve_settings,
)
from clicksend_sql.errors import ConfigurationError

KEY = "D83DED51-9E35-4D42-9BB9-0E34B7CA85AE"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CLICKSEND_* variables and a private config dir, so the developer's own setup never leaks in."""
    for name in ("CLICKSEND_USERNAME", "CLICKSEND_API_KEY", "CLICKSEND_BASE_URL", "CLICKSEND_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def write_config(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "config.toml",
        f"""
[profiles.default]
username = "file-user"
api_key = "file-key"

[profiles.emu]
username = "emu-user"
api_key = "{KEY}"
base_url = "http://127.0.0.1:8080/v3/"
""",
    )


def test_explicit_arguments_beat_environment_and_profile(monkeypatch: pytest.MonkeyPatch, config_file: Path) -> None:
    monkeypatch.setenv("CLICKSEND_USERNAME", "env-user")
    monkeypatch.setenv("CLICKSEND_API_KEY", "env-key")
    monkeypatch.setenv("CLICKSEND_BASE_URL", "http://localhost:9/v3")
    s = resolve_settings("arg-user", "arg-key", base_url="https://example.org/v3", config_file=config_file)
    assert s == Settings("arg-user", "arg-key", "https://example.org/v3")


def test_environment_beats_profile_per_setting(monkeypatch: pytest.MonkeyPatch, config_file: Path) -> None:
    monkeypatch.setenv("CLICKSEND_BASE_URL", "http://127.0.0.1:5000")
    s = resolve_settings(config_file=config_file)
    # username and key still come from the default profile; only the URL is overridden
    assert s == Settings("file-user", "file-key", "http://127.0.0.1:5000/v3")


def test_default_profile_and_default_base_url(config_file: Path) -> None:
    assert resolve_settings(config_file=config_file) == Settings("file-user", "file-key", DEFAULT_BASE_URL)


def test_named_profile_by_argument_and_by_environment(monkeypatch: pytest.MonkeyPatch, config_file: Path) -> None:
    expected = Settings("emu-user", KEY, "http://127.0.0.1:8080/v3")
    assert resolve_settings(profile="emu", config_file=config_file) == expected
    monkeypatch.setenv("CLICKSEND_PROFILE", "emu")
    assert resolve_settings(config_file=config_file) == expected
    # the argument beats the environment variable
    assert resolve_settings(profile="default", config_file=config_file).username == "file-user"


def test_unknown_named_profile_lists_the_known_ones(config_file: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"'staging'.*default, emu"):
        resolve_settings(profile="staging", config_file=config_file)


def test_config_file_in_the_platform_user_config_dir(tmp_path: Path) -> None:
    write_config(
        tmp_path / "xdg" / "clicksend-sql" / "config.toml",
        '[profiles.default]\nusername = "xdg-user"\napi_key = "xdg-key"\n',
    )
    assert resolve_settings().username == "xdg-user"


def test_missing_credentials_name_the_ways_and_the_demo() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_settings(username="only-user")
    message = str(info.value)
    assert message.startswith("No ClickSend API key found")
    assert "CLICKSEND_API_KEY" in message and "connect(username=..., api_key=...)" in message and "config.toml" in message
    assert "--demo" in message


def test_blank_values_count_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSEND_USERNAME", "  ")
    with pytest.raises(ConfigurationError, match="username or API key"):
        resolve_settings()


def test_values_are_stripped() -> None:
    assert resolve_settings(" user ", f"{KEY}\n") == Settings("user", KEY, DEFAULT_BASE_URL)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[profiles.default\n", "Cannot read config file"),
        ('profiles = "x"\n', "must be a table"),
        ('[profiles.default]\nusername = "u"\napikey = "k"\n', r"unknown keys \['apikey'\]"),
        ('[profiles.default]\nusername = 5\napi_key = "k"\n', r"non-string values for \['username'\]"),
    ],
)
def test_malformed_config_file_is_named(tmp_path: Path, text: str, match: str) -> None:
    path = write_config(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigurationError, match=match) as info:
        resolve_settings(config_file=path)
    assert "bad.toml" in str(info.value)


def test_plain_http_only_to_loopback() -> None:
    for url in ("http://127.0.0.1:1/v3", "http://127.200.3.4/v3", "http://localhost/v3", "http://[::1]:80/v3"):
        assert resolve_settings("u", "k", base_url=url).base_url == url
    with pytest.raises(ConfigurationError, match=r"non-loopback host 'rest.clicksend.com'.*unencrypted"):
        resolve_settings("u", "k", base_url="http://rest.clicksend.com/v3")
    with pytest.raises(ConfigurationError, match="not an absolute http"):
        resolve_settings("u", "k", base_url="ftp://rest.clicksend.com/v3")
    with pytest.raises(ConfigurationError, match="query string"):
        resolve_settings("u", "k", base_url="https://rest.clicksend.com/v3?x=1")


def test_settings_built_directly_are_checked_too() -> None:
    assert Settings("u", "k", "http://localhost:8000/").base_url == "http://localhost:8000/v3"
    with pytest.raises(ConfigurationError, match="plain http"):
        Settings("u", "k", "http://example.com/v3")
    with pytest.raises(ConfigurationError, match="non-empty username and API key"):
        Settings("u", "")


def test_repr_and_str_hide_the_key() -> None:
    s = resolve_settings("demo", KEY)
    for text in (repr(s), str(s), f"{s}", repr([s])):
        assert KEY not in text
        assert "api_key='****'" in text


@given(st.ip_addresses(v=4))
def test_http_ipv4_allowed_exactly_for_127_slash_8(address: ipaddress.IPv4Address) -> None:
    url = f"http://{address}:8080/v3"
    if address in ipaddress.ip_network("127.0.0.0/8"):
        assert normalize_base_url(url) == url
    else:
        with pytest.raises(ConfigurationError, match="plain http"):
            normalize_base_url(url)


@given(st.ip_addresses(v=6))
def test_ipv6_loopback_is_only_double_colon_one(address: ipaddress.IPv6Address) -> None:
    assert is_loopback_host(f"[{address}]") == (address == ipaddress.IPv6Address("::1"))


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True),
    path=st.sampled_from(["", "/", "/v3", "/v3/", "/proxy", "/proxy/v3/"]),
    scheme=st.sampled_from(["http", "https"]),
)
def test_base_url_normal_form(host: str, path: str, scheme: str) -> None:
    url = f"{scheme}://{host}{path}"
    if scheme == "http" and host != "localhost":
        with pytest.raises(ConfigurationError):
            normalize_base_url(url)
        return
    normal = normalize_base_url(url)
    assert normal.endswith("/v3") and not normal.endswith("//v3")
    assert normal.startswith(f"{scheme}://{host}")
    assert normalize_base_url(normal) == normal


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused_with_the_chmod(tmp_path: Path, mode: int) -> None:
    path = write_config(tmp_path / "config.toml", '[profiles.default]\nusername = "u"\napi_key = "secret-key"\n', mode)
    with pytest.raises(ConfigurationError, match=rf"others can read it \(permissions {mode:o}\); run: chmod 600 ") as info:
        resolve_settings(config_file=path)
    assert "secret-key" not in str(info.value)
    path.chmod(0o600)
    assert resolve_settings(config_file=path).api_key == "secret-key"


def test_a_profile_without_a_key_may_be_readable(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", '[profiles.default]\nusername = "u"\nbase_url = "https://x.example/v3"\n', 0o644)
    assert resolve_settings(api_key="k", config_file=path).username == "u"


def test_api_key_command_prints_the_key(tmp_path: Path) -> None:
    helper = tmp_path / "pass.sh"
    helper.write_text("#!/bin/sh\necho 'from-the-vault'\necho 'second line ignored'\n", encoding="utf-8")
    helper.chmod(0o700)
    path = write_config(tmp_path / "config.toml", f'[profiles.default]\nusername = "u"\napi_key_command = "{helper}"\n', 0o644)
    settings = resolve_settings(config_file=path)
    assert settings.api_key == "from-the-vault" and "from-the-vault" not in repr(settings)


@pytest.mark.parametrize(("command", "match"), [("exit 3", "exited 3"), ("true", "printed no key")])
def test_a_failing_api_key_command_is_named_without_its_output(tmp_path: Path, command: str, match: str) -> None:
    path = write_config(tmp_path / "config.toml", f'[profiles.default]\nusername = "u"\napi_key_command = "echo leaked >&2; {command}"\n')
    with pytest.raises(ConfigurationError, match=match) as info:
        resolve_settings(config_file=path)
    assert "leaked" not in str(info.value) and "api_key_command of [profiles.default]" in str(info.value)


def test_api_key_and_api_key_command_together_are_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", '[profiles.default]\nusername = "u"\napi_key = "k"\napi_key_command = "echo k"\n')
    with pytest.raises(ConfigurationError, match="both api_key and api_key_command"):
        resolve_settings(config_file=path)
