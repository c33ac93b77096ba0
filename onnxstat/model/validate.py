"""Node checks against the schema and the static shapes, run before shape resolution.

The loader (:mod:`onnxstat.model.graph`) checks what every schema states: input and
output counts, required attributes, attribute types.  This module checks what
needs the attribute's *value* or the weights' dims, where a wrong value would
otherwise be counted as something else or crash deep inside shape inference or
a handler:

* an op that the installed onnx knows, but not at the model's declared opset
  (``Gelu`` under ai.onnx opset 17: it exists from opset 20): an error, as
  onnx's checker and onnxruntime also refuse such a model;
* ``group`` of Conv, ConvTranspose, ConvInteger, QLinearConv and DeformConv:
  a positive integer that divides the weight's channels and, where the input's
  channels are declared, matches them;
* window attributes of convolutions and pools: ``strides``, ``dilations`` and
  ``kernel_shape`` positive, ``pads`` not negative;
* ``Scan``: ``num_scan_inputs`` between 1 and the number of inputs, and the
  axis and direction lists as long as the inputs and outputs they describe.

Every problem raises :class:`ModelError` naming the node (and the subgraph it
is in).
"""

from __future__ import annotations

from functools import lru_cache

from typing import Mapping

from . import _onnx as ox
from ..errors import ModelError
from .graph import subgraphs

_ONNX_DOMAINS = {"": "", "ai.onnx": ""}

#: op -> index of its weight input
_GROUPED = {
    "Conv": 1,
    "ConvInteger": 1,
    "QLinearConv": 3,
    "DeformConv": 1,
    "ConvTranspose": 1,
}
_WINDOWED = frozenset({
    "Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "DeformConv", "AveragePool", "MaxPool", "LpPool",
    "MaxUnpool", "QLinearAveragePool",
})


def _label(node: ox.NodeProto, index: int) -> str:
    name = node.name or f"{node.op_type}_{index}"
    return f"node {name!r} ({node.op_type})"


def _attrs(node: ox.NodeProto) -> dict:
    return {a.name: a for a in node.attribute}


def _newest_since(op_type: str, domain: str) -> int | None:
    """The opset an op first appears in, per the installed onnx (None: onnx does not know it)."""
    try:
        newest = ox.get_schema(op_type, ox.opset_version(domain), domain)
    except Exception:  # noqa: BLE001 - unknown op
        return None
    first = newest.since_version
    # walk back to the op's first version
    while first > 1:
        try:
            older = ox.get_schema(op_type, first - 1, domain)
        except Exception:  # noqa: BLE001
            break
        first = older.since_version
    return first


@lru_cache(maxsize=4096)
def _at_opset(op_type: str, opset: int, domain: str) -> bool:
    try:
        ox.get_schema(op_type, opset, domain)
        return True
    except Exception:  # noqa: BLE001
        return False


