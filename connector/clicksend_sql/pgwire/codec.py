"""PostgreSQL wire protocol v3 messages: frames read from the client, frames written to it.

A frame is a type byte, a big-endian int32 length (itself included) and a payload; the first
frame of a connection has no type byte. Only what a server needs is here: the frontend messages
a client sends (decoded into small dataclasses) and the backend messages a server sends
(encoded to bytes). DataRow frames are built for a whole batch at once by :func:`data_rows`,
with Arrow and NumPy doing the per-row work.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PROTOCOL_3_0 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MAX_MESSAGE = 1 << 30  # PostgreSQL's own limit on a message from the client

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_U32 = struct.Struct("!I")


class ProtocolError(Exception):
    """The client broke the protocol (SQLSTATE 08P01); the session ends."""


# --- frontend: what a client sends ----------------------------------------------------------


@dataclass(frozen=True)
class Startup:
    """StartupMessage: the protocol version asked for and the parameters (user, database, ...)."""

    version: int
    parameters: dict[str, str]


@dataclass(frozen=True)
class EncryptionRequest:
    """SSLRequest or GSSENCRequest: answered 'N' (loopback needs no encryption), then a Startup follows."""

    code: int


@dataclass(frozen=True)
class CancelRequest:
    """CancelRequest, on a connection of its own: cancel what the session with this key runs."""

    pid: int
    secret: int


@dataclass(frozen=True)
class Query:
    text: str


@dataclass(frozen=True)
class Parse:
    name: str
    text: str
    parameter_types: tuple[int, ...]


@dataclass(frozen=True)
class Bind:
    portal: str
    statement: str
    parameter_formats: tuple[int, ...]
    parameters: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


@dataclass(frozen=True)
class Describe:
    kind: str  # "S" statement, "P" portal
    name: str


@dataclass(frozen=True)
class Execute:
    portal: str
    max_rows: int  # 0: all


@dataclass(frozen=True)
class Close:
    kind: str  # "S" statement, "P" portal
    name: str


@dataclass(frozen=True)
class Sync:
    pass


@dataclass(frozen=True)
class Flush:
    pass


@dataclass(frozen=True)
class Terminate:
    pass


@dataclass(frozen=True)
class Password:
    """PasswordMessage, SASLInitialResponse or SASLResponse (one type byte, 'p'): read per auth step."""

    payload: bytes


FrontendMessage = Query | Parse | Bind | Describe | Execute | Close | Sync | Flush | Terminate | Password


class _Payload:
    """Reads the fields of one message payload in order."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def int16(self) -> int:
        return self._unpack(_I16)

    def int32(self) -> int:
        return self._unpack(_I32)

    def string(self) -> str:
        end = self._data.find(b"\0", self._at)
        if end < 0:
            raise ProtocolError("A string in the message is not NUL-terminated.")
        text = self._data[self._at:end].decode("utf-8", errors="replace")
        self._at = end + 1
        return text

    def take(self, size: int) -> bytes:
        if self._at + size > len(self._data):
            raise ProtocolError("The message is shorter than its fields say.")
        chunk = self._data[self._at:self._at + size]
        self._at += size
        return chunk

    def rest(self) -> bytes:
        return self.take(len(self._data) - self._at)

    def int16s(self) -> tuple[int, ...]:
        return tuple(self.int16() for _ in range(self.int16()))

    def _unpack(self, layout: struct.Struct) -> int:
        (value,) = layout.unpack(self.take(layout.size))
        return int(value)


def _bind(p: _Payload) -> Bind:
    portal, statement, formats = p.string(), p.string(), p.int16s()
    values: list[bytes | None] = []
    for _ in range(p.int16()):
        size = p.int32()
        values.append(None if size < 0 else p.take(size))
    return Bind(portal, statement, formats, tuple(values), p.int16s())


_DECODERS: dict[bytes, Callable[[_Payload], FrontendMessage]] = {
    b"Q": lambda p: Query(p.string()),
    b"P": lambda p: Parse(p.string(), p.string(), tuple(p.int32() & 0xFFFFFFFF for _ in range(p.int16()))),
    b"B": _bind,
    b"D": lambda p: Describe(p.take(1).decode("ascii", errors="replace"), p.string()),
    b"E": lambda p: Execute(p.string(), p.int32()),
    b"C": lambda p: Close(p.take(1).decode("ascii", errors="replace"), p.string()),
    b"S": lambda p: Sync(),
    b"H": lambda p: Flush(),
    b"X": lambda p: Terminate(),
    b"p": lambda p: Password(p.rest()),
}


async def read_startup(reader: asyncio.StreamReader) -> Startup | EncryptionRequest | CancelRequest:
    """The first frame of a connection (it has no type byte)."""
    (size,) = _I32.unpack(await reader.readexactly(4))
    if not 8 <= size <= 10_000:
        raise ProtocolError(f"A start-up packet of {size} bytes is not one.")
    body = await reader.readexactly(size - 4)
    (code,) = _I32.unpack(body[:4])
    if code in (SSL_REQUEST, GSSENC_REQUEST):
        return EncryptionRequest(code)
    if code == CANCEL_REQUEST:
        pid, secret = struct.unpack("!ii", body[4:12])
        return CancelRequest(pid, secret)
    if code >> 16 != 3:
        raise ProtocolError(f"Protocol version {code >> 16}.{code & 0xFFFF} is not supported; this server speaks 3.0.")
    fields = body[4:].split(b"\0")
    pairs = [f.decode("utf-8", errors="replace") for f in fields]
    return Startup(code, dict(zip(pairs[0:-1:2], pairs[1::2], strict=False)))


