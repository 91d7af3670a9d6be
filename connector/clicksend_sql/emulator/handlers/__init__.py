"""Stateful handlers by route; importing the package registers them all in ``ROUTES``."""

from . import crud  # noqa: F401  (generic handlers first: the specific modules override some)
from . import account, campaigns, contacts, messages, senders  # noqa: F401
from .base import PRECHECKS, ROUTES, Ctx, Handler, Reply, precheck, route

__all__ = ["PRECHECKS", "ROUTES", "Ctx", "Handler", "Reply", "precheck", "route"]
