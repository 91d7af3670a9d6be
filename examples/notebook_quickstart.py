"""A notebook-style tour against the built-in emulator: run with `python examples/notebook_quickstart.py`."""

import clicksend_sql

with clicksend_sql.connect(demo=True) as con:
    print(con.sql("SELECT TableName, CanInsert, CanUpdate, CanDelete FROM sys_tables ORDER BY 1 LIMIT 10"))
    lists = con.sql("SELECT ListId, ListName, ContactsCount FROM ContactLists ORDER BY ContactsCount DESC")
    print(lists)
    first = lists.fetchone()[0]
    print(con.sql("EXPLAIN SELECT * FROM Contacts WHERE ListId = ? AND UpdatedDate >= '2025-09-01'", [first]))
    recent = con.sql("SELECT FirstName, LastName, PhoneNumber FROM Contacts WHERE ListId = ? LIMIT 5", [first])
    print(recent, recent.stats)
    con.sql("COPY (SELECT * FROM SMSHistory WHERE Status = 'Failed') TO 'failed_sms.csv' (HEADER)")
    print("wrote failed_sms.csv:", con.duckdb.sql("SELECT count(*) FROM 'failed_sms.csv'").fetchall()[0][0], "rows")
