"""What can be listened to: inbound SMS and SMS delivery receipts, declared as data.

Each kind names the catalog table its rows have (so a batch has that table's columns and types),
the rules table whose POLL or URL rule makes ClickSend hand the events over, the rule's values,
and how events are marked read once processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

MatchType = Literal["any", "starts with", "contains", "does not contain"]
MATCH_TYPES: dict[str, int] = {"any": 0, "starts with": 1, "contains": 2, "does not contain": 3}  # message_search_type


@dataclass(frozen=True)
class EventKind:
    """One kind of event a listener takes."""

    name: str  # the table the statement reads each batch as
    table: str  # the catalog table of its rows
    rules: str  # the catalog table of the automation rules that deliver it
    rule_key: str  # that table's key column
    mark_read: str  # the procedure that marks events read: everything before a date_before (Unix seconds)
    time_column: str  # when the event happened
    filters: bool  # whether the rule (and the listener) filter by number and body
    identity: tuple[str, ...]  # what makes two events the same (a message has several receipts: one per status)

    def ids(self, events: pa.Table) -> list[str]:
        """Each event's identity as one string (for the inbox and the done-list).

        >>> RECEIPTS.ids(pa.table({"MessageId": ["A"], "StatusCode": [201], "Timestamp": [5]}))
        ['A|201|5']
        """
        columns = [events.column(c).to_pylist() for c in self.identity]
        return ["|".join("" if v is None else str(v) for v in values) for values in zip(*columns, strict=True)]

    def rule(self, action: str, address: str, number: str, match: MatchType, term: str, webhook_type: str) -> dict[str, Any]:
        """The columns of the rule that delivers this kind to ``address`` (``POLL`` or ``URL``).

        >>> INBOUND.rule("POLL", "poll", "*", "contains", "stop", "json")["MessageSearchType"]
        2
        >>> sorted(RECEIPTS.rule("URL", "https://x", "*", "any", "", "post"))
        ['Action', 'ActionAddress', 'Enabled', 'MatchType', 'RuleName']
        """
        common = {"RuleName": f"clicksend-sql listen ({self.name})", "Action": action, "ActionAddress": address,
                  "Enabled": True}
        if not self.filters:
            return {**common, "MatchType": 0}
        return {**common, "DedicatedNumber": number, "MessageSearchType": MATCH_TYPES[match],
                "MessageSearchTerm": term, "WebhookType": webhook_type}


INBOUND = EventKind("inbound", "InboundSMS", "InboundSMSRules", "InboundRuleId", "MarkInboundSMSAsRead", "Timestamp", True,
                    ("MessageId",))
RECEIPTS = EventKind("receipts", "SMSReceipts", "SMSDeliveryReceiptRules", "ReceiptRuleId", "MarkSMSReceiptAsRead",
                     "Timestamp", False, ("MessageId", "StatusCode", "Timestamp"))


def matches(kind: EventKind, number: str, match: MatchType, term: str, to: str | None, body: str | None) -> bool:
    """Whether an event passes the listener's filters (other POLL rules may list more than ours asks for).

    Numbers compare as digits; the search term case-insensitively, as ClickSend's rule matching is
    described (keyword search).

    >>> matches(INBOUND, "*", "starts with", "STOP", "+61411", "stop please")
    True
    >>> matches(INBOUND, "+61 411", "any", "", "61411", "x"), matches(INBOUND, "*", "does not contain", "x", "1", "xyz")
    (True, False)
    """
    if not kind.filters:
        return True
    if number != "*" and _digits(number) != _digits(to or ""):
        return False
    text, wanted = (body or "").lower(), term.lower()
    return {"any": True, "starts with": text.startswith(wanted), "contains": wanted in text,
            "does not contain": wanted not in text}[match]


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())