def _dims_of(graph: ox.GraphProto, dims: Mapping[str, tuple]) -> dict[str, tuple]:
    """Static dims this graph declares: initializers, and inputs / value_info with fixed dims."""
    out = dict(dims)
    for vi in list(graph.input) + list(graph.value_info):
        tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if tt is None or not tt.HasField("shape"):
            continue
        out[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
    for t in graph.initializer:
        out[t.name] = tuple(t.dims)
    return out


def _check_group(node: ox.NodeProto, label: str, known: Mapping[str, tuple]) -> None:
    a = _attrs(node).get("group")
    group = a.i if a is not None else 1
    if group < 1:
        raise ModelError(f"{label} has group {group}; group must be a positive integer")
    wi = _GROUPED[node.op_type]
    if len(node.input) <= wi or not node.input[wi]:
        return
    w = known.get(node.input[wi])
    x = known.get(node.input[0]) if node.input and node.input[0] else None
    if not w or len(w) < 2 or any(d is None for d in w[:2]):
        return
    if node.op_type == "ConvTranspose":
        # W: [C, M/group, k...]
        if w[0] % group:
            raise ModelError(f"{label} has group {group}, which does not divide the weight's {w[0]} input channels "
                             f"(weight {list(w)})")
        if x and len(x) >= 2 and x[1] and x[1] != w[0]:
            raise ModelError(f"{label}: input {node.input[0]!r} has {x[1]} channels, the weight {list(w)} takes {w[0]}")
        return
    # W: [M, C/group, k...]
    if w[0] % group:
        raise ModelError(f"{label} has group {group}, which does not divide the weight's {w[0]} output channels "
                         f"(weight {list(w)})")
    if x and len(x) >= 2 and x[1] and x[1] != w[1] * group:
        raise ModelError(f"{label} has group {group}: input {node.input[0]!r} has {x[1]} channels, the weight "
                         f"{list(w)} with group {group} takes {w[1]} x {group} = {w[1] * group}")


def _check_window(node: ox.NodeProto, label: str) -> None:
    at = _attrs(node)
    for name, lowest in (("strides", 1), ("dilations", 1), ("kernel_shape", 1), ("pads", 0)):
        a = at.get(name)
        if a is None:
            continue
        bad = [v for v in a.ints if v < lowest]
        if bad:
            need = "positive" if lowest else "non-negative"
            raise ModelError(f"{label} has {name} {list(a.ints)}; {name} must be {need}")


def _check_scan(node: ox.NodeProto, label: str, opset: int) -> None:
    at = _attrs(node)
    a = at.get("num_scan_inputs")
    if a is None:
        return  # required: the loader already names it
    n_in = len(node.input) - (1 if opset < 9 else 0)  # Scan-8 takes sequence_lens first
    m = a.i
    if not 1 <= m <= n_in:
        raise ModelError(f"{label} has num_scan_inputs {m}; it must be between 1 and its {n_in} inputs")
    n_state = n_in - m
    k = len(node.output) - n_state
    if k < 0:
        raise ModelError(f"{label} has {len(node.output)} outputs for {n_state} loop-carried state values")
    for name, want in (("scan_input_axes", m), ("scan_input_directions", m),
                       ("scan_output_axes", k), ("scan_output_directions", k)):
        b = at.get(name)
        if b is not None and len(b.ints) != want:
            raise ModelError(f"{label} has {len(b.ints)} {name} for {want} scan "
                             f"{'inputs' if 'input' in name else 'outputs'}")
    for name in ("scan_input_directions", "scan_output_directions"):
        b = at.get(name)
        if b is not None and any(v not in (0, 1) for v in b.ints):
            raise ModelError(f"{label} has {name} {list(b.ints)}; directions are 0 or 1")


def _check_graph(graph: ox.GraphProto, opsets: Mapping[str, int], functions: set, where: str,
                 known: Mapping[str, tuple]) -> None:
    known = _dims_of(graph, known)
    at_opset: dict[str, bool] = {}  # op type -> in the model's ai.onnx opset
    for k, node in enumerate(graph.node):
        node_domain = node.domain
        domain = _ONNX_DOMAINS.get(node_domain)
        if domain is not None and "" in opsets:
            op = node.op_type
            if (node_domain, op) not in functions:
                opset = opsets[""]
                ok = at_opset.get(op)
                if ok is None:
                    ok = at_opset[op] = _at_opset(op, opset, "")
                if not ok:
                    first = _newest_since(op, "")
                    if first is not None and first > opset:
                        raise ModelError(
                            f"{_label(node, k)}{where} is not in ai.onnx opset {opset}: {op} exists from opset {first} "
                            f"(raise the model's opset, or replace the op)"
                        )
                if op in _GROUPED:
                    _check_group(node, _label(node, k) + where, known)
                if op in _WINDOWED:
                    _check_window(node, _label(node, k) + where)
                if op == "Scan":
                    _check_scan(node, _label(node, k) + where, opset)
        if not node.attribute:
            continue
        for attr_name, sub in subgraphs(node):
            name = node.name or f"{node.op_type}_{k}"
            _check_graph(sub, opsets, functions, f" in subgraph {name}/{attr_name}", known)


def check_model(model: ox.ModelProto, label: str | None = None) -> None:
    """Raise :class:`ModelError` for the first node whose attributes contradict the schema or the
    static dims (see the module docstring); ``label`` (the file) prefixes the message."""
    opsets = {("" if o.domain == "ai.onnx" else o.domain): o.version for o in model.opset_import}
    functions = {(f.domain, f.name) for f in model.functions}
    try:
        _check_graph(model.graph, opsets, functions, "", {})
    except ModelError as exc:
        if label:
            raise ModelError(f"{label}: {exc}") from None
        raise


def check_input_values(model: ox.ModelProto, values: Mapping | None) -> None:
    """``--input-value NAME=V``: each value must fit the input's declared rank and fixed dims,
    named as ``--input-value`` (before shape resolution turns it into an input shape)."""
    if not values:
        return
    import numpy as np

    from ..errors import UsageError

    inits = {t.name for t in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in inits or vi.name not in values:
            continue
        tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if tt is None or not tt.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        arr = np.asarray(values[vi.name])
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise UsageError(f"--input-value {vi.name}: values must be finite numbers")
        if arr.ndim == len(dims):
            continue
        fixed = 1
        for d in dims:
            fixed *= d if d else 1
        if all(d for d in dims) and arr.size == fixed:
            continue  # reshaped to the declared shape
        shown = "x".join(str(d) if d else "?" for d in dims) or "scalar"
        count = f"{arr.size} value" + ("" if arr.size == 1 else "s")
        raise UsageError(f"--input-value {vi.name}: {count} (shape {list(arr.shape)}) does not fit input "
                         f"{vi.name!r} of shape {shown}")
