"""The two event-data flows of the seed documents, in plain SQL over a JSONL file of events.

1. Datafly / RudderStack *identify* (and Datafly's "Signed Up"): upsert contacts into a list.
   Email trimmed and lower-cased, phone in E.164, consent in Custom1 as marketing_opt_in /
   marketing_opt_out / marketing_unknown; events with neither email nor phone are dropped, counted.
2. RudderStack *track*: an SMS to the contact's phone, or to a whole list (externalId
   CLICKSEND_CONTACT_LIST_ID), which ClickSend allows up to 20,000 contacts.

Run: ``python examples/seed_flows.py`` (the demo emulator; no account needed), or pass
``--list-id`` and set CLICKSEND_USERNAME / CLICKSEND_API_KEY to run it against your account.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import clicksend_sql

EVENTS = Path(__file__).with_name("events.jsonl")

IDENTIFIED = """
CREATE OR REPLACE TEMP TABLE identified AS
SELECT
    lower(trim(traits.email))                  AS email,
    e164(traits.phone, country := traits.country) AS phone,
    traits.first_name                          AS first_name,
    traits.last_name                           AS last_name,
    traits.company                             AS company,
    traits.country                             AS country,
    CASE traits.marketing_consent WHEN true THEN 'marketing_opt_in' WHEN false THEN 'marketing_opt_out'
         ELSE 'marketing_unknown' END          AS consent
FROM read_json($events, format = 'newline_delimited', union_by_name = true)
WHERE type = 'identify' OR event = 'Signed Up'
"""

ENROLL = """
INSERT INTO Contacts (ListId, Email, PhoneNumber, FirstName, LastName, OrganizationName, AddressCountry, Custom1)
SELECT $list, email, phone, first_name, last_name, company, country, consent
FROM identified WHERE email IS NOT NULL OR phone IS NOT NULL
ON CONFLICT (Email) DO UPDATE SET
    FirstName = coalesce(excluded.FirstName, FirstName),
    LastName = coalesce(excluded.LastName, LastName),
    PhoneNumber = coalesce(excluded.PhoneNumber, PhoneNumber),
    Custom1 = excluded.Custom1
"""

NOTIFY = """
INSERT INTO SMSHistory ("To", ListId, Body, "From", CustomString)
SELECT
    e164(context.traits.phone, country := context.traits.country),
    TRY_CAST(list_filter(context.externalId, x -> x.type = 'CLICKSEND_CONTACT_LIST_ID')[1].id AS BIGINT),
    properties.body,
    properties."from",
    properties.custom_string
FROM read_json($events, format = 'newline_delimited', union_by_name = true)
WHERE type = 'track' AND event <> 'Signed Up'
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list-id", type=int, help="the contact list to enroll into (default: the demo's first list)")
    parser.add_argument("--events", default=str(EVENTS), help="a JSONL file of identify/track events")
    args = parser.parse_args()
    demo = args.list_id is None
    with clicksend_sql.connect(demo=demo, default_country="US") as con:
        list_id = args.list_id or con.sql("SELECT min(ListId) FROM ContactLists").fetchone()[0]
        con.sql(IDENTIFIED, {"events": args.events})
        dropped = con.sql("SELECT count(*) FROM identified WHERE email IS NULL AND phone IS NULL").fetchone()[0]
        enrolled = con.sql(ENROLL, {"list": list_id})
        statuses = enrolled.arrow().column("status").to_pylist()
        print(f"identify: {statuses.count('ok')} contact(s) upserted into list {list_id}, {dropped} event(s) dropped "
              f"(no email or phone), {statuses.count('skipped')} skipped, "
              f"{len(statuses) - statuses.count('ok') - statuses.count('skipped')} failed (see status)")
        print(enrolled.arrow().select(["row", "key", "status", "error"]).to_pandas().to_string(index=False))
        sent = con.sql(NOTIFY, {"events": args.events})
        sent_statuses = sent.arrow().column("status").to_pylist()
        print(f"track: {sent_statuses.count('ok')} SMS sent, {len(sent_statuses) - sent_statuses.count('ok')} failed (see status)")
        print(sent.arrow().select(["row", "status", "message_id", "custom_string", "price"]).to_pandas().to_string(index=False))


if __name__ == "__main__":
    main()
