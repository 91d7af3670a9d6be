"""A PostgreSQL wire-protocol (v3) server over a connection: ``psql``, drivers and BI tools query
ClickSend tables live (with the same pushdown) and local DuckDB tables beside them.

``clicksend-sql serve`` runs it; from Python::

    with clicksend_sql.connect(demo=True) as con, Server(con, password="...", port=0) as server:
        ...  # connect to 127.0.0.1:server.port

Modules: ``codec`` (messages), ``types`` (OIDs and value formats), ``statements`` (kinds and
tags), ``catalog_queries`` (pg_catalog for DuckDB), ``auth`` (SCRAM, loopback), ``sqlstate``
(error codes), ``server`` (sessions), ``cli`` (the command).
"""

from .server import Server

__all__ = ["Server"]