async def read_message(reader: asyncio.StreamReader) -> FrontendMessage:
    """The next message of an established connection."""
    head = await reader.readexactly(5)
    kind = head[:1]
    (size,) = _I32.unpack(head[1:])
    if not 4 <= size <= MAX_MESSAGE:
        raise ProtocolError(f"A message of {size} bytes is not one.")
    body = await reader.readexactly(size - 4)
    decode = _DECODERS.get(kind)
    if decode is None:
        raise ProtocolError(f"Unknown message type {kind!r}.")
    return decode(_Payload(body))


# --- backend: what the server sends -----------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One column of a RowDescription."""

    name: str
    type_oid: int
    type_size: int
    format: int  # 0 text, 1 binary
    type_modifier: int = -1


def message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + _I32.pack(len(payload) + 4) + payload


def _string(text: str) -> bytes:
    return text.encode("utf-8") + b"\0"


def authentication(code: int, data: bytes = b"") -> bytes:
    """Authentication*: 0 ok, 10 SASL (data: mechanisms), 11 SASL continue, 12 SASL final."""
    return message(b"R", _I32.pack(code) + data)


def sasl_mechanisms(names: Sequence[str]) -> bytes:
    return authentication(10, b"".join(_string(n) for n in names) + b"\0")


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", _string(name) + _string(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return message(b"K", struct.pack("!ii", pid, secret))


def negotiate_protocol_version(minor: int, unknown_options: Sequence[str]) -> bytes:
    return message(b"v", _I32.pack(minor) + _I32.pack(len(unknown_options)) + b"".join(map(_string, unknown_options)))


def ready_for_query(status: str) -> bytes:
    return message(b"Z", status.encode("ascii"))


def row_description(fields: Sequence[Field]) -> bytes:
    parts = [_I16.pack(len(fields))]
    for f in fields:
        parts.append(_string(f.name) + struct.pack("!ihihih", 0, 0, f.type_oid, f.type_size, f.type_modifier, f.format))
    return message(b"T", b"".join(parts))


def parameter_description(type_oids: Sequence[int]) -> bytes:
    return message(b"t", _I16.pack(len(type_oids)) + b"".join(_U32.pack(oid) for oid in type_oids))


def command_complete(tag: str) -> bytes:
    return message(b"C", _string(tag))


def error_response(code: str, text: str, *, severity: str = "ERROR", detail: str | None = None,
                   hint: str | None = None, notice: bool = False) -> bytes:
    """ErrorResponse (or, with ``notice``, NoticeResponse): severity, SQLSTATE, message, detail, hint."""
    fields = [(b"S", severity), (b"V", severity), (b"C", code), (b"M", text), (b"D", detail), (b"H", hint)]
    payload = b"".join(key + _string(value) for key, value in fields if value is not None) + b"\0"
    return message(b"N" if notice else b"E", payload)


EMPTY_QUERY = message(b"I")
PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")


@dataclass(frozen=True)
class EncodedColumn:
    """One column of a batch in wire form: each value's bytes (empty for NULL) and length (-1 for NULL)."""

    values: pa.Array  # large_binary, no nulls
    lengths: np.ndarray  # int32, one per row


def data_rows(columns: Sequence[EncodedColumn], rows: int) -> bytes:
    """The DataRow messages of ``rows`` rows, built column-wise: each row's frame is the
    concatenation of a 7-byte header (type, length, column count) and, per column, a 4-byte
    length and the value, so Arrow joins them element-wise with no Python loop over rows."""
    if rows == 0:
        return b""
    total = np.full(rows, 4 + 2 + 4 * len(columns), dtype=np.int64)
    pieces: list[pa.Array] = []
    for column in columns:
        total += np.maximum(column.lengths, 0)
        pieces += [_fixed(column.lengths.astype(">i4"), 4), column.values]
    header = np.empty(rows, dtype=[("kind", "S1"), ("size", ">i4"), ("columns", ">i2")])
    header["kind"], header["size"], header["columns"] = b"D", total, len(columns)
    joined = pc.binary_join_element_wise(_fixed(header, 7), *pieces, pa.scalar(b"", pa.large_binary()))
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64, count=len(joined) + 1, offset=joined.offset * 8)
    return bytes(memoryview(joined.buffers()[2])[offsets[0]:offsets[-1]])


def _fixed(array: np.ndarray, width: int) -> pa.Array:
    """A NumPy array of fixed-width records as an Arrow large_binary array, one value per record."""
    data = pa.py_buffer(np.ascontiguousarray(array).tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(array), [None, data]).cast(pa.large_binary())
