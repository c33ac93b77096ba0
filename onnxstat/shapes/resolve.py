"""Shape resolution: every tensor's dtype and shape, in one forward pass.

1. Graph inputs are made concrete: ``input_shapes`` replaces whole input shapes,
   ``dims`` sets named (symbolic) dims; an input dim still unknown is set to 1, and
   the result says so (``defaulted_dims``).  Zero-size dims are legal everywhere.
2. onnx's whole-graph inference runs once on a weight-free copy of the main graph:
   a fast bulk answer for the nodes whose inputs it fully knows.
3. One pass over the nodes in topological order then resolves each node once, when
   its inputs are known: small values are folded right there (shape arithmetic,
   float math included); a node the bulk answer left open is inferred on its own by
   onnx's inference for its schema, given its input types and the values of its
   constant inputs; an op onnx does not know gets its output types from the shape
   rule registered with its cost handler (``op_handlers``), else from the types the
   exporter declared.  If, Loop and Scan bodies are resolved in the same pass, as
   scopes that see the outer values and types they read; a Loop's trip count is
   derived from its body's condition where that is a counter.  Cost is linear in
   the number of nodes; there are no rounds.
4. Optionally (``source="ort"`` or ``"auto"``) shapes are observed by running the
   model once in onnxruntime on the CPU, for what the pass left unknown.

A dim is an ``int`` when known, a ``str`` when it is a named symbol (symbolic
inputs), ``None`` when unknown.  Tensors left with unknown dims are listed in
``Shapes.unresolved``; the nodes that need them are not counted, and the totals
say they are incomplete.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ShapeError, UsageError
from ..model.graph import GraphView
from ..model.loader import LoadedModel

# the pass lives in the modules below; their names stay importable from here
from .bulk import _bulk
from .inputs import (
    _check_given_shapes,
    _given_values,
    _input_dim_names,
    _input_types,
    parse_assignments,
    parse_dim_value,
    parse_input_value,
    parse_shape,
)
from .resolver import MAX_SUBGRAPH_DEPTH, _Resolver
from .scopes import Shapes, _Scope, _view_names
from .value_types import (
    Shape,
    ValueType,
    _declared_types,
    _fmt_shape,
    flex_scores_type,
    merge_types,
    raw_type,
    sparse_type,
    tensor_type,
    type_from_raw,
    type_of,
    value_type,
)

__all__ = [
    "MAX_SUBGRAPH_DEPTH", "Shape", "Shapes", "ValueType", "flex_scores_type", "merge_types", "parse_assignments",
    "parse_dim_value", "parse_input_value", "parse_shape", "raw_type", "resolve", "sparse_type", "tensor_type",
    "type_from_raw", "type_of", "value_type",
]


def resolve(
    lm: LoadedModel,
    input_shapes: Mapping[str, tuple] | None = None,
    dims: Mapping[str, int] | None = None,
    *,
    source: str = "onnx",
    symbolic: bool = False,
    input_values: Mapping[str, Any] | None = None,
    bulk: bool = True,
) -> Shapes:
    """Resolve every tensor's dtype and shape (see the module docstring).

    ``input_values`` gives the values of small inputs (a sample rate, a flag) so that
    conditions and shapes computed from them fold like constants.  ``source`` is
    ``"onnx"`` (static), ``"ort"`` (onnxruntime's observed shapes for what the static
    pass leaves unknown, always run) or ``"auto"`` (onnxruntime only when something is
    left unknown and the weights are present).  ``bulk=False`` skips onnx's whole-graph
    inference (the pass alone gives the same answer, more slowly).
    """
    input_shapes = dict(input_shapes or {})
    dims = dict(dims or {})
    if source not in ("onnx", "ort", "auto"):
        raise UsageError(f"unknown shape source {source!r}: use 'onnx', 'ort' or 'auto'")
    sh = Shapes(source=source)
    main = lm.main_view()
    sh.view = main
    given = _given_values(lm, input_values or {}, input_shapes)
    inputs = _input_types(lm, input_shapes, dims, sh, symbolic)
    _check_given_shapes(given, inputs)
    sh.inputs = inputs
    g = lm.model.graph
    r = _Resolver(lm, sh, sh.dims, symbolic)
    scope = _Scope(None, "", main.initializers, _view_names(main))
    scope.values = sh.values
    sh.scopes[""] = scope.types
    for name, dtype, shape in inputs:
        scope.set(name, ValueType(dtype, shape))
    declared_inputs = {i.name: i for i in g.input}
    for name, dtype, shape in inputs:
        vi = declared_inputs.get(name)
        if vi is not None and vi.type.WhichOneof("value") != "tensor_type":
            scope.raw[name] = vi.type.SerializeToString()  # a sequence or optional input
            scope.types[name] = ValueType(dtype, None)
    for t in g.initializer:
        scope.set(t.name, tensor_type(t))
    for t in g.sparse_initializer:
        scope.set(t.values.name, sparse_type(t))
    sh.values.update(given)
    if bulk:
        r.bulk = _bulk(lm, inputs, main)
    r.run_graph(main, scope, _declared_types(g, sh.dims))
    r.bulk = {}
    if source in ("ort", "auto"):
        _observe_with_ort(lm, inputs, sh)
    sh.model_dims = sorted(_input_dim_names(lm))
    known_names = set(sh.model_dims) | r.used_labels
    sh.unknown_dims = [d for d in dims if d not in known_names]
    _finalize(main, sh, symbolic)
    sh.outputs = [(o, *_vt_tuple(sh.lookup("", o))) for o in main.output_names]
    return sh

def _vt_tuple(vt: ValueType | None):
    if vt is None:
        return ("undefined", None)
    return (vt.dtype, vt.shape)


def _observe_with_ort(lm: LoadedModel, inputs, sh: Shapes) -> None:
    """Fill unknown main-graph shapes from one onnxruntime run with every value exposed
    as an output (``auto``: only when something is unknown and the weights are there)."""
    scope = sh.scopes.setdefault("", {})
    if sh.source == "auto":
        if all(vt.known for vt in scope.values() if vt.shape is not None) and not _missing_outputs(sh):
            return
        if not lm.weights_available:
            sh.warnings.append("--shape-source auto: some shapes are unknown, and onnxruntime cannot run the model "
                               "without its weight data")
            return
    from .ort import observe_shapes  # local import: onnxruntime is heavy

    observed = observe_shapes(lm, inputs)
    filled = 0
    for name, (dtype, shape) in observed.items():
        old = scope.get(name)
        if old is None or not old.known:
            scope[name] = ValueType(dtype, tuple(shape))
            filled += 1
    if sh.source == "auto" and filled:
        sh.warnings.append(f"--shape-source auto: {filled} tensor shape(s) observed in onnxruntime at the given input "
                           "shapes (data-dependent sizes hold for the generated input values)")


def _missing_outputs(sh: Shapes) -> bool:
    view = sh.view
    scope = sh.scopes.get("", {})
    return any(o and o not in scope for n in view.graph.node for o in n.output)


def _finalize(main: GraphView, sh: Shapes, symbolic: bool) -> None:
    """Name the dims left unknown (in ``unresolved``, with one warning); in a concrete
    resolution a dim is an int or None (unknown), never a leftover symbol; a negative
    dim (inconsistent attributes, e.g. a kernel larger than its input) is an error."""
    input_syms = _input_syms(sh)
    unknown: dict[str, str] = {}
    for path, scope in sh.scopes.items():
        dead = any(path == d or path.startswith(d + "/") for d in sh.dead_scopes)
        for name, vt in list(scope.items()):
            if vt.shape is None or vt.known:
                continue
            if any(isinstance(d, int) and d < 0 for d in vt.shape):
                where = f" (output of node {main.labels[main.producer[name]]!r})" if not path and name in main.producer else ""
                raise ShapeError(f"tensor {name!r}{where} gets a negative dim: {_fmt_shape(vt.shape)}; "
                                 "check the node's attributes (kernel, pads, strides) against its input shape")
            new = []
            for k, d in enumerate(vt.shape):
                if isinstance(d, int) or (symbolic and isinstance(d, str) and d in input_syms):
                    new.append(d)
                    continue
                new.append(None)
                if not dead:
                    unknown.setdefault(d if isinstance(d, str) else f"{name}[{k}]", f"{path}" if path else "")
            scope[name] = ValueType(vt.dtype, tuple(new))
    for scope in sh.scopes.values():
        for name, vt in scope.items():
            if vt.shape is not None and any(isinstance(d, int) and d < 0 for d in vt.shape):
                raise ShapeError(f"tensor {name!r} gets a negative dim: {_fmt_shape(vt.shape)}; "
                                 "check the node's attributes (kernel, pads, strides) against its input shape")
    for label, path in unknown.items():
        sh.unresolved.setdefault(label, "a data-dependent size" + (f" in {path}" if path else ""))
    if sh.defaulted_dims:
        shown = ", ".join(f"{k}=1" for k in sh.defaulted_dims)
        sh.warnings.insert(0, f"input dims not set, 1 used: {shown}; set them with --dim NAME=VALUE or --input-shape")
    if unknown:
        items = list(unknown)
        shown = ", ".join(items[:6]) + (f" and {len(items) - 6} more" if len(items) > 6 else "")
        sh.warnings.append(
            f"{len(items)} dim(s) unknown after shape resolution ({shown}); give such sizes with "
            "--dim 'TENSOR[k]=VALUE', or use --shape-source auto"
        )
    for d in sh.unknown_dims:
        sh.warnings.append(f"--dim {d} matches no symbolic input dim (model dims: "
                           f"{', '.join(sorted(input_syms)) or 'none'})")


def _input_syms(sh: Shapes) -> set[str]:
    return {d for _n, _t, shape in sh.inputs for d in (shape or ()) if isinstance(d, str)} | set(sh.defaulted_dims) | set(sh.dims)
