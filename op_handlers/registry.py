"""The registry: (domain, op_type) -> handlers by ``since_version``.

Version selection follows onnx: for a model whose opset for the domain is ``v``,
the handler with the highest ``since_version <= v`` is used.  Data-movement ops
(zero arithmetic, real memory traffic) are kept in their own explicit table, and
ops whose output aliases their input (views) in a third one, so that "costs no
arithmetic" is always a deliberate classification and an op with no entry is
reported as unsupported.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Optional, Sequence

from .base import Cost, NodeContext

Handler = Callable[[NodeContext], Cost]
#: A shape rule gives the outputs of an op onnx's own inference does not know:
#: ``rule(ctx) -> [(dtype, shape) or None per output]``.  ``ctx`` is the node's
#: context with its inputs resolved and its outputs not yet known.  Dims are ints
#: (or symbolic expressions); None for an output the rule cannot tell.
ShapeRule = Callable[[NodeContext], Sequence[Optional[tuple[str, Any]]]]

#: Domain aliases: ONNX spells the default domain "" or "ai.onnx".
_DOMAIN_ALIASES = {"ai.onnx": ""}


def norm_domain(domain: str | None) -> str:
    d = domain or ""
    return _DOMAIN_ALIASES.get(d, d)


@dataclass(frozen=True)
class Entry:
    domain: str
    op_type: str
    since_version: int
    fn: Handler
    kind: str  # "compute" | "data_movement" | "view" | "control_flow"
    formula: str
    #: output dtypes and shapes for ops onnx's inference does not know (contrib, custom)
    shape_rule: ShapeRule | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.domain, self.op_type)


class Registry:
    """Maps (domain, op_type) to version-ordered handler entries."""

    KINDS = ("compute", "data_movement", "view", "control_flow")

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], list[Entry]] = {}

    def add(
        self,
        op_type: str,
        fn: Handler,
        *,
        domain: str = "",
        since_version: int = 1,
        kind: str = "compute",
        formula: str = "",
        shape_rule: ShapeRule | None = None,
        override: bool = False,
    ) -> Entry:
        """Register ``fn`` for ``domain::op_type`` from ``since_version`` on.

        A second entry for the same op and version is an error unless ``override``
        is true, in which case it replaces the first (custom handlers do this)."""
        if kind not in self.KINDS:
            raise ValueError(f"unknown handler kind {kind!r}")
        domain = norm_domain(domain)
        entry = Entry(domain, op_type, since_version, fn, kind,
                      formula or (fn.__doc__ or "").strip().split("\n")[0], shape_rule)
        lst = self._entries.setdefault((domain, op_type), [])
        same = [e for e in lst if e.since_version == since_version]
        if same and not override:
            raise ValueError(f"duplicate handler for {domain or 'ai.onnx'}::{op_type} since {since_version}")
        for e in same:
            lst.remove(e)
        bisect.insort(lst, entry, key=lambda e: e.since_version)
        return entry

    def remove(self, entry: Entry) -> None:
        """Take ``entry`` out again (a custom handler registered for one profile)."""
        lst = self._entries.get(entry.key, [])
        if entry in lst:
            lst.remove(entry)
        if not lst:
            self._entries.pop(entry.key, None)

    def register(
        self,
        *op_types: str,
        domain: str = "",
        since_version: int = 1,
        kind: str = "compute",
        formula: str = "",
        shape_rule: ShapeRule | None = None,
    ) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add` for one or several op types."""

        def deco(fn: Handler) -> Handler:
            for op in op_types:
                self.add(op, fn, domain=domain, since_version=since_version, kind=kind, formula=formula,
                         shape_rule=shape_rule)
            return fn

        return deco

    def shape_rule(self, *op_types: str, domain: str = "") -> Callable[[ShapeRule], ShapeRule]:
        """Decorator: ``rule`` gives the output types of these ops (every registered
        version), for ops onnx's own inference does not know.  Written beside the ops'
        cost handlers, after them."""

        def deco(rule: ShapeRule) -> ShapeRule:
            for op in op_types:
                key = (norm_domain(domain), op)
                lst = self._entries.get(key)
                if not lst:
                    raise ValueError(f"shape rule for {domain or 'ai.onnx'}::{op}, which has no handler")
                self._entries[key] = [replace(e, shape_rule=rule) for e in lst]
            return rule

        return deco

    def lookup(self, domain: str, op_type: str, opset: int | None = None) -> Entry | None:
        """The entry with the highest ``since_version <= opset`` (or the oldest when
        the opset predates every entry, or the newest when the opset is unknown)."""
        lst = self._entries.get((norm_domain(domain), op_type))
        if not lst:
            return None
        if opset is None or opset <= 0:
            return lst[-1]
        chosen = lst[0]
        for e in lst:
            if e.since_version <= opset:
                chosen = e
        return chosen

    def __contains__(self, key: tuple[str, str]) -> bool:
        return (norm_domain(key[0]), key[1]) in self._entries

    def entries(self) -> Iterator[Entry]:
        for key in sorted(self._entries):
            yield from self._entries[key]

    def keys(self) -> list[tuple[str, str]]:
        return sorted(self._entries)

    def kind_of(self, domain: str, op_type: str) -> str | None:
        e = self.lookup(domain, op_type)
        return None if e is None else e.kind


#: The one registry the library uses; family modules register into it on import.
REGISTRY = Registry()
register = REGISTRY.register
shape_rule = REGISTRY.shape_rule
