"""PostgreSQL types of Arrow columns: the OID a RowDescription announces, every value of a column
in text or binary form, and parameters read back from the wire as Python values for DuckDB.

Columns are converted whole with Arrow compute and NumPy (the common types never reach a Python
loop per value); rare types (intervals, bytea and numeric in some formats, nested values) are
converted value by value.

DuckDB's Arrow export does not mark UUID and JSON columns (it would only with
``arrow_lossless_conversion``, which also turns every HUGEINT, e.g. ``sum()`` of a BIGINT, into
opaque bytes for the rest of the package), so they are announced as text.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .codec import EncodedColumn


@dataclass(frozen=True)
class PgType:
    """A PostgreSQL type as RowDescription names it: OID, ``typlen`` (-1: variable) and name."""

    oid: int
    size: int
    name: str


BOOL = PgType(16, 1, "bool")
BYTEA = PgType(17, -1, "bytea")
INT8 = PgType(20, 8, "int8")
INT2 = PgType(21, 2, "int2")
INT4 = PgType(23, 4, "int4")
TEXT = PgType(25, -1, "text")
OID = PgType(26, 4, "oid")
JSON = PgType(114, -1, "json")
FLOAT4 = PgType(700, 4, "float4")
FLOAT8 = PgType(701, 8, "float8")
UNKNOWN = PgType(705, -2, "unknown")
VARCHAR = PgType(1043, -1, "varchar")
DATE = PgType(1082, 4, "date")
TIME = PgType(1083, 8, "time")
TIMESTAMP = PgType(1114, 8, "timestamp")
TIMESTAMPTZ = PgType(1184, 8, "timestamptz")
INTERVAL = PgType(1186, 16, "interval")
NUMERIC = PgType(1700, -1, "numeric")
UUID = PgType(2950, 16, "uuid")
JSONB = PgType(3802, -1, "jsonb")

_EPOCH_DAYS = 10_957  # 2000-01-01, PostgreSQL's epoch, in days since 1970-01-01
_EPOCH_US = _EPOCH_DAYS * 86_400_000_000
_POSTGRES_EPOCH = dt.datetime(2000, 1, 1)
_TRUE = frozenset({"t", "true", "y", "yes", "on", "1"})


def pg_type(arrow: pa.DataType) -> PgType:
    """The PostgreSQL type a column of this Arrow type is announced as.

    >>> pg_type(pa.int64()).name, pg_type(pa.timestamp("us", tz="UTC")).name, pg_type(pa.decimal128(38, 0)).name
    ('int8', 'timestamptz', 'numeric')
    """
    t = pa.types
    if t.is_dictionary(arrow):
        return pg_type(arrow.value_type)
    checks: list[tuple[Callable[[pa.DataType], bool], PgType]] = [
        (t.is_boolean, BOOL),
        (lambda a: a in (pa.int8(), pa.int16(), pa.uint8()), INT2),
        (lambda a: a in (pa.int32(), pa.uint16()), INT4),
        (lambda a: a in (pa.int64(), pa.uint32()), INT8),
        (lambda a: a in (pa.float16(), pa.float32()), FLOAT4),
        (t.is_float64, FLOAT8),
        (lambda a: t.is_decimal(a) or a == pa.uint64(), NUMERIC),
        (lambda a: t.is_binary(a) or t.is_large_binary(a) or t.is_fixed_size_binary(a), BYTEA),
        (t.is_date, DATE),
        (lambda a: t.is_timestamp(a) and a.tz is not None, TIMESTAMPTZ),
        (t.is_timestamp, TIMESTAMP),
        (t.is_time, TIME),
        (lambda a: a == pa.month_day_nano_interval() or t.is_duration(a), INTERVAL),
    ]
    return next((pg for check, pg in checks if check(arrow)), TEXT)


# --- results -----------------------------------------------------------------------------------


def encode_column(column: pa.Array, pg: PgType, binary: bool) -> EncodedColumn:
    """A column's values in the wire format of ``pg`` (text when not ``binary``)."""
    if isinstance(column.type, pa.DictionaryType):
        column = column.dictionary_decode()
    values = (_binary if binary else _text)(column, pg)
    valid = np.asarray(column.is_valid(), dtype=bool) if column.null_count else np.ones(len(column), dtype=bool)
    values = pc.if_else(pa.array(valid), values.cast(pa.large_binary()), pa.scalar(b"", pa.large_binary()))
    lengths = np.where(valid, np.asarray(pc.binary_length(values).fill_null(0), dtype=np.int64), -1).astype(np.int32)
    return EncodedColumn(values, lengths)


