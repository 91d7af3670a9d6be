"""``charges`` by itself: counts and quotes before any request, with fake quotes and list sizes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clicksend_sql.charges import Charge, Send, charge_of, check_caps, quoted_price
from clicksend_sql.config import Limits
from clicksend_sql.errors import LimitError


class Sizes:
    """``list_sizes`` that records each call (it is one request to ContactLists)."""

    def __init__(self, sizes: dict[int, int]) -> None:
        self.sizes = sizes
        self.calls: list[list[int]] = []

    def __call__(self, ids: list[int]) -> dict[int, int]:
        self.calls.append(ids)
        return {i: self.sizes[i] for i in ids if i in self.sizes}


class Quote:
    """A price endpoint that counts how often it was asked."""

    def __init__(self, price: str) -> None:
        self.price = Decimal(price)
        self.calls = 0

    def __call__(self) -> Decimal:
        self.calls += 1
        return self.price


def test_list_sizes_are_read_once_for_every_send_and_unknown_lists_count_nothing() -> None:
    sizes = Sizes({7: 13, 8: 2})
    charge = charge_of([Send(None, direct=2, lists=(8, 7)), Send(None, lists=(7, 99))], sizes, price=False)
    assert charge == Charge(messages=2 + 2 + 13 + 13)
    assert sizes.calls == [[7, 8, 99]]


def test_without_lists_no_size_is_read_and_without_price_nothing_is_quoted() -> None:
    sizes, quote = Sizes({}), Quote("1")
    assert charge_of([Send(quote, direct=3)], sizes, price=False) == Charge(3)
    assert sizes.calls == [] and quote.calls == 0


def test_quotes_are_summed_and_one_unquotable_request_leaves_the_cost_unknown() -> None:
    a, b = Quote("0.25"), Quote("1.50")
    assert charge_of([Send(a, direct=1), Send(b, direct=4)], Sizes({}), price=True) == Charge(5, Decimal("1.75"), 0)
    assert charge_of([Send(a, direct=1), Send(None, direct=1)], Sizes({}), price=True) == Charge(2, None, 1)


def test_no_caps_means_no_quote() -> None:
    quote = Quote("9")
    assert check_caps("INSERT INTO SMSHistory", [Send(quote, direct=2)], Sizes({}), Limits()) == Charge(2)
    assert quote.calls == 0


def test_max_messages_counts_list_contacts_and_refuses_over_the_cap() -> None:
    sends = [Send(None, direct=1, lists=(7,))]
    assert check_caps("CALL SendSMS", sends, Sizes({7: 9}), Limits(max_messages=10)).messages == 10
    with pytest.raises(LimitError, match=r"CALL SendSMS would send 11 messages; the connection allows 10 \(max_messages\)"):
        check_caps("CALL SendSMS", sends, Sizes({7: 10}), Limits(max_messages=10))


def test_max_cost_quotes_and_refuses_over_the_cap_but_not_at_it() -> None:
    quote = Quote("2.50")
    assert check_caps("INSERT", [Send(quote, direct=1)], Sizes({}), Limits(max_cost=Decimal("2.50"))).cost == Decimal("2.50")
    assert quote.calls == 1
    with pytest.raises(LimitError, match=r"would cost 2.50 \(quoted by ClickSend\); the connection allows 2.49"):
        check_caps("INSERT", [Send(quote, direct=1)], Sizes({}), Limits(max_cost=Decimal("2.49")))


def test_an_unquotable_charge_is_refused_whenever_max_cost_is_set() -> None:
    """No estimate would be honest (buying a number): refused even with a generous cap."""
    with pytest.raises(LimitError, match="does not quote beforehand"):
        check_caps("CALL PurchaseDedicatedNumber", [Send(None)], Sizes({}), Limits(max_cost=Decimal("1000")))
    assert check_caps("CALL PurchaseDedicatedNumber", [Send(None)], Sizes({}), Limits(max_messages=5)) == Charge(0)


def test_the_message_cap_is_checked_before_any_quote() -> None:
    quote = Quote("1")
    with pytest.raises(LimitError, match="max_messages"):
        check_caps("INSERT", [Send(quote, direct=2)], Sizes({}), Limits(max_messages=1, max_cost=Decimal("5")))
    assert quote.calls == 1  # quoted with the count (charge_of), but refused on the count


def test_nothing_to_send_is_free_and_reads_nothing() -> None:
    sizes = Sizes({})
    assert check_caps("INSERT", [], sizes, Limits(max_messages=0, max_cost=Decimal("0"))) == Charge(0)
    assert sizes.calls == []


@pytest.mark.parametrize(("data", "total"), [({"total_price": 0.077}, Decimal("0.077")), ({"total_price": "1.5"}, Decimal("1.5")),
                                              ({"total_price": None}, Decimal(0)), ({}, Decimal(0)), ([], Decimal(0))])
def test_quoted_price_reads_total_price(data: object, total: Decimal) -> None:
    assert quoted_price(data) == total
