"""Match request paths against the operations' path templates.

ClickSend routes are templates such as ``/lists/{list_id}/contacts``. A literal segment always
beats a ``{param}`` segment at the same depth (``/sms/cancel-all`` is not ``/sms/{message_id}``),
with backtracking so a literal branch that dead-ends still falls back to the parameter branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


def split_path(path: str) -> list[str]:
    """Segments of a path; trailing and doubled slashes do not matter (``/referral/accounts/``)."""
    return [s for s in path.split("/") if s]


@dataclass
class _Node(Generic[T]):
    literals: dict[str, _Node[T]] = field(default_factory=dict)
    param: _Node[T] | None = None
    # method -> (target, parameter names in path order); names live on the route because
    # templates sharing a node may name the same position differently ({list_id}, {from_list_id})
    routes: dict[str, tuple[T, tuple[str, ...]]] = field(default_factory=dict)


class Router(Generic[T]):
    """A segment trie from (method, template) to a target.

    >>> r = Router[str]()
    >>> r.add("PUT", "/sms/{message_id}/cancel", "one")
    >>> r.add("PUT", "/sms/cancel-all", "all")
    >>> r.match("PUT", "/sms/cancel-all")
    ('all', {})
    >>> r.match("PUT", "/sms/ABC/cancel")
    ('one', {'message_id': 'ABC'})
    >>> r.match("GET", "/sms/cancel-all") is None
    True
    """

    def __init__(self) -> None:
        self._root: _Node[T] = _Node()

    def add(self, method: str, template: str, target: T) -> None:
        node = self._root
        names: list[str] = []
        for seg in split_path(template):
            if seg.startswith("{") and seg.endswith("}"):
                if node.param is None:
                    node.param = _Node()
                node = node.param
                names.append(seg[1:-1])
            else:
                node = node.literals.setdefault(seg, _Node())
        node.routes[method.upper()] = (target, tuple(names))

    def match(self, method: str, path: str) -> tuple[T, dict[str, str]] | None:
        """The target and path parameters, or None (unknown path or method: both are a 404)."""
        segments = split_path(path)
        return self._walk(self._root, segments, 0, method.upper(), [])

    def _walk(
        self, node: _Node[T], segs: list[str], i: int, method: str, values: list[str]
    ) -> tuple[T, dict[str, str]] | None:
        if i == len(segs):
            route = node.routes.get(method)
            return (route[0], dict(zip(route[1], values))) if route is not None else None
        child = node.literals.get(segs[i])
        if child is not None:
            found = self._walk(child, segs, i + 1, method, values)
            if found is not None:
                return found
        if node.param is not None:
            values.append(segs[i])
            found = self._walk(node.param, segs, i + 1, method, values)
            values.pop()
            return found
        return None
