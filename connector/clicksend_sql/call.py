"""CALL: a ClickSend procedure with arguments DuckDB evaluates (positional, ``name := value``,
parameters); ``EXPLAIN CALL`` shows the request instead of making it.

A call obeys what an INSERT of the same message obeys: its arguments are checked against the
columns of the table it returns (an SMS body's 1,224 characters, a recipient that must be a
possible number), a charging call is counted by ``max_messages`` and ``max_cost`` through
``charges``, and ``dry_run`` shows every changing call instead of making it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlglot import exp

from . import procedures
from .catalog import Procedure, column_name
from .charges import Send, charge_of, check_caps, quoted_price
from .engine import Engine
from .parameters import Parameters
from .redaction import redact_rows
from .result import Result


def run_call(engine: Engine, function: exp.Func, parameters: Parameters, *, send: bool) -> Result:
    """Check and convert every argument, then make the one request (or, ``send=False`` or a
    changing call under ``dry_run``, show it)."""
    procedure = engine.catalog.procedure(function.name)
    values: list[Any] = []
    if function.expressions:  # every argument evaluated by DuckDB, named ones (name := value) too
        plain = [a.expression if isinstance(a, exp.PropertyEQ) else a for a in function.expressions]
        aliased = [argument.as_(f"a{index}") for index, argument in enumerate(plain)]
        values = list(engine.evaluated(exp.select(*aliased), parameters).to_pylist()[0].values())
    names = [a.this.name if isinstance(a, exp.PropertyEQ) else None for a in function.expressions]
    first_named = next((i for i, n in enumerate(names) if n is not None), len(names))
    if any(n is None for n in names[first_named:]):
        raise procedures.ProcedureArgumentError(f"CALL {procedure.name}: positional arguments come before named ones.")
    positional = [v for v, n in zip(values, names, strict=True) if n is None]
    named = {n: v for v, n in zip(values, names, strict=True) if n is not None}
    arguments = procedures.bind_arguments(procedure, positional, named)
    _check_like_an_insert(engine, procedure, arguments)
    what = f"CALL {procedure.name}"
    sends = [_send(engine, procedure, arguments)] if procedure.charges else []
    if not send or (engine.dry_run and procedure.changes):
        described = procedures.describe(procedure, arguments)
        if sends and send:  # a dry run reads list sizes and asks for the price; EXPLAIN makes no request at all
            charge = charge_of(sends, lambda ids: _list_sizes(engine, ids, parameters), price=True)
            described.update(messages=charge.messages, quoted_price=None if charge.cost is None else str(charge.cost))
        return Result(pa.Table.from_pylist([described]), kind="explain")
    check_caps(what, sends, lambda ids: _list_sizes(engine, ids, parameters), engine.limits)
    if procedure.changes:
        engine.refuse_in_transaction(what)
    with engine.accounting() as stats:
        response = engine.run(procedures.call(engine.client, procedure, arguments))
    returns = engine.catalog.table(procedure.returns) if procedure.returns else None
    rows = redact_rows(procedures.result_table(response, returns), (engine.settings.api_key,))
    return Result(rows, stats, kind="call")


def _check_like_an_insert(engine: Engine, procedure: Procedure, arguments: dict[str, Any]) -> None:
    """The arguments that are columns of the table the call returns obey that column's rules."""
    if not procedure.returns or not procedure.changes:
        return
    from .writes.plan_rows import WriteError, WriteRows
    from .writes.validate_rows import row_problems  # the writes pipeline loads only when needed (start-up)

    table = engine.catalog.table(procedure.returns)
    writable = {c.name.lower(): c.name for c in table.columns if not c.read_only}
    given = {writable[column_name(n).lower()]: (n, v) for n, v in arguments.items() if column_name(n).lower() in writable}
    if not given:
        return
    row = pa.Table.from_pylist([{column: value for column, (_, value) in given.items()}])
    problems = row_problems(WriteRows("INSERT", table, tuple(given), row), engine.limits.default_country)
    if problems:
        raise WriteError(f"CALL {procedure.name}: {problems[0]} (an INSERT INTO {table.name} would be refused too; nothing was sent)")


def _send(engine: Engine, procedure: Procedure, arguments: dict[str, Any]) -> Send:
    """A charging call as the caps see it: its messages, and its price where ClickSend quotes one."""
    count = procedure.messages
    lists = (int(arguments[count]),) if isinstance(count, str) and arguments.get(count) is not None else ()
    direct = count if isinstance(count, int) else 0
    quoting = engine.catalog.procedure(procedure.quoted_by) if procedure.quoted_by else None
    if quoting is None:
        return Send(None, direct, lists)
    taken = {p.name for p in quoting.parameters}

    def quote() -> Decimal:
        response = engine.run(procedures.call(engine.client, quoting, {k: v for k, v in arguments.items() if k in taken}))
        return quoted_price(response.data)

    return Send(quote, direct, lists)


def _list_sizes(engine: Engine, ids: list[int], parameters: Parameters) -> dict[int, int]:
    from .write import Services  # loads the writes pipeline, only for a call to a list

    return Services(engine, parameters).list_sizes(ids)
