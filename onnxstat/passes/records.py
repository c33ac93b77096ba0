"""The records of the handler pass: the additive counts, one node's cost, the pass's output."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: the additive cost counts every node, op-type row and total carries
COUNT_FIELDS = ("macs", "flops", "params", "weight_bytes", "bytes_read", "bytes_written")


@dataclass(kw_only=True)
class Counts:
    """MACs, FLOPs, params, weight bytes and memory traffic (exact integers or symbolic)."""

    macs: Any = 0
    flops: Any = 0
    params: Any = 0
    weight_bytes: Any = 0
    bytes_read: Any = 0
    bytes_written: Any = 0

    @property
    def memory_traffic_bytes(self) -> Any:
        return self.bytes_read + self.bytes_written

    def counts_dict(self) -> dict[str, Any]:
        """The six counts and their sum, memory_traffic_bytes, by name."""
        d = {f: getattr(self, f) for f in COUNT_FIELDS}
        d["memory_traffic_bytes"] = self.memory_traffic_bytes
        return d

    def add(self, other: "Counts") -> None:
        for f in COUNT_FIELDS:
            setattr(self, f, getattr(self, f) + getattr(other, f))


@dataclass
class NodeCost(Counts):
    """A node with its cost, as the reports show it."""

    name: str
    path: str
    domain: str
    op_type: str
    kind: str  # compute | data_movement | view | control_flow | unsupported
    compute_dtype: str
    inputs: list[tuple[str, str, tuple | None]]
    outputs: list[tuple[str, str, tuple | None]]
    repeat: Any = 1
    weights: list[tuple[str, str, Any, Any]] = field(default_factory=list)  # (key, dtype, numel, nbytes)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    #: its cost is not known: shapes it needs, or its trip count, could not be resolved
    unresolved: bool = False

    @property
    def supported(self) -> bool:
        return self.kind != "unsupported"


@dataclass
class Analysis:
    nodes: list[NodeCost] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unsupported: Counter = field(default_factory=Counter)


__all__ = ["COUNT_FIELDS", "Analysis", "Counts", "NodeCost"]
