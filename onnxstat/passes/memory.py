"""Memory: weight bytes and peak activation memory from a liveness pass.

The pass walks ``res.nodes`` (topological order) once and assigns every
activation tensor a *birth* step (the node that writes it) and a *death* step
(its last consumer).  The bytes live *after* node ``i`` are the sizes of all
tensors with ``birth <= i <= death``; the peak is the largest of these.

Rules (docs/roofline.md repeats them):

* **Activations** are graph inputs and tensors written by nodes.  Initializers,
  outer-scope weights and the outputs of ``Constant`` nodes are weights, not
  activations: they never count here (they are ``totals.weight_bytes``).
* **Graph inputs** are live from the start (before the first node); **graph
  outputs** stay live until the end (after the last node).
* A tensor nobody reads is live only at the step that writes it.
* **Views** (``kind == "view"``: Reshape, Squeeze, Unsqueeze, Flatten,
  Identity, Dropout in inference, ...) alias their first input: output 0 is the
  same buffer, so it adds no bytes; the buffer stays live until the last use of
  any of its aliases.  A view of a weight is a weight.  Other outputs of a view
  node (Dropout's mask) are new tensors.
* **Control flow** (If/Loop/Scan): the nodes of the branch or body taken follow
  their parent in ``res.nodes`` and execute *inside* it.  The parent spans the
  steps from itself to its last body node: its inputs, and any outer tensor a
  body node reads, stay live until the end of that span (a loop reads them again
  on every iteration); its outputs are written at the end of the span.  Tensors
  made inside a body live by the same rules within it.  A subgraph node is
  recognised by its path starting with ``<parent path>/`` right after a
  ``control_flow`` node, not by a ``/`` alone (exported node names often contain
  ``/``).
* Sizes are ``numel x dtype bits / 8`` (sub-byte types round up).  A tensor
  whose shape or dtype is unknown, or whose size is symbolic, counts 0 bytes
  and is listed in ``unknown_tensors``; the peak is then a lower bound
  (``complete`` is False).

The pass is linear in nodes + tensor uses: producer/last-use maps are built
once and the timeline comes from a difference array.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from op_handlers.base import DTYPE_BITS, nbytes as _nbytes, prod

from ..result import ProfileResult

#: view ops whose output is not an alias of their input
NON_ALIAS_VIEWS = frozenset({"Constant", "OptionalHasElement"})


@dataclass
class MemoryResult:
    """Peak activation memory and the liveness timeline.

    ``timeline[i]``: activation bytes live after ``res.nodes[i]`` runs.
    ``live_tensors``: (name, bytes) of the buffers live at the peak, largest first
    (an aliased buffer is listed under the name of the tensor that was written).
    """

    peak_bytes: int
    peak_at_node: str | None
    live_tensors: list[tuple[str, int]]
    timeline: list[int]
    weight_bytes: Any = 0
    input_bytes: int = 0
    unknown_tensors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unknown_tensors

    @property
    def total_bytes(self) -> Any:
        """Weights + peak activations: a lower bound on the memory inference needs."""
        try:
            return self.weight_bytes + self.peak_bytes
        except TypeError:
            return None

    def to_dict(self, live_limit: int = 20) -> dict:
        from ..result import jsonable

        return jsonable(
            {
                "weight_bytes": self.weight_bytes,
                "peak_activation_bytes": self.peak_bytes,
                "peak_at_node": self.peak_at_node,
                "weights_plus_peak_activation_bytes": self.total_bytes,
                "live_at_peak": [{"name": n, "bytes": b} for n, b in self.live_tensors[:live_limit]],
                "live_at_peak_count": len(self.live_tensors),
                "complete": self.complete,
                "unknown_tensors": list(self.unknown_tensors),
            }
        )


def tensor_bytes(dtype: str, shape) -> int | None:
    """Exact bytes of a tensor, or None when its shape/dtype/size is not concretely known."""
    if shape is None or dtype not in DTYPE_BITS:
        return None
    try:
        numel = prod(shape)
        b = _nbytes(numel, dtype)
        return int(b) if int(b) == b and b >= 0 else None
    except (TypeError, ValueError):
        return None


def _spans(res: ProfileResult) -> tuple[list[int], list[tuple[int, ...]]]:
    """End step of each node's span (itself, or its last body node) and its control-flow ancestors."""
    nodes = res.nodes
    n = len(nodes)
    end = list(range(n))
    ancestors: list[tuple[int, ...]] = [()] * n
    stack: list[int] = []
    for i, node in enumerate(nodes):
        while stack and not node.path.startswith(nodes[stack[-1]].path + "/"):
            top = stack.pop()
            end[top] = i - 1
        ancestors[i] = tuple(stack)
        if node.kind == "control_flow":
            stack.append(i)
    while stack:
        top = stack.pop()
        end[top] = n - 1
    return end, ancestors


