"""What the shape pass produces and where it keeps it: ``Shapes`` (the result: types
and folded values per graph scope) and ``_Scope`` (one graph's types and values over
those of its enclosing graphs, while the pass runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..model.graph import GraphView
from .fold import tensor_value
from .value_types import ValueType, raw_type


@dataclass
class Shapes:
    """Resolved types per graph scope ("" = main graph, subgraphs by path)."""

    scopes: dict[str, dict[str, ValueType]] = field(default_factory=dict)
    #: folded values of the main graph (small tensors: shape arithmetic, flags)
    values: dict[str, Any] = field(default_factory=dict)
    #: folded values of subgraph scopes, by scope path
    scope_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: list[tuple[str, str, tuple]] = field(default_factory=list)
    outputs: list[tuple[str, str, tuple | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: unresolved dim label -> where it was first seen ("input 'x'", "tensor t[2]")
    unresolved: dict[str, str] = field(default_factory=dict)
    source: str = "onnx"
    dims: dict[str, int] = field(default_factory=dict)
    #: symbolic input dims the caller did not set, and the value used for them
    defaulted_dims: dict[str, int] = field(default_factory=dict)
    #: --dim names that matched nothing in the model
    unknown_dims: list[str] = field(default_factory=list)
    #: the symbolic dim names of the model's inputs
    model_dims: list[str] = field(default_factory=list)
    #: the main graph's validated view, built once and reused by the analysis
    view: Any = None
    #: If branches that are statically not taken (their shapes do not matter)
    dead_scopes: set = field(default_factory=set)
    #: subgraph scope -> enclosing scope (recorded while resolving; node names may contain "/")
    parents: dict[str, str] = field(default_factory=dict)
    #: control-flow facts by node path: {"trip": int | None, "exact": bool, "how": str}
    control: dict[str, dict] = field(default_factory=dict)

    def lookup(self, path: str, name: str) -> ValueType | None:
        """The type of ``name`` seen from scope ``path``: the innermost scope that
        defines it with a fully known type, else the innermost one at all."""
        first = None
        while True:
            scope = self.scopes.get(path)
            if scope is not None and name in scope:
                vt = scope[name]
                if vt.known:
                    return vt
                first = first or vt
            if not path:
                return first
            path = self.parents.get(path, "")

    def value(self, path: str, name: str) -> Any:
        """The folded value of ``name`` seen from scope ``path`` (None when not known)."""
        while True:
            vals = self.values if not path else self.scope_values.get(path, {})
            if name in vals:
                return vals[name]
            scope = self.scopes.get(path)
            if path and scope is not None and name in scope:
                return None  # defined in this scope without a known value
            if not path:
                return None
            path = self.parents.get(path, "")

class _Scope:
    """The types and folded values one graph defines, over those of its enclosing graphs."""

    __slots__ = ("parent", "path", "types", "raw", "values", "inits", "depth", "defined")

    def __init__(self, parent: "_Scope | None", path: str, inits: Mapping[str, Any], defined: frozenset = frozenset()):
        self.parent = parent
        self.path = path
        self.types: dict[str, ValueType] = {}
        self.raw: dict[str, bytes] = {}  # serialized TypeProto of types onnx gave (sequences, optionals)
        self.values: dict[str, Any] = {}
        self.inits = inits  # initializer protos, converted to values on first use
        self.depth = 0 if parent is None else parent.depth + 1
        self.defined = defined  # every name the graph defines, typed or not (for validating subgraphs)

    def where(self, name: str) -> "_Scope | None":
        s = self
        while s is not None:
            if name in s.types:
                return s
            s = s.parent
        return None

    def type(self, name: str) -> ValueType | None:
        s = self.where(name)
        return None if s is None else s.types[name]

    def raw_type(self, name: str) -> bytes | None:
        s = self.where(name)
        if s is None:
            return None
        raw = s.raw.get(name)
        return raw if raw is not None else raw_type(s.types[name])

    def value(self, name: str) -> Any:
        s = self.where(name)
        if s is None:
            return None
        if name in s.values:
            return s.values[name]
        t = s.inits.get(name)
        if t is None:
            return None
        v = tensor_value(t)
        s.values[name] = v
        return v

    def set(self, name: str, vt: ValueType, raw: bytes | None = None) -> None:
        self.types[name] = vt
        if raw is not None and vt.shape is None:
            self.raw[name] = raw  # a sequence, an optional: keep onnx's own type for its consumers

    def names(self) -> set[str]:
        out: set[str] = set()
        s = self
        while s is not None:
            out |= s.types.keys()
            out |= s.defined
            s = s.parent
        return out

def _view_names(view: GraphView) -> frozenset:
    return frozenset(view.producer) | frozenset(view.initializers) | frozenset(i.name for i in view.graph.input)