def _text(column: pa.Array, pg: PgType) -> pa.Array:
    """Each value as PostgreSQL prints it (DateStyle ISO, bool t/f, Infinity/NaN)."""
    if pg is BOOL:
        return pc.if_else(column, "t", "f")
    if pg is TEXT and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    if pg in (INT2, INT4, INT8, NUMERIC, DATE):
        return column.cast(pa.string())
    if pg in (FLOAT4, FLOAT8):
        text = column.cast(pa.string())
        for arrow_form, postgres_form in (("inf", "Infinity"), ("nan", "NaN")):
            text = pc.replace_substring(text, arrow_form, postgres_form)
        return text
    if pg in (TIMESTAMP, TIMESTAMPTZ, TIME):
        if pg is TIMESTAMPTZ:  # the UTC wall clock (the session's TimeZone is UTC), then its offset
            column = column.cast(pa.timestamp(column.type.unit))
        text = _trim_fraction(column.cast(pa.string()))
        return pc.binary_join_element_wise(text, "+00", "") if pg is TIMESTAMPTZ else text
    return _per_value(column, _TEXT_FORMS.get(pg, _text_of_value))


def _trim_fraction(text: pa.Array) -> pa.Array:
    """``12:00:05.120000`` as PostgreSQL prints it: ``12:00:05.12`` (and ``.000000`` not at all)."""
    text = pc.replace_substring_regex(text, r"(\.\d*?[1-9])0+$", r"\1")
    return pc.replace_substring_regex(text, r"\.0+$", "")


def _binary(column: pa.Array, pg: PgType) -> pa.Array:
    """Each value in PostgreSQL's binary ("send") form."""
    fixed = {BOOL: "u1", INT2: ">i2", INT4: ">i4", INT8: ">i8", FLOAT4: ">f4", FLOAT8: ">f8"}
    if pg in fixed:
        return _numpy_values(_numbers(column), fixed[pg])
    if pg is DATE:
        return _numpy_values(_numbers(column.cast(pa.date32()).cast(pa.int32())) - _EPOCH_DAYS, ">i4")
    if pg in (TIMESTAMP, TIMESTAMPTZ):
        micros = column.cast(pa.timestamp("us", tz=column.type.tz)).cast(pa.int64())
        return _numpy_values(_numbers(micros) - _EPOCH_US, ">i8")
    if pg is TIME:
        return _numpy_values(_numbers(column.cast(pa.time64("us")).cast(pa.int64())), ">i8")
    if pg is TEXT:
        return column if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) else _text(column, pg)
    if pg is BYTEA:
        return column.cast(pa.large_binary())
    return _per_value(column, _BINARY_FORMS[pg])


def _numbers(column: pa.Array) -> np.ndarray:
    """A numeric column as NumPy, NULLs as 0 (their bytes are dropped afterwards)."""
    if pa.types.is_boolean(column.type):
        column = column.cast(pa.uint8())
    return np.asarray(column.fill_null(0) if column.null_count else column)


def _numpy_values(numbers: np.ndarray, dtype: str) -> pa.Array:
    """Fixed-width big-endian values as an Arrow binary array."""
    array = numbers.astype(dtype)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(array.itemsize), len(array), [None, pa.py_buffer(array.tobytes())])


def _per_value(column: pa.Array, form: Callable[[Any], bytes]) -> pa.Array:
    return pa.array([None if v is None else form(v) for v in column.to_pylist()], pa.large_binary())


def _text_of_value(value: Any) -> bytes:
    """A nested value (list, struct, map) as JSON text; bytes, text and the rest as themselves."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str, ensure_ascii=False).encode()
    return str(value).encode()


def _interval_text(value: Any) -> bytes:
    """A DuckDB interval (months, days, nanoseconds) or a timedelta as PostgreSQL prints it."""
    months, days, nanos = _interval_parts(value)
    parts = [f"{months // 12} year" if months // 12 else "", f"{months % 12} mons" if months % 12 else "",
             f"{days} days" if days else ""]
    sign, micros = ("-" if nanos < 0 else ""), abs(nanos) // 1000
    seconds, fraction = divmod(micros, 1_000_000)
    clock = f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    clock += f".{fraction:06d}".rstrip("0") if fraction else ""
    return " ".join(p for p in [*parts, clock if nanos or not any(parts) else ""] if p).encode()


def _interval_parts(value: Any) -> tuple[int, int, int]:
    if isinstance(value, dt.timedelta):
        return 0, value.days, (value.seconds * 1_000_000 + value.microseconds) * 1000
    return int(value.months), int(value.days), int(value.nanoseconds)


def _interval_binary(value: Any) -> bytes:
    months, days, nanos = _interval_parts(value)
    return struct.pack("!qii", nanos // 1000, days, months)


def _bytea_text(value: bytes) -> bytes:
    return b"\\x" + value.hex().encode()


def numeric_binary(value: Decimal | int) -> bytes:
    """A number in PostgreSQL's binary numeric form: base-10000 digits, weight, sign, scale.

    >>> numeric_decode(numeric_binary(Decimal("-12345.670")))
    Decimal('-12345.670')
    """
    number = Decimal(value)
    if number.is_nan():
        return struct.pack("!hhHh", 0, 0, 0xC000, 0)
    if number.is_infinite():
        return struct.pack("!hhHh", 0, 0, 0xF000 if number < 0 else 0xD000, 0)
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    text = "".join(map(str, digits)) + "0" * max(0, exponent)  # the digits of |value| * 10**scale
    whole, fraction = (text[:-scale] if scale else text) or "0", text[-scale:] if scale else ""
    whole = whole.zfill((len(whole) + 3) // 4 * 4)
    fraction = fraction.ljust((len(fraction) + 3) // 4 * 4, "0")
    groups = [int(whole[i:i + 4]) for i in range(0, len(whole), 4)] + [int(fraction[i:i + 4]) for i in range(0, len(fraction), 4)]
    weight = len(whole) // 4 - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    return struct.pack(f"!hhHh{len(groups)}h", len(groups), weight, 0x4000 if sign else 0, scale, *groups)


def numeric_decode(data: bytes) -> Decimal:
    """PostgreSQL's binary numeric as a Decimal."""
    count, weight, sign, scale = struct.unpack("!hhHh", data[:8])
    if sign == 0xC000:
        return Decimal("NaN")
    if sign in (0xD000, 0xF000):
        return Decimal("-Infinity" if sign == 0xF000 else "Infinity")
    groups = struct.unpack(f"!{count}h", data[8:8 + 2 * count])
    total = sum((Decimal(g) * Decimal(10000) ** (weight - i) for i, g in enumerate(groups)), Decimal(0))
    return (-total if sign == 0x4000 else total).quantize(Decimal(1).scaleb(-scale))