def _timeline(n: int, buf_bytes: list[int], birth: list[int], death: list[int]) -> tuple[int, list[int]]:
    """Bytes live before the first node (the inputs) and at each of the ``n`` steps: a
    difference array over steps -1 .. n-1 (index + 1)."""
    diff = [0] * (n + 2)
    for b in range(len(buf_bytes)):
        diff[birth[b] + 1] += buf_bytes[b]
        d = min(death[b], n - 1)
        diff[d + 2] -= buf_bytes[b]
    running = diff[0]
    input_bytes = running
    timeline: list[int] = []
    for i in range(n):
        running += diff[i + 1]
        timeline.append(running)
    return input_bytes, timeline


def _result(res: ProfileResult, buf_name: list[str], buf_bytes: list[int], birth: list[int], death: list[int],
            input_bytes: int, timeline: list[int], unknown: list[str]) -> MemoryResult:
    """The peak, where it is, and what is live there."""
    nodes = res.nodes
    n = len(nodes)
    if n == 0:
        live = sorted(((buf_name[b], buf_bytes[b]) for b in range(len(buf_name))), key=lambda t: (-t[1], t[0]))
        return MemoryResult(input_bytes, None, live, [], res.totals.weight_bytes, input_bytes, unknown)
    peak = max(timeline)
    at = timeline.index(peak)
    if input_bytes > peak:  # cannot happen (inputs live at least until step 0) but keep it honest
        peak, at = input_bytes, 0
    live = [
        (buf_name[b], buf_bytes[b])
        for b in range(len(buf_name))
        if birth[b] <= at <= death[b]
    ]
    live.sort(key=lambda t: (-t[1], t[0]))
    return MemoryResult(
        peak_bytes=peak,
        peak_at_node=nodes[at].path,
        live_tensors=live,
        timeline=timeline,
        weight_bytes=res.totals.weight_bytes,
        input_bytes=input_bytes,
        unknown_tensors=unknown,
    )


def peak_activation(res: ProfileResult) -> MemoryResult:
    """Peak activation memory of ``res`` (see the module docstring for the rules).

    size: one walk over the nodes whose closures share the buffer tables (names, bytes,
    birth, death, scope); split further, every part would take all of them."""
    nodes = res.nodes
    n = len(nodes)
    end, ancestors = _spans(res)

    # buffer id -> (name, bytes, birth, producer ancestors); tensor name -> buffer id
    buf_name: list[str] = []
    buf_bytes: list[int] = []
    birth: list[int] = []
    death: list[int] = []
    buf_scope: list[tuple[int, ...]] = []
    root: dict[str, int] = {}
    weights: set[str] = set()
    unknown: list[str] = []

    sizes: dict = {}  # (dtype, shape) -> bytes: a graph has few distinct tensor types

    def new_buffer(name: str, dtype: str, shape, step: int, scope: tuple[int, ...]) -> None:
        key = (dtype, shape)
        try:
            b = sizes[key]
        except KeyError:
            b = sizes[key] = tensor_bytes(dtype, shape)
        except TypeError:  # an unhashable dim
            b = tensor_bytes(dtype, shape)
        if b is None:
            unknown.append(name)
            b = 0
        root[name] = len(buf_name)
        buf_name.append(name)
        buf_bytes.append(b)
        birth.append(step)
        death.append(step)
        buf_scope.append(scope)

    for name, dtype, shape in res.inputs:
        new_buffer(name, dtype, shape, -1, ())

    def use_step(j: int, b: int) -> int:
        """Step up to which a use by node ``j`` keeps buffer ``b`` alive."""
        step = end[j]  # a control-flow node reads its inputs during its whole span
        anc = ancestors[j]
        scope = buf_scope[b]
        k = len(scope)
        if len(anc) > k and anc[:k] == scope:
            # read from inside a body made outside it: live until the outermost such parent ends
            step = max(step, end[anc[k]])
        return step

    for i, node in enumerate(nodes):
        # uses first (a node reads before it writes)
        for name, _dtype, _shape in node.inputs:
            if not name:
                continue
            b = root.get(name)
            if b is None:
                continue  # weight, initializer, constant or unknown outer value
            s = use_step(i, b)
            if s > death[b]:
                death[b] = s
        born = end[i]  # control-flow outputs appear when the span ends
        scope = ancestors[i]
        is_view = node.kind == "view" and node.op_type not in NON_ALIAS_VIEWS
        for k, (name, dtype, shape) in enumerate(node.outputs):
            if not name:
                continue
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                weights.add(name)
                continue
            if is_view and k == 0 and node.inputs:
                src = node.inputs[0][0]
                if src in root:
                    root[name] = root[src]
                    continue
                if src:  # view of a weight/constant is a weight
                    weights.add(name)
                    continue
            new_buffer(name, dtype, shape, born, scope)

    last = n  # "after the last node": graph outputs survive every step
    for name, _dtype, _shape in res.outputs:
        b = root.get(name)
        if b is not None:
            death[b] = last

    input_bytes, timeline = _timeline(n, buf_bytes, birth, death)
    return _result(res, buf_name, buf_bytes, birth, death, input_bytes, timeline, unknown)


__all__ = ["MemoryResult", "peak_activation", "tensor_bytes"]
