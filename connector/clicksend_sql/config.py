"""Credentials and base URL: where they come from and what is accepted.

Each setting is taken from the first source that has it: explicit arguments, then the
environment (``CLICKSEND_USERNAME``, ``CLICKSEND_API_KEY``, ``CLICKSEND_BASE_URL``), then a
named profile in a TOML file. Keeping the sources per *setting* (not per source) lets a user
keep the key in the config file and point one run at the emulator with ``CLICKSEND_BASE_URL``.
The API key is never part of a repr, message or log line.
"""

from __future__ import annotations

import hashlib

import ipaddress
import os
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs

from .errors import ConfigurationError

DEFAULT_BASE_URL = "https://rest.clicksend.com/v3"
DEFAULT_PROFILE = "default"
ENV_USERNAME = "CLICKSEND_USERNAME"
ENV_API_KEY = "CLICKSEND_API_KEY"
ENV_BASE_URL = "CLICKSEND_BASE_URL"
ENV_PROFILE = "CLICKSEND_PROFILE"
PROFILE_KEYS = ("username", "api_key", "api_key_command", "base_url")
KEY_COMMAND_TIMEOUT = 60.0  # seconds a password manager may take (it may ask to be unlocked)


@dataclass(frozen=True)
class Settings:
    """What the HTTP client needs; checked on construction, so holders need not re-check it.

    >>> Settings("demo", "SECRET-KEY", "http://127.0.0.1:8080/v3/")
    Settings(username='demo', api_key='****', base_url='http://127.0.0.1:8080/v3')
    """

    username: str
    api_key: str
    base_url: str = DEFAULT_BASE_URL

    def __post_init__(self) -> None:
        if not self.username or not self.api_key:
            raise ConfigurationError("Settings need a non-empty username and API key.")
        # frozen: normalising the URL in place is the one sanctioned write
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))

    def __repr__(self) -> str:
        return f"Settings(username={self.username!r}, api_key='****', base_url={self.base_url!r})"

    __str__ = __repr__


def account_key(settings: Settings) -> str:
    """A name for the account, for files kept per account: a hash of its base URL and username, no secret.

    >>> len(account_key(Settings("demo", "k", "http://127.0.0.1:1/v3")))
    20
    """
    return hashlib.sha256(f"{settings.base_url}\n{settings.username}".encode()).hexdigest()[:20]


def default_config_file() -> Path:
    """The per-user config file, e.g. ``~/.config/clicksend-sql/config.toml`` on Linux."""
    return Path(platformdirs.user_config_dir("clicksend-sql")) / "config.toml"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1): the only hosts
    allowed over plain http, because traffic to them never leaves the machine.

    >>> [is_loopback_host(h) for h in ("localhost", "127.8.9.1", "::1", "10.0.0.1", "example.com")]
    [True, True, True, False, False]
    """
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(url: str) -> str:
    """Check a base URL and bring it to the ``.../v3`` form without a trailing slash.

    >>> normalize_base_url("https://rest.clicksend.com/")
    'https://rest.clicksend.com/v3'
    >>> normalize_base_url("http://localhost:8000/v3/")
    'http://localhost:8000/v3'
    >>> normalize_base_url("http://rest.clicksend.com/v3")
    Traceback (most recent call last):
    ...
    clicksend_sql.errors.ConfigurationError: Base URL 'http://rest.clicksend.com/v3' uses plain http ...
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"Base URL {url!r} is not an absolute http(s) URL; expected e.g. {DEFAULT_BASE_URL!r}."
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"Base URL {url!r} uses plain http to a non-loopback host {parts.hostname!r}: the API key would "
            "travel unencrypted. Use https://, or http:// only for localhost, 127.0.0.0/8 or ::1 (the emulator)."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"Base URL {url!r} must not have a query string or fragment.")
    path = parts.path.rstrip("/")
    if not path.endswith("/v3"):
        path += "/v3"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _read_profile(config_file: Path, profile: str, *, required: bool) -> Mapping[str, str]:
    """The ``[profiles.NAME]`` table of the config file; empty when absent and not required."""
    try:
        text = config_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"Cannot read config file {str(config_file)!r}: {exc}") from None
    document: dict[str, Any] = {}
    if text:
        import tomllib  # 4-15 ms to import: only when there is a file to read

        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"Cannot read config file {str(config_file)!r}: {exc}") from None
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigurationError(f"In {str(config_file)!r}, 'profiles' must be a table of [profiles.NAME] tables.")
    table = profiles.get(profile)
    if table is None:
        if required:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigurationError(
                f"Profile {profile!r} is not in {str(config_file)!r} (profiles there: {known})."
            )
        return {}
    if not isinstance(table, dict):
        raise ConfigurationError(f"In {str(config_file)!r}, [profiles.{profile}] must be a table.")
    if "api_key" in table:
        _check_private(config_file)
    if "api_key" in table and "api_key_command" in table:
        raise ConfigurationError(f"In {str(config_file)!r}, [profiles.{profile}] has both api_key and api_key_command; keep one.")
    unknown = sorted(set(table) - set(PROFILE_KEYS))
    wrong_type = sorted(k for k in PROFILE_KEYS if k in table and not isinstance(table[k], str))
    if unknown or wrong_type:
        raise ConfigurationError(
            f"In {str(config_file)!r}, [profiles.{profile}] has "
            + (f"unknown keys {unknown}" if unknown else f"non-string values for {wrong_type}")
            + f"; accepted keys are {list(PROFILE_KEYS)}, all strings."
        )
    return table