_TEXT_FORMS: dict[PgType, Callable[[Any], bytes]] = {INTERVAL: _interval_text, BYTEA: _bytea_text}
_BINARY_FORMS: dict[PgType, Callable[[Any], bytes]] = {NUMERIC: numeric_binary, INTERVAL: _interval_binary}


# --- parameters --------------------------------------------------------------------------------

_TEXT_PARAMETERS: dict[int, Callable[[str], Any]] = {
    BOOL.oid: lambda s: s.strip().lower() in _TRUE,
    INT2.oid: int, INT4.oid: int, INT8.oid: int, OID.oid: int,
    FLOAT4.oid: float, FLOAT8.oid: float,
    NUMERIC.oid: Decimal,
    DATE.oid: dt.date.fromisoformat,
    TIME.oid: dt.time.fromisoformat,
    TIMESTAMP.oid: dt.datetime.fromisoformat,
    TIMESTAMPTZ.oid: dt.datetime.fromisoformat,
    BYTEA.oid: lambda s: bytes.fromhex(s[2:]) if s.startswith("\\x") else s.encode(),
    UUID.oid: uuid.UUID,
}
_BINARY_PARAMETERS: dict[int, Callable[[bytes], Any]] = {
    BOOL.oid: lambda b: b != b"\0",
    INT2.oid: lambda b: struct.unpack("!h", b)[0],
    INT4.oid: lambda b: struct.unpack("!i", b)[0],
    INT8.oid: lambda b: struct.unpack("!q", b)[0],
    OID.oid: lambda b: struct.unpack("!I", b)[0],
    FLOAT4.oid: lambda b: struct.unpack("!f", b)[0],
    FLOAT8.oid: lambda b: struct.unpack("!d", b)[0],
    NUMERIC.oid: numeric_decode,
    DATE.oid: lambda b: dt.date(2000, 1, 1) + dt.timedelta(days=struct.unpack("!i", b)[0]),
    TIME.oid: lambda b: (dt.datetime.min + dt.timedelta(microseconds=struct.unpack("!q", b)[0])).time(),
    TIMESTAMP.oid: lambda b: _POSTGRES_EPOCH + dt.timedelta(microseconds=struct.unpack("!q", b)[0]),
    TIMESTAMPTZ.oid: lambda b: (_POSTGRES_EPOCH + dt.timedelta(microseconds=struct.unpack("!q", b)[0])).replace(tzinfo=dt.UTC),
    BYTEA.oid: bytes,
    UUID.oid: lambda b: uuid.UUID(bytes=b),
    JSONB.oid: lambda b: b[1:].decode(),  # a version byte (1), then the text
    **{oid: lambda b: b.decode() for oid in (0, TEXT.oid, VARCHAR.oid, JSON.oid, UNKNOWN.oid, 1042, 19)},
}


class ParameterFormatError(ValueError):
    """A parameter value that is not what its type and format say."""


def decode_parameter(data: bytes | None, oid: int, binary: bool) -> Any:
    """A parameter as the Python value DuckDB binds: typed by its OID, text (and OID 0) as str."""
    if data is None:
        return None
    try:
        if binary:
            decode = _BINARY_PARAMETERS.get(oid)
            if decode is None:
                raise ParameterFormatError(f"binary parameters of type OID {oid} are not supported; send it as text")
            return decode(data)
        text = data.decode("utf-8")
        return _TEXT_PARAMETERS.get(oid, str)(text)
    except ParameterFormatError:
        raise
    except (ValueError, struct.error, UnicodeDecodeError, ArithmeticError) as exc:
        raise ParameterFormatError(f"invalid value for a parameter of type OID {oid}: {exc}") from None
