"""The ai.onnx control-flow ops: If, Loop, Scan, SequenceMap.

Their entries have ``kind="control_flow"``: the handler pass, seeing that kind, does not
count them through their handler but expands their bodies
(onnxstat/passes/control_flow.py, after the shape pass has resolved the bodies in
onnxstat/shapes/control_flow.py).  An If counts the branch taken when its condition
is static, else the costlier branch; a Loop, Scan or SequenceMap counts its body
times the iteration count when it is known statically, else one iteration, with a
warning.  The nodes of a body are counted by their own handlers, as in the main graph.
How many times a body runs is written per op there (If, Loop, Scan, SequenceMap); the
shape pass knows If, Loop and Scan by name and resolves other bodies generically.

The handler below is the node's own record: no arithmetic and no traffic of its own
(its inputs and outputs are read and written by the body's nodes).  The formulas are
what ``onnxstat ops`` shows; docs/conventions.md has the rules.
"""

from __future__ import annotations

from ..base import Cost, NodeContext
from ..registry import register


def _control_node(ctx: NodeContext) -> Cost:
    """The control node itself: no arithmetic, no traffic (its subgraph's nodes carry the cost)."""
    return ctx.cost(0, 0, weights=(), bytes_read=0, bytes_written=0, compute_dtype="none")


register("If", kind="control_flow",
         formula="branch taken when the condition is static, else the costlier one")(_control_node)
register("Loop", kind="control_flow",
         formula="body × trip count (static M), else one iteration + warning")(_control_node)
register("Scan", since_version=8, kind="control_flow",
         formula="body × sequence length (× batch for opset 8)")(_control_node)
register("SequenceMap", since_version=17, kind="control_flow",
         formula="body × sequence length when static, else once + warning")(_control_node)
