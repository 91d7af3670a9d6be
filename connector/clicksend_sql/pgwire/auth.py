"""Who may connect: SCRAM-SHA-256 against the server's one password, and only from loopback
unless remote clients are allowed explicitly.

SCRAM (RFC 5802 with SHA-256, RFC 7677) is what PostgreSQL itself uses by default: the
password never crosses the wire, not even hashed (md5 sends a replayable hash of it; cleartext
sends it as is, and this server has no TLS). libpq, psql, psycopg, JDBC and asyncpg all speak
it. The exchange is written here on hashlib and hmac: scramp, the library for it, refuses the
empty SCRAM user name every libpq client sends (PostgreSQL takes the user from the start-up
message instead).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
import struct
import unicodedata

from ..errors import ConfigurationError
from . import codec

MECHANISM = "SCRAM-SHA-256"
_ITERATIONS = 4096  # PostgreSQL's default scram_iterations


class ScramError(Exception):
    """A SCRAM message that is malformed, or a proof that does not match."""


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _attributes(message: str) -> dict[str, str]:
    """``a=1,b=2`` as a dict (values may contain '=')."""
    pairs = [part.split("=", 1) for part in message.split(",") if part]
    if any(len(pair) != 2 or len(pair[0]) != 1 for pair in pairs):
        raise ScramError(f"malformed SCRAM message {message!r}")
    return {name: value for name, value in pairs}


class _Exchange:
    """The server's side of one SCRAM-SHA-256 exchange (no channel binding: there is no TLS)."""

    def __init__(self, salt: bytes, stored_key: bytes, server_key: bytes) -> None:
        self._salt, self._stored_key, self._server_key = salt, stored_key, server_key
        self._nonce = self._first_bare = self._server_first = self._header = ""

    def server_first(self, client_first: str) -> str:
        header, _, bare = client_first.partition(",")
        authzid, _, bare = bare.partition(",")
        if header not in ("n", "y") or authzid:
            raise ScramError("channel binding and authorization identities are not supported")
        self._header, self._first_bare = f"{header},{authzid},", bare
        client_nonce = _attributes(bare).get("r", "")
        if not client_nonce:
            raise ScramError("the client's first message has no nonce")
        self._nonce = client_nonce + base64.b64encode(secrets.token_bytes(18)).decode()
        self._server_first = f"r={self._nonce},s={base64.b64encode(self._salt).decode()},i={_ITERATIONS}"
        return self._server_first

    def server_final(self, client_final: str) -> str:
        """The server's signature, once the client's proof shows it knows the password."""
        without_proof, _, proof = client_final.rpartition(",p=")
        fields = _attributes(without_proof)
        if fields.get("r") != self._nonce or fields.get("c") != base64.b64encode(self._header.encode()).decode():
            raise ScramError("the client's final message does not continue this exchange")
        auth_message = f"{self._first_bare},{self._server_first},{without_proof}".encode()
        try:
            client_proof = base64.b64decode(proof, validate=True)
        except ValueError:
            raise ScramError("the client's proof is not base64") from None
        signature = _hmac(self._stored_key, auth_message)
        client_key = bytes(a ^ b for a, b in zip(client_proof, signature, strict=False))
        if len(client_proof) != len(signature) or not hmac.compare_digest(hashlib.sha256(client_key).digest(), self._stored_key):
            raise ScramError("wrong password")
        return "v=" + base64.b64encode(_hmac(self._server_key, auth_message)).decode()


class ScramPassword:
    """The server's password, kept only as SCRAM's salted keys, checked per connection."""

    def __init__(self, password: str) -> None:
        if not password:
            raise ConfigurationError("The server needs a password: set CLICKSEND_SQL_PASSWORD (it is not the API key).")
        self._salt = secrets.token_bytes(16)
        # NFKC: SASLprep's normalisation, which clients apply before hashing
        salted = hashlib.pbkdf2_hmac("sha256", unicodedata.normalize("NFKC", password).encode(), self._salt, _ITERATIONS)
        self._stored_key = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
        self._server_key = _hmac(salted, b"Server Key")

    def __repr__(self) -> str:
        return "ScramPassword(<hidden>)"

    async def check(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Run the SASL exchange with a client; True when it proved it knows the password."""
        writer.write(codec.sasl_mechanisms([MECHANISM]))
        await writer.drain()
        first = await _password_payload(reader)
        mechanism, _, rest = first.partition(b"\0")
        if mechanism.decode(errors="replace") != MECHANISM or len(rest) < 4:
            return False
        (size,) = struct.unpack("!i", rest[:4])
        exchange = _Exchange(self._salt, self._stored_key, self._server_key)
        try:
            writer.write(codec.authentication(11, exchange.server_first(rest[4:4 + size].decode()).encode()))
            await writer.drain()
            final = exchange.server_final((await _password_payload(reader)).decode())
        except (ScramError, UnicodeDecodeError):
            return False
        writer.write(codec.authentication(12, final.encode()))
        return True


async def _password_payload(reader: asyncio.StreamReader) -> bytes:
    message = await codec.read_message(reader)
    if not isinstance(message, codec.Password):
        raise codec.ProtocolError(f"Expected a password message during authentication, got {type(message).__name__}.")
    return message.payload


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse to listen beyond loopback unless ``allow_remote``: the protocol runs without TLS,
    and every client that knows the password acts on the ClickSend account.

    >>> check_host("127.0.0.1", False), check_host("localhost", False), check_host("::1", False)
    (None, None, None)
    >>> check_host("0.0.0.0", False)
    Traceback (most recent call last):
    ...
    clicksend_sql.errors.ConfigurationError: --host 0.0.0.0 is not a loopback address: ...
    """
    if allow_remote or _is_loopback(host):
        return
    raise ConfigurationError(
        f"--host {host} is not a loopback address: clients elsewhere could reach the ClickSend account over a "
        "connection without TLS. Listen on 127.0.0.1 (the default), or pass --allow-remote (allow_remote=True) "
        "if the network is yours and trusted."
    )


def _is_loopback(host: str) -> bool:
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)