def _check_private(config_file: Path) -> None:
    """A file holding an API key that its group or others can read is refused, as ssh and
    ``.pgpass`` refuse theirs, with the command that makes it private."""
    if os.name != "posix":
        return
    mode = config_file.stat().st_mode
    if mode & 0o077:
        raise ConfigurationError(
            f"{str(config_file)!r} holds an API key and others can read it (permissions {mode & 0o777:o}); "
            f"run: chmod 600 {shlex.quote(str(config_file))}  (or keep the key in a password manager with api_key_command)."
        )


def key_from_command(command: str, where: str) -> str:
    """The API key a profile's ``api_key_command`` prints (its first line), as git's credential
    helpers and AWS's ``credential_process`` do; its output and errors are never shown, since
    they may hold the key.

    >>> key_from_command("echo s3cret", "test")
    's3cret'
    """
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=KEY_COMMAND_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise ConfigurationError(f"api_key_command of {where} did not finish within {KEY_COMMAND_TIMEOUT:.0f} s.") from None
    key = done.stdout.strip().splitlines()[0].strip() if done.stdout.strip() else ""
    if done.returncode != 0 or not key:
        raise ConfigurationError(
            f"api_key_command of {where} " + (f"exited {done.returncode}" if done.returncode else "printed no key")
            + "; run it yourself to see why (its output is not shown here, as it may hold the key)."
        )
    return key


def _first(*values: str | None) -> str | None:
    """The first value that is set and not blank, stripped (keys pasted with a newline still work)."""
    return next((v.strip() for v in values if v is not None and v.strip()), None)


def resolve_settings(
    username: str | None = None,
    api_key: str | None = None,
    *,
    base_url: str | None = None,
    profile: str | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> Settings:
    """Settings from explicit arguments > environment > config-file profile > defaults.

    The profile is ``profile``, else ``CLICKSEND_PROFILE``, else ``"default"``; a profile asked
    for by name must exist, the implicit default one need not.
    """
    env = os.environ
    profile_name = _first(profile, env.get(ENV_PROFILE))
    path = Path(config_file) if config_file is not None else default_config_file()
    stored = _read_profile(path, profile_name or DEFAULT_PROFILE, required=profile_name is not None)
    user = _first(username, env.get(ENV_USERNAME), stored.get("username"))
    key = _first(api_key, env.get(ENV_API_KEY), stored.get("api_key"))
    if key is None and stored.get("api_key_command"):
        key = key_from_command(stored["api_key_command"], f"[profiles.{profile_name or DEFAULT_PROFILE}] in {str(path)!r}")
    url = _first(base_url, env.get(ENV_BASE_URL), stored.get("base_url")) or DEFAULT_BASE_URL
    if user is None or key is None:
        missing = [name for name, value in (("username", user), ("API key", key)) if value is None]
        raise ConfigurationError(
            f"No ClickSend {' or '.join(missing)} found. Set {ENV_USERNAME} and {ENV_API_KEY}, or add "
            f"[profiles.{profile_name or DEFAULT_PROFILE}] with username and api_key (or api_key_command) to "
            f"{str(path)!r}; from Python, connect(username=..., api_key=...) also works. The API key is on the "
            "ClickSend dashboard under Developers > API Credentials. To try it without an account: --demo "
            "(connect(demo=True)), the built-in emulator's demo data."
        )
    return Settings(username=user, api_key=key, base_url=url)


@dataclass(frozen=True)
class Limits:
    """Per-connection checks of what sends and changes: the money caps (refuse before sending,
    with the figure that was over) and what happens to input rows that fail validation."""

    max_messages: int | None = None
    max_cost: Decimal | None = None
    invalid_rows: Literal["error", "skip"] = "error"  # skip: send the valid rows, report the others skipped
    default_country: str | None = None  # the region phone numbers without + are read in

    def __post_init__(self) -> None:
        if self.invalid_rows not in ("error", "skip"):
            raise ConfigurationError(f"invalid_rows={self.invalid_rows!r}: use 'error' (nothing is sent) or 'skip'.")
        for name in ("max_messages", "max_cost"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigurationError(f"{name}={value} must be zero or more.")
