"""``profile()``: load, resolve shapes, run the handlers, summarise."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from op_handlers.registry import norm_domain

from .errors import ModelError, OnnxstatError, ShapeError, UsageError
from .model import _onnx as ox
from .model.loader import LoadedModel, load
from .model.validate import check_input_values, check_model
from .passes.analysis import analyze
from .result import ProfileResult, gc_paused, summarize, unique
from .runtime.limits import address_space_cap, resolve_cap
from .shapes.resolve import parse_shape, resolve

np = ox.LazyNumpy(globals())  # numpy is imported when a value is first folded


def norm_input_shapes(input_shapes: Mapping[str, Any] | None) -> dict[str, tuple[int, ...]]:
    out = {}
    for name, shape in (input_shapes or {}).items():
        if isinstance(shape, str):
            shape = parse_shape(shape)
        try:
            shape = tuple(int(d) for d in shape)
        except (TypeError, ValueError):
            raise UsageError(f"input shape for {name!r} must be a sequence of whole numbers, got {shape!r}") from None
        if any(d < 0 for d in shape):
            raise UsageError(f"input shape for {name!r} has a negative dim: {shape}")
        out[name] = shape
    return out


def norm_dims(dims: Mapping[str, Any] | None) -> dict[str, int]:
    out = {}
    for name, value in (dims or {}).items():
        try:
            v = int(value)
        except (TypeError, ValueError):
            raise UsageError(f"dim {name!r} must be a whole number (0 or more), got {value!r}") from None
        if v < 0 or v != value and not isinstance(value, str):
            raise UsageError(f"dim {name!r} must be a whole number (0 or more), got {value!r}")
        out[name] = v
    return out


def check_opsets(lm: LoadedModel) -> None:
    latest = ox.opset_version()
    for o in lm.model.opset_import:
        d = norm_domain(o.domain)
        if d == "" and o.version > latest:
            raise ModelError(
                f"the model uses ai.onnx opset {o.version}, newer than the installed onnx knows ({latest}); upgrade onnx"
            )
        if d == "" and o.version < 1:
            raise ModelError(f"the model declares an invalid ai.onnx opset version {o.version}")


def profile(
    model: str | Path | ox.ModelProto,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    simplify: bool = False,
    shape_source: str = "onnx",
    device: Any = None,
    input_values: Mapping[str, Any] | None = None,
    strict_dims: bool = True,
    custom_handlers: Any = None,
) -> ProfileResult:
    """Profile a model: per-node and total MACs, FLOPs, params, weight bytes and memory traffic.

    ``input_shapes`` maps input names to shapes (tuples or ``"1x3x224x224"``);
    ``dims`` maps symbolic dim names to values.  ``simplify`` runs onnx-simplifier
    first (needs the weight data); ``shape_source="ort"`` fills shapes left
    unknown by inference from one onnxruntime run on the CPU.  ``device`` (a
    :class:`onnxstat.passes.roofline.Device` or a preset name) adds the roofline analysis.
    ``input_values`` maps small inputs to values (``{"sr": 16000}``) so that conditions
    and shapes computed from them resolve statically.  A name in ``dims`` that is no
    dim of the model is an error (a typo) unless ``strict_dims`` is false (several
    models profiled with one set of dims), where it is a warning.
    ``shape_source="auto"`` fills what the static pass leaves unknown from onnxruntime.
    ``custom_handlers`` lists handlers declared with :func:`onnxstat.register_handler`
    (or plugin files): they count for this call only.

    >>> import onnxstat
    >>> res = onnxstat.profile("model.onnx", input_shapes={"input": (1, 3, 224, 224)})
    >>> res.totals.macs, res.totals.params, res.to_dict()["schema"]
    """
    input_shapes = norm_input_shapes(input_shapes)
    dims = norm_dims(dims)
    if custom_handlers:
        from .plugins import registered, specs_of

        specs = specs_of(custom_handlers)
        with registered(specs):
            res = profile(model, input_shapes, dims, simplify=simplify, shape_source=shape_source, device=device,
                          input_values=input_values, strict_dims=strict_dims)
        res.settings["custom_handlers"] = [s.label for s in specs]
        return res
    with gc_paused():  # the pass allocates many small objects and frees none: the collector only costs time
        lm = load(model)
        try:
            res = _profile(lm, input_shapes, dims, simplify, shape_source, device, dict(input_values or {}))
        except ShapeError as exc:
            if lm.path is not None and not str(exc).startswith(str(lm.path)):
                raise ShapeError(f"{lm.path}: {exc}") from None
            raise
        unknown = res.settings.get("unknown_dims") or []
        if unknown and strict_dims:
            known = ", ".join(sorted(res.settings.get("model_dims") or [])) or "none"
            raise UsageError(f"dim {unknown[0]!r} is no dim of the model (its dims: {known}); check the name")
        from .errors import CLI_CONTEXT, api_wording

        if not CLI_CONTEXT.get():  # read from Python: warnings name the arguments, not the options
            res.warnings = [api_wording(w) for w in res.warnings]
        return res


def _profile(lm: LoadedModel, input_shapes, dims, simplify: bool, shape_source: str, device: Any,
             values: dict) -> ProfileResult:
    check_opsets(lm)
    check_model(lm.model, str(lm.path) if lm.path is not None else None)
    check_input_values(lm.model, values)
    warnings = list(lm.warnings)
    if not simplify:
        return _with_device(_profile_loaded(lm, input_shapes, dims, shape_source, warnings, values), device)
    from .runtime.simplify import simplify_loaded

    before = _profile_loaded(lm, input_shapes, dims, shape_source, [], values)
    simplified, why = simplify_loaded(lm, before.inputs)
    if simplified is None:
        warnings.append(f"--simplify skipped: {why}; profiling the original model")
        before.warnings = warnings + before.warnings
        before.settings["simplify"] = False
        return _with_device(before, device)
    after = _profile_loaded(simplified, input_shapes, dims, shape_source, warnings, values)
    after.settings["simplify"] = True
    for key in ("unknown_dims", "model_dims", "defaulted_dims"):  # the dims given are the original model's
        after.settings[key] = before.settings.get(key)
    after.extras["simplify"] = {
        "nodes_before": before.totals.node_count,
        "nodes_after": after.totals.node_count,
        "totals_before": before.totals.to_dict(),
    }
    after.path = before.path
    after.file_size = before.file_size
    return _with_device(after, device)


def _with_device(res: ProfileResult, device: Any) -> ProfileResult:
    if device is not None:
        from .passes.roofline import attach_roofline

        res.roofline = attach_roofline(res, device)
        res.settings["device"] = res.roofline.device.name
    return res


def _profile_loaded(lm: LoadedModel, input_shapes, dims, shape_source, warnings: list[str], values=None) -> ProfileResult:
    warnings = list(warnings)
    input_shapes = dict(input_shapes)
    with address_space_cap(resolve_cap(lm.model, shape_source)):  # onnx's C++ value propagation is bounded too
        shapes = resolve(lm, input_shapes, dims, source=shape_source, input_values=values)
    warnings.extend(shapes.warnings)
    an = analyze(lm, shapes)
    warnings.extend(an.warnings)
    totals, rows = summarize(an.nodes)
    unsupported = sorted(((d, o, c) for (d, o), c in an.unsupported.items()), key=lambda r: (-r[2], r[0], r[1]))
    if unsupported:
        listed = ", ".join(f"{d + '::' if d else ''}{o} ({c})" for d, o, c in unsupported)
        warnings.append(f"unsupported ops, MACs/FLOPs not counted: {listed}")
    m = lm.model
    res = ProfileResult(
        path=str(lm.path) if lm.path else None,
        ir_version=m.ir_version,
        opset={(o.domain or "ai.onnx"): o.version for o in m.opset_import},
        producer=" ".join(x for x in (m.producer_name, m.producer_version) if x),
        inputs=list(shapes.inputs),
        outputs=list(shapes.outputs),
        nodes=an.nodes,
        totals=totals,
        by_op_type=rows,
        unsupported=unsupported,
        warnings=unique(warnings),
        settings={
            "input_shapes": {k: list(v) for k, v in input_shapes.items()},
            "input_values": {k: np.asarray(v).tolist() for k, v in (values or {}).items()},
            "dims": dict(shapes.dims),
            "defaulted_dims": dict(shapes.defaulted_dims),
            "unknown_dims": list(shapes.unknown_dims),
            "model_dims": list(shapes.model_dims),
            "shape_source": shape_source,
        },
        file_size=lm.file_size,
    )
    _post_passes(res)
    return res


def _post_passes(res: ProfileResult) -> None:
    """Whole-graph passes over the node costs: precision attribution, then liveness."""
    from .passes.memory import peak_activation
    from .passes.precision import attribute_precision

    attribute_precision(res)
    mem = peak_activation(res)
    res.totals.peak_activation_bytes = mem.peak_bytes
    res.totals.peak_at_node = mem.peak_at_node
    res.extras["memory"] = mem.to_dict()
    if not mem.complete:
        res.warnings.append(
            f"peak activation memory is a lower bound: {len(mem.unknown_tensors)} tensor(s) of unknown size"
        )




__all__ = ["profile", "OnnxstatError"]
