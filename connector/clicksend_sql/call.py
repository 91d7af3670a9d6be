"""CALL: a ClickSend procedure with arguments DuckDB evaluates (positional, ``name := value``,
parameters); ``EXPLAIN CALL`` shows the request instead of making it."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from . import procedures
from .engine import Engine
from .parameters import Parameters
from .conversion import redact
from .result import Result


def run_call(engine: Engine, function: exp.Func, parameters: Parameters, *, send: bool) -> Result:
    """Check and convert every argument, then make the one request (or, ``send=False``, show it)."""
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
    if not send:
        return Result(pa.Table.from_pylist([procedures.describe(procedure, arguments)]), kind="explain")
    with engine.accounting() as stats:
        response = engine.run(procedures.call(engine.client, procedure, arguments))
    returns = engine.catalog.table(procedure.returns) if procedure.returns else None
    return Result(redact(procedures.result_table(response, returns), engine.settings.api_key), stats, kind="call")
