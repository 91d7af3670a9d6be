"""Charges: before any request, how many messages a statement or call will send and what it will
cost, and whether the connection's caps allow it.

Every way of sending goes through :func:`charge_of` and :func:`check_caps`: an INSERT into a
history table (one message per row, or one per contact of a ``ListId``), a campaign INSERT (one
per contact of its list) and every charging procedure (``CALL SendSMS``, ``CALL
SendSMSCampaign``, ``CALL PurchaseDedicatedNumber``...). Counts come from the rows themselves and
list sizes from ``ContactLists.ContactsCount``; costs are quoted by ClickSend's price endpoints,
which price the same body without sending it. A cost that cannot be quoted (buying a number,
a recharge) is refused whenever ``max_cost`` is set, since no estimate would be honest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .config import Limits
from .errors import LimitError


@dataclass(frozen=True)
class Send:
    """One request that sends or charges, as the caps see it.

    ``quote`` prices the request without sending it (None: ClickSend has no price for it);
    ``direct`` counts the messages it addresses one by one, ``lists`` the contact lists whose
    every contact gets one.
    """

    quote: Callable[[], Decimal] | None
    direct: int = 0
    lists: tuple[int, ...] = ()


@dataclass(frozen=True)
class Charge:
    """What a statement or call would send: messages, and the quoted cost when it was asked for."""

    messages: int
    cost: Decimal | None = None  # None: not quoted (no cap needs it, or it cannot be quoted)
    unquotable: int = 0  # requests that charge an amount no price endpoint tells beforehand


def charge_of(sends: Iterable[Send], list_sizes: Callable[[list[int]], dict[int, int]], *, price: bool) -> Charge:
    """Count the messages of ``sends`` (list sizes read once for all of them) and, with
    ``price``, quote their cost.

    >>> sends = [Send(lambda: Decimal("0.1"), direct=2), Send(lambda: Decimal("1.3"), lists=(7,))]
    >>> charge_of(sends, lambda ids: {7: 13}, price=True)
    Charge(messages=15, cost=Decimal('1.4'), unquotable=0)
    >>> charge_of([Send(None)], lambda ids: {}, price=True)
    Charge(messages=0, cost=None, unquotable=1)
    """
    sends = list(sends)
    ids = sorted({i for s in sends for i in s.lists})
    sizes = list_sizes(ids) if ids else {}
    messages = sum(s.direct + sum(sizes.get(i, 0) for i in s.lists) for s in sends)
    if not price or not sends:
        return Charge(messages)
    unquotable = sum(1 for s in sends if s.quote is None)
    cost = sum((s.quote() for s in sends if s.quote is not None), Decimal(0))
    return Charge(messages, None if unquotable else cost, unquotable)


def check_caps(what: str, sends: list[Send], list_sizes: Callable[[list[int]], dict[int, int]], limits: Limits) -> Charge:
    """The charge of ``sends``, refused with :class:`LimitError` when over a cap (quoting only
    when ``max_cost`` is set).

    >>> check_caps("CALL SendSMS", [Send(None, direct=1)], lambda ids: {}, Limits(max_messages=0))
    Traceback (most recent call last):
    ...
    clicksend_sql.errors.LimitError: CALL SendSMS would send 1 message; the connection allows 0 (max_messages). Nothing was sent.
    """
    if not sends or (limits.max_messages is None and limits.max_cost is None):
        return Charge(0) if not sends else charge_of(sends, list_sizes, price=False)
    charge = charge_of(sends, list_sizes, price=limits.max_cost is not None)
    if limits.max_messages is not None and charge.messages > limits.max_messages:
        raise LimitError(
            f"{what} would send {_messages(charge.messages)}; the connection allows {limits.max_messages} "
            "(max_messages). Nothing was sent."
        )
    if limits.max_cost is not None and charge.unquotable:
        raise LimitError(
            f"{what} charges an amount ClickSend does not quote beforehand, and the connection sets max_cost "
            f"({limits.max_cost}), so it is refused. Nothing was sent; use a connection without max_cost for it."
        )
    if limits.max_cost is not None and charge.cost is not None and charge.cost > limits.max_cost:
        raise LimitError(
            f"{what} would cost {charge.cost} (quoted by ClickSend); the connection allows {limits.max_cost} "
            "(max_cost). Nothing was sent."
        )
    return charge


def _messages(count: int) -> str:
    return f"{count} message" if count == 1 else f"{count} messages"


def quoted_price(data: Any) -> Decimal:
    """The total of a price endpoint's answer (``total_price``; 0 when it prices nothing).

    >>> quoted_price({"total_price": 0.077, "total_count": 1})
    Decimal('0.077')
    """
    total = data.get("total_price") if isinstance(data, dict) else None
    return Decimal(str(total)) if total not in (None, "") else Decimal(0)
