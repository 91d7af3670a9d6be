"""How the seeded rows relate, so that the demo account tells one consistent story.

Each resource's rows are generated on their own (resources.py); this module then ties them
together the way they are tied on a real account:

* a delivery receipt belongs to a delivered message and arrives seconds after it;
* a reply answers a delivered message that was sent from a number (an alpha sender cannot be
  answered), minutes to days after it was sent, from the number it went to, to the number it
  came from; inbound messages beyond those answer nothing (their ``original_*`` fields are
  empty), like a text to the number out of the blue;
* in every list one contact who had been messaged answered STOP, and is marked ``unsubscribed``
  (``custom_1``) from the moment the answer came: the rows README's DELETE example removes (a list
  whose contacts were all added after the answered messages has none).

Nothing happens after the end of the history (the start of ``today``).
"""

from __future__ import annotations

import math
import random

from . import fake, messaging
from .state import Row, Store, Table

RECEIPT_DELAY_S = 7
REPLY_DELAY_S = (2 * 60, 3 * fake.DAY)  # a reply comes minutes to days after the message it answers
OPTED_OUT = "unsubscribed"  # custom_1 of a contact who answered STOP


def tell(store: Store, rng: random.Random, end: int) -> None:
    """Tie the seeded receipts, replies and contacts to the seeded history (see the module docstring)."""
    delivered = [h for h in reversed(store.table("sms-history", "message_id").rows()) if h["status_code"] == "201"]
    _receipts(store, [h for h in delivered if h["date"] + RECEIPT_DELAY_S < end])
    answerable = [h for h in delivered if h["from"].startswith("+") and h["date"] + REPLY_DELAY_S[0] < end]
    _opt_outs(store, rng, _replies(store, rng, answerable, end))


def _receipts(store: Store, delivered: list[Row]) -> None:
    """The receipts belong to the most recent delivered messages, newest first."""
    receipts = store.tables["sms-receipts"]
    for receipt, sent in zip(list(receipts), delivered):
        receipts.remove(receipt["message_id"])
        receipt.update(message_id=sent["message_id"], timestamp_send=sent["date"],
                       timestamp=sent["date"] + RECEIPT_DELAY_S, custom_string=sent["custom_string"])
        receipts.add(receipt)


def _replies(store: Store, rng: random.Random, answerable: list[Row], end: int) -> list[tuple[Row, Row]]:
    """Each inbound message answers every third answerable message, newest first; returns the
    (reply, message answered) pairs. The table is then ordered by arrival, like the others."""
    originals = answerable[::3]
    pairs: list[tuple[Row, Row]] = []
    for number, reply in enumerate(store.tables["inbound-sms"]):
        if number >= len(originals):
            reply.update(original_message_id="", original_body="", custom_string="")
            continue
        sent = originals[number]
        at = sent["date"] + _reply_delay(rng, end - 1 - sent["date"])
        reply.update({"timestamp": at, "timestamp_send": at, "from": sent["to"], "to": sent["from"],
                      "original_message_id": sent["message_id"], "original_body": sent["body"],
                      "custom_string": sent["custom_string"]})
        pairs.append((reply, sent))
    arrived = Table("message_id")
    for reply in sorted(store.tables["inbound-sms"], key=lambda r: int(r["timestamp"])):
        arrived.add(reply)
    store.tables["inbound-sms"] = arrived
    return pairs


def _reply_delay(rng: random.Random, room: int) -> int:
    """Seconds between a message and its reply: log-uniform over minutes to days, at most ``room``."""
    low, high = REPLY_DELAY_S[0], min(REPLY_DELAY_S[1], room)
    return min(high, max(low, round(math.exp(rng.uniform(math.log(low), math.log(high))))))


def _opt_outs(store: Store, rng: random.Random, pairs: list[tuple[Row, Row]]) -> None:
    """In each list, a contact added before one of the answered messages (and in its country,
    so its price and carrier still hold) becomes that message's recipient and its reply a STOP."""
    free = list(pairs)
    for lst in store.table("lists", "list_id").rows():
        contacts = list(store.list_contacts(lst["list_id"]))
        for reply, sent in free:
            messaged = [c for c in contacts if c["date_added"] < sent["date"] and c["address_country"] == sent["country"]]
            if messaged:
                break
        else:
            continue
        free.remove((reply, sent))
        contact = rng.choice(messaged)
        sent.update(to=contact["phone_number"], first_name=contact["first_name"], last_name=contact["last_name"],
                    contact_id=str(contact["contact_id"]), list_id=str(lst["list_id"]))
        reply.update({"from": contact["phone_number"], "body": "STOP", "_keyword": messaging.keyword("STOP")})
        contact.update(custom_1=OPTED_OUT, date_updated=reply["timestamp"])
