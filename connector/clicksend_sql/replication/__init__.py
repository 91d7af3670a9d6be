"""Copies of a ClickSend account in other databases, through dlt: incremental replication
(:func:`replicate`, :func:`dlt_source`) and two-way Contacts sync."""

from .runner import ReplicationReport, TableReport, replicate
from .source import dlt_source
from .two_way_sync import SyncReport, sync

__all__ = ["ReplicationReport", "SyncReport", "TableReport", "dlt_source", "replicate", "sync"]
