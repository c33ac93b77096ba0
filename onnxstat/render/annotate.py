"""``annotate()``: a copy of the model that carries its costs, for Netron and other viewers.

The copy is the original model with

* ``value_info`` for every tensor a node produces whose type was resolved (the shapes
  the profile used), in the graph (or subgraph) where the node sits;
* on every counted node, ``metadata_props`` ``onnxstat.macs``, ``onnxstat.flops``,
  ``onnxstat.params``, ``onnxstat.bytes`` (memory traffic: bytes read + written),
  ``onnxstat.share`` (the node's share of the model's FLOPs), ``onnxstat.precision``
  (compute dtype), ``onnxstat.time_ms`` when a per-node benchmark ran, and
  ``onnxstat.repeat`` for a node in a loop body, exactly the numbers of the profile
  JSON; plus one human line in the node's ``doc_string`` (Netron shows it);
* on the model, ``metadata_props`` with the totals and the input shapes used.

Everything else, the weights included, is left as it was.  Weights in external
data files are referenced where they are (the copy must then sit in the same
folder, ``external_data="reference"``) or copied into one new file next to the
copy (``external_data="copy"``).  Files are written atomically (:mod:`onnxstat.render.files`)
and never over the model or its data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import ModelError, OnnxstatError, UsageError
from . import units
from .files import check_output_path, write_atomic

PREFIX = "onnxstat."
DOC_MARK = "onnxstat: "
EXTERNAL_MODES = ("reference", "copy")
#: alignment of tensors in a copied external data file (as onnx's writer pages them)
ALIGN = 4096


@dataclass
class AnnotateResult:
    """What :func:`annotate` wrote."""

    path: Path
    profile: Any
    data_path: Path | None = None
    annotated_nodes: int = 0
    value_infos: int = 0
    not_counted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- values


def _text(v: Any) -> str:
    from ..result import jsonable

    v = jsonable(v)
    return "" if v is None else str(v)


def node_metadata(n: Any, total_flops: Any, time_ms: float | None = None) -> dict[str, str]:
    """The ``onnxstat.*`` metadata of one node record (strings, as ONNX stores them)."""
    try:
        share = float(n.flops) / float(total_flops) if total_flops else None
    except (TypeError, ValueError):
        share = None
    md = {
        "macs": _text(n.macs),
        "flops": _text(n.flops),
        "params": _text(n.params),
        "bytes": _text(n.memory_traffic_bytes),
        "share": "" if share is None else repr(share),
        "precision": n.compute_dtype,
    }
    if time_ms is not None:
        md["time_ms"] = repr(float(time_ms))
    if n.repeat != 1:
        md["repeat"] = _text(n.repeat)
    if n.kind == "unsupported":
        md["unsupported"] = "no handler: MACs and FLOPs not counted"
    if n.error:
        md["error"] = str(n.error)
    return {PREFIX + k: v for k, v in md.items()}


def doc_line(n: Any, md: Mapping[str, str]) -> str:
    """The short line Netron shows with the node."""
    share = md.get(PREFIX + "share")
    parts = [f"{units.si(n.macs)} MACs", f"{units.si(n.flops)} FLOPs"]
    if share:
        parts.append(f"{100 * float(share):.1f}% of FLOPs")
    if n.params:
        parts.append(f"{units.si(n.params)} params")
    parts.append(f"{units.nbytes(n.memory_traffic_bytes)} moved")
    if n.compute_dtype not in ("none", "undefined"):
        parts.append(n.compute_dtype)
    if PREFIX + "time_ms" in md:
        parts.append(f"{float(md[PREFIX + 'time_ms']):.3f} ms")
    if n.repeat != 1:
        parts.append(f"×{n.repeat} (loop)")
    if n.kind == "unsupported":
        parts = ["unsupported op: MACs and FLOPs not counted", parts[-2] if len(parts) > 1 else ""]
    return DOC_MARK + ", ".join(p for p in parts if p)


def _set_doc(proto: Any, line: str) -> None:
    kept = [x for x in proto.doc_string.split("\n") if x and not x.startswith(DOC_MARK)]
    proto.doc_string = "\n".join([*kept, line])


def _set_metadata(proto: Any, md: Mapping[str, str]) -> None:
    keep = [(p.key, p.value) for p in proto.metadata_props if not p.key.startswith(PREFIX)]
    del proto.metadata_props[:]
    for k, v in [*keep, *md.items()]:
        e = proto.metadata_props.add()
        e.key, e.value = k, v


# --------------------------------------------------------------------------- value_info


def _elem_type(dtype: str) -> int | None:
    from op_handlers.base import DTYPES

    for k, (name, _bits) in DTYPES.items():
        if name == dtype:
            return k
    return None


def _value_info(name: str, dtype: str, shape: tuple) -> Any:
    import onnx

    elem = _elem_type(dtype)
    if elem is None or shape is None:
        return None
    dims = [d if d is None or isinstance(d, int) and d >= 0 else str(d) for d in shape]
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def _scope_of(n: Any) -> str:
    """The shape scope of a node record: "" for the main graph, else its subgraph path."""
    if n.path == n.name or not n.path.endswith("/" + n.name):
        return ""
    return n.path[: -len(n.name) - 1]


# --------------------------------------------------------------------------- dynamic dims


def free_input_dims(model: Any) -> list[tuple[str, int, str]]:
    """(input, axis, symbol) of every graph-input dim the model leaves open."""
    inits = {t.name for t in model.graph.initializer}
    out = []
    for vi in model.graph.input:
        if vi.name in inits or not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
            continue
        for k, d in enumerate(vi.type.tensor_type.shape.dim):
            if not d.HasField("dim_value"):
                out.append((vi.name, k, d.dim_param or f"{vi.name}_dim{k}"))
    return out


def dynamic_dims(lm: Any, res: Any, shape_source: str = "onnx", input_values: Mapping[str, Any] | None = None):
    """A function ``(scope, name, shape) -> dims`` that keeps the model's open input dims open.

    The copy keeps the original's inputs, so a dim that depends on an open input dim
    must not be written as the number it had in this profile (onnxruntime would
    specialise the graph to it).  The shapes are resolved once more with every open
    input dim made larger (by 2, 3, 4, ...): a dim that stays the same is written as
    a number, one that moves like exactly one input dim gets that dim's name, any
    other is left unnamed.  Returns None when the model has no open input dim, and
    raises :class:`onnxstat.errors.OnnxstatError` when the second resolution fails."""
    from ..shapes.resolve import resolve

    free = free_input_dims(lm.model)
    if not free:
        return None
    base_inputs = {name: shape for name, _dtype, shape in res.inputs}
    probe_shapes: dict[str, list] = {}
    moves: dict[tuple[Any, Any], str | None] = {}
    for j, (name, axis, sym) in enumerate(free):
        shape = base_inputs.get(name)
        if shape is None or axis >= len(shape) or not isinstance(shape[axis], int):
            continue
        probe = probe_shapes.setdefault(name, list(shape))
        probe[axis] = shape[axis] + j + 2
        key = (shape[axis], probe[axis])
        moves[key] = sym if key not in moves or moves[key] == sym else None
    probed = resolve(lm, {k: tuple(v) for k, v in probe_shapes.items()}, {}, source=shape_source,
                     input_values=dict(input_values or {}))

    def dims(scope: str, name: str, shape: tuple) -> tuple | None:
        vt = probed.lookup(scope, name)
        other = None if vt is None else vt.shape
        if other is None or len(other) != len(shape):
            return tuple(None for _ in shape)
        return tuple(a if a == b else moves.get((a, b)) for a, b in zip(shape, other))

    return dims


def _declared(g: Any) -> set[str]:
    return {v.name for v in g.input} | {v.name for v in g.output} | {t.name for t in g.initializer}


# --------------------------------------------------------------------------- annotate


def annotate_model(model: Any, res: Any, times_ms: Mapping[str, float] | None = None,
                   dynamic: Any = None) -> AnnotateResult:
    """Write the costs of profile ``res`` into ``model`` (a ModelProto, changed in place).

    ``dynamic(scope, name, shape)`` gives the dims to write for a tensor (see
    :func:`dynamic_dims`); by default the resolved shape as it is."""
    out = AnnotateResult(path=Path(), profile=res)
    from ..passes.scopes import node_index

    index = node_index(model.graph)
    total_flops = res.totals.flops
    vis: dict[int, dict[str, Any]] = {}  # id(graph) -> name -> ValueInfoProto
    graphs: dict[int, Any] = {}
    declared: dict[int, set[str]] = {}
    seen: set[str] = set()
    for n in res.nodes:
        hit = index.get(n.path)
        if hit is None:
            out.warnings.append(f"node {n.path!r} not found in the model; not annotated")
            continue
        proto, g = hit
        seen.add(n.path)
        # a node without a kernel of its own (fused or removed by onnxruntime) has no time
        t = times_ms.get(n.path) if times_ms is not None and n.kind != "control_flow" else None
        md = node_metadata(n, total_flops, t)
        _set_metadata(proto, md)
        _set_doc(proto, doc_line(n, md))
        out.annotated_nodes += 1
        gid = id(g)
        graphs[gid] = g
        if gid not in declared:
            declared[gid] = _declared(g)
        for name, dtype, shape in n.outputs:
            if not name or name in declared[gid] or shape is None or dtype == "undefined":
                continue
            dims = dynamic(_scope_of(n), name, shape) if dynamic is not None else shape
            vi = _value_info(name, dtype, dims) if dims is not None else None
            if vi is not None:
                vis.setdefault(gid, {})[name] = vi
    for path, (proto, _g) in index.items():
        if path not in seen:
            out.not_counted.append(path)
            _set_metadata(proto, {PREFIX + "counted": "no"})
            _set_doc(proto, DOC_MARK + "not counted (a branch not taken, or a subgraph onnxstat does not count)")
    for gid, by_name in vis.items():
        g = graphs[gid]
        kept = [v for v in g.value_info if v.name not in by_name]
        del g.value_info[:]
        g.value_info.extend(kept)
        g.value_info.extend(by_name.values())
        out.value_infos += len(by_name)
    _set_metadata(model, _model_metadata(res))
    return out


def _model_metadata(res: Any) -> dict[str, str]:
    t = res.totals
    md = {
        "macs": _text(t.macs),
        "flops": _text(t.flops),
        "params": _text(t.params),
        "weight_bytes": _text(t.weight_bytes),
        "bytes": _text(t.memory_traffic_bytes),
        "nodes": _text(t.node_count),
        "inputs": ", ".join(f"{name} {units.shape(shape)} {dtype}" for name, dtype, shape in res.inputs),
    }
    if res.unsupported:
        md["unsupported"] = ", ".join(f"{d + '::' if d else ''}{o} x{c}" for d, o, c in res.unsupported)
    return {PREFIX + k: v for k, v in md.items()}


def _no_shapes(scope: str, name: str, shape: tuple) -> None:
    return None


def annotate(
    model: str | os.PathLike,
    output: str | os.PathLike,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    external_data: str = "reference",
    bench: bool = False,
    per_node: bool = False,
    bench_options: Mapping[str, Any] | None = None,
    custom_handlers: Any = None,
    shape_source: str = "onnx",
    input_values: Mapping[str, Any] | None = None,
) -> AnnotateResult:
    """Profile ``model`` and write an annotated copy to ``output`` (see the module docstring).

    With a per-node benchmark, a node onnxruntime ran as a kernel of its own gets
    ``onnxstat.time_ms``; nodes fused into another kernel get none (``bench_options=
    {"opt_level": "disable"}`` maps kernels to nodes one to one).

    ``external_data``: "reference" keeps external weight files where they are (the copy
    must go to the same folder), "copy" writes them into ``<output>.data``.  ``bench``
    with ``per_node`` adds the measured time of every node (onnxruntime, CPU by default;
    ``bench_options`` are passed to :func:`onnxstat.runtime.bench.bench`)."""
    from ..model.loader import external_info, iter_all_tensors, load
    from ..profiler import profile

    if external_data not in EXTERNAL_MODES:
        raise UsageError(f"external data mode must be 'reference' or 'copy', got {external_data!r}")
    if per_node and not bench:
        raise UsageError("per-node times need bench=True")
    if not isinstance(model, (str, os.PathLike)):
        raise UsageError("annotate takes the path of a model file")
    out_path = check_output_path(output)
    src = Path(model)
    res = profile(src, input_shapes, dims, shape_source=shape_source, input_values=input_values,
                  custom_handlers=custom_handlers)
    times = _bench_times(src, input_shapes, dims, per_node, res, bench_options) if bench else None
    lm = load(src, strip=False)  # the whole model, weights embedded as they are; external data not read
    copy = lm.model
    ext = [i for i, t in enumerate(iter_all_tensors(copy)) if external_info(t) is not None]
    dynamic = None
    try:
        dynamic = dynamic_dims(lm, res, shape_source, input_values)
    except OnnxstatError as exc:
        res.warnings.append(f"the shapes at other input sizes could not be resolved ({exc}); value_info is left "
                            "out so that the copy still runs at every input size")
        dynamic = _no_shapes
    result = annotate_model(copy, res, times, dynamic)
    result.path = out_path
    result.warnings = [*res.warnings, *result.warnings]
    data_bytes = None
    if ext and external_data == "reference":
        if os.path.realpath(out_path.parent if str(out_path.parent) else ".") != os.path.realpath(src.parent):
            raise UsageError(
                f"{src}: its weights are in external data files next to it ({', '.join(sorted(lm.external_files))}); "
                f"write the annotated copy into {src.parent} or copy the weights with --external-data copy"
            )
    elif ext:
        result.data_path = out_path.with_name(out_path.name + ".data")
        data_bytes = _copy_external_data(lm, copy, ext, result.data_path)
    try:
        blob = copy.SerializeToString()
    except ValueError as exc:  # protobuf refuses messages of 2 GB and more
        raise ModelError(f"{src}: the annotated copy cannot be serialised ({exc}); "
                         "store the weights as external data first") from None
    if data_bytes is not None:
        write_atomic(result.data_path, data_bytes)
    write_atomic(out_path, blob)
    return result


def _bench_times(src: Path, input_shapes, dims, per_node: bool, res: Any,
                 bench_options: Mapping[str, Any] | None) -> dict[str, float] | None:
    """Benchmark the model (``res.extras["bench"]``, its warnings added to ``res``) and return
    each node's measured time in ms (per-node runs), or None without them."""
    from ..passes.scopes import node_times
    from ..runtime.bench import bench as run_bench

    b = run_bench(src, input_shapes, dims, per_node=per_node, static_profile=res, **dict(bench_options or {}))
    res.extras["bench"] = b.to_dict()
    res.warnings.extend(w for w in b.warnings if w not in res.warnings)
    return node_times(res.extras["bench"])


def _copy_external_data(lm: Any, copy: Any, ext: list[int], data_path: Path) -> bytes:
    """The external tensors ``ext`` (indices in ``iter_all_tensors`` order) of the model, as the
    bytes of one new data file at ``data_path`` (each tensor aligned to :data:`ALIGN`); the
    tensors of ``copy`` are pointed at it."""
    from ..model.loader import iter_all_tensors

    check_output_path(data_path)
    full = lm.full_model()  # reads every external tensor (locations checked by the loader)
    full_tensors = list(iter_all_tensors(full))
    tensors = list(iter_all_tensors(copy))
    chunks: list[bytes] = []
    offset = 0
    for i in ext:
        raw = full_tensors[i].raw_data
        pad = (-offset) % ALIGN
        if pad:
            chunks.append(b"\0" * pad)
            offset += pad
        t = tensors[i]
        del t.external_data[:]
        for k, v in (("location", data_path.name), ("offset", str(offset)), ("length", str(len(raw)))):
            e = t.external_data.add()
            e.key, e.value = k, v
        chunks.append(raw)
        offset += len(raw)
    return b"".join(chunks)


__all__ = ["annotate", "annotate_model", "AnnotateResult", "node_metadata"]
