"""A self-contained HTML report: one file, no network, opens from disk.

:func:`render_html` turns plain dicts into the page: the profile's ``to_dict()``
(contract ``onnxstat.profile/1``) plus, when present, a bench result dict, a
roofline dict (with an optional inline SVG chart) and a comparison dict.  Each
section appears when its data is there.

:func:`build_report` profiles a model and gathers the optional data; the
modules that produce it (``bench``, ``roofline``/``plot``, ``memory``,
``compare``) are imported lazily, so a build without one of them still gives a
report, with a note where the section would have been.

The page embeds the node data once, as JSON in a ``<script
type="application/json">`` block; a small inline script renders the node table a
page at a time and sorts / filters the data array (exact integers: numbers up to
2**53 - 1 stay JSON numbers, larger ones become decimal strings compared as
BigInt).  Styles, scripts and charts are inline; nothing is fetched.

The page is built in parts: :mod:`~onnxstat.render.report_values` (exact values and
embedded JSON), :mod:`~onnxstat.render.report_sections` (what each section shows),
:mod:`~onnxstat.render.report_compare` (the comparison), :mod:`~onnxstat.render.report_chart`
(the op type chart, inline SVG) and :mod:`~onnxstat.render.report_html` (the template);
this module gathers the data (:func:`build_report`) and is the public API (:func:`report`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import UsageError

# the parts of the page, re-exported: the names were defined here before the split
from .report_chart import CHART_METRICS, chart_op_rows, op_type_chart_svg  # noqa: F401
from .report_compare import COMPARE_METRICS, _ratio, compare_view  # noqa: F401
from .report_html import NOTE_KEYS, TEMPLATES, render_html  # noqa: F401
from .report_sections import (  # noqa: F401
    NODE_COLUMNS,
    ROOFLINE_COLUMNS,
    node_table,
    op_type_table,
    precision_rows,
    roofline_device,
    roofline_nodes,
    roofline_totals,
    roofline_view,
    summary_cards,
)
from .report_values import JS_MAX_SAFE, _num, exact, fmt_seconds, js_value, script_json  # noqa: F401

# --------------------------------------------------------------------------- building


def _dict(x: Any) -> dict | None:
    if x is None:
        return None
    if isinstance(x, Mapping):
        return dict(x)
    if hasattr(x, "to_dict"):
        return x.to_dict()
    return None


def build_report(
    model,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    bench: bool = False,
    runs: int | None = None,
    warmup: int | None = None,
    device: Any = None,
    compare: Iterable = (),
    simplify: bool = False,
    shape_source: str = "onnx",
    generated_at: str | None = None,
    compare_options: Mapping[str, Any] | None = None,
    input_values: Mapping[str, Any] | None = None,
) -> tuple[str, list[str]]:
    """Profile ``model`` (a path, ModelProto or an existing ProfileResult) and render the page.

    ``device`` is a preset name or a ``roofline.Device``; a ProfileResult made
    with ``profile(..., device=...)`` brings its own.  ``compare`` lists models
    profiled at the same shapes (the first, ``model``, is the baseline);
    ``compare_options`` (``variants``, ``fidelity``, ``localize``, ...) go to
    :func:`onnxstat.runtime.variants.compare_models`.

    Returns ``(html, messages)``; messages name the sections left out because the
    module that computes them is not in this build.
    """
    from ..profiler import profile as _profile
    from ..result import ProfileResult

    if isinstance(model, ProfileResult):
        res = model
    else:
        res = _profile(model, input_shapes, dims, simplify=simplify, shape_source=shape_source,
                       input_values=input_values)
    if isinstance(device, str) and not device.strip():
        raise UsageError("--device: give a device name (see 'onnxstat devices')")
    left_out = _LeftOut()

    # peak activation memory
    if res.totals.peak_activation_bytes is None:
        _memory_section(res, left_out)

    source = model if not isinstance(model, ProfileResult) else res.path

    # benchmark (before the roofline, which reports its efficiency against the measurement)
    bench_mod = _bench_module(source, left_out) if bench else None

    # comparison (with --bench it measures every model, the baseline included)
    compare = list(compare or ())
    compare_d = None
    if compare or compare_options:
        compare_d = _compare(res, source, compare, input_shapes, dims, bench_mod is not None, runs, warmup,
                             simplify, shape_source, left_out.notes, compare_options)
    bench_d = None
    if not bench and isinstance(res.extras.get("bench"), Mapping):
        bench_d = dict(res.extras["bench"])  # measured when the profile was made (profile --bench)
    if bench_mod is not None:
        if compare_d and compare_d.get("models") and compare_d["models"][0].get("bench"):
            bench_d = dict(compare_d["models"][0]["bench"])
        else:
            bench_d = _run_bench(bench_mod, source, input_shapes, dims, runs, warmup)

    # roofline: the device asked for, or the one the profile was made with
    roofline = roofline_svg = None
    if device is not None or getattr(res, "roofline", None) is not None:
        roofline, roofline_svg = _roofline_section(res, device, bench_d, left_out)

    if "by_scope" not in res.extras:  # the module tree, from the node names
        from ..passes.scopes import by_scope

        res.extras["by_scope"] = by_scope(res)
    page = render_html(res.to_dict(), bench=bench_d, roofline=roofline, roofline_svg=roofline_svg,
                       compare=compare_d, notes=left_out.notes, generated_at=generated_at)
    return page, left_out.messages


class _LeftOut:
    """The sections left out because the module that computes them is not in this build:
    a note for the page (by section) and a message for the caller."""

    def __init__(self) -> None:
        self.notes: dict[str, str] = {}
        self.messages: list[str] = []

    def missing(self, section: str, module: str, what: str) -> None:
        msg = f"{what} left out: onnxstat.{module} is not available in this build"
        self.notes[section] = msg
        self.messages.append(msg)


def _memory_section(res, left_out: _LeftOut) -> None:
    try:
        from ..passes import memory
    except ImportError:
        left_out.missing("memory", "memory", "peak activation memory")
    else:
        _apply_memory(memory, res)


def _bench_module(source, left_out: _LeftOut):
    """onnxstat.runtime.bench, or None (with a note) when this build has none."""
    if source is None:
        raise UsageError("--bench needs the model itself (a path or ModelProto), not only its profile")
    try:
        from ..runtime import bench as bench_mod
    except ImportError:
        left_out.missing("bench", "bench", "measured latency")
        return None
    return bench_mod


def _roofline_section(res, device, bench_d: Mapping | None, left_out: _LeftOut) -> tuple[dict | None, str | None]:
    """The roofline dict and its chart (inline SVG) on ``device``, or on the profile's own device."""
    try:
        from ..passes import roofline as rl_mod
    except ImportError:
        if device is not None:
            left_out.missing("roofline", "roofline", "roofline")
        return None, None
    if device is None:
        dev = res.roofline.device
    elif isinstance(device, str):
        dev = rl_mod.get_device(device)
    else:
        dev = device
    roofline, rl_obj = _apply_roofline(rl_mod, res, dev, bench_d)
    try:
        from . import plot
    except ImportError:
        left_out.missing("roofline_chart", "plot", "roofline chart")
        return roofline, None
    return roofline, _roofline_svg(plot, res, dev, rl_obj)


def _apply_memory(memory, res) -> None:
    out = memory.peak_activation(res)
    if res.totals.peak_activation_bytes is None and out is not None:
        peak = getattr(out, "peak_bytes", None)
        if peak is None and isinstance(out, Mapping):
            peak = out.get("peak_activation_bytes", out.get("peak_bytes"))
        if peak is None and isinstance(out, int):
            peak = out
        if peak is not None:
            res.totals.peak_activation_bytes = peak
            at = getattr(out, "peak_at_node", None)
            if at is None and isinstance(out, Mapping):
                at = out.get("peak_at_node")
            res.totals.peak_at_node = at


def _apply_roofline(rl_mod, res, dev, bench: Mapping | None) -> tuple[dict, Any]:
    """The roofline as a dict (``to_dict()`` plus ``nodes`` aligned with the profile's nodes) and the object.

    With a measurement the roofline reports its efficiency against the mean
    latency, as ``onnxstat profile --bench --device`` does.  ``attach_roofline``
    also puts the per-node fields on ``res`` (its JSON then carries them).
    """
    mean_ms = _num(((bench or {}).get("latency_ms") or {}).get("mean"))
    measured = mean_ms / 1e3 if mean_ms else None
    if hasattr(rl_mod, "attach_roofline"):
        out = rl_mod.attach_roofline(res, dev, measured_latency_s=measured,
                                     providers_used=(bench or {}).get("providers_used"))
    else:
        out = rl_mod.apply_roofline(res, dev)
        if measured and hasattr(out, "set_measured"):
            out.set_measured(measured)
    d = _dict(out) or {}
    if "nodes" not in d and hasattr(out, "node_extras"):
        d["nodes"] = [dict(n, path=p.path) for n, p in zip(out.node_extras, res.nodes)]
    if "device" not in d:
        d["device"] = _dict(dev) or {"name": str(dev)}
    return d, out


def _roofline_svg(plot, res, dev, rl_obj=None) -> str | None:
    """The roofline chart as inline SVG text (matplotlib; text drawn as paths, no fonts needed)."""
    if hasattr(plot, "render_roofline"):
        data = plot.render_roofline(res, dev, "svg", rl=rl_obj)
        text = data.decode("utf-8") if isinstance(data, bytes) else str(data)
    else:
        fd, tmp = tempfile.mkstemp(suffix=".svg")
        os.close(fd)
        try:
            plot.plot_roofline(res, dev, tmp)
            text = Path(tmp).read_text(encoding="utf-8")
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    start = text.find("<svg")
    return text[start:] if start >= 0 else None


def _run_bench(bench_mod, model, input_shapes, dims, runs, warmup) -> dict:
    kw = {}
    if runs is not None:
        kw["runs"] = runs
    if warmup is not None:
        kw["warmup"] = warmup
    out = bench_mod.bench(model, input_shapes, dims, **kw)
    return _dict(out) or {}


def _compare(res, source, others, input_shapes, dims, bench, runs, warmup, simplify, shape_source, notes,
             options=None) -> dict:
    """The comparison dict: ``onnxstat.compare/1`` when the compare module is there, else totals of each profile."""
    from ..profiler import profile as _profile

    try:
        from ..multi import compare as cmp_mod
    except ImportError:
        cmp_mod = None
    if options:
        if cmp_mod is None or source is None:
            raise UsageError("variants and fidelity need onnxstat.compare and the model itself, not only its profile")
        from ..runtime.variants import compare_models

        cmp = compare_models([source, *others], input_shapes, dims, bench=bench, runs=runs, warmup=warmup,
                             shape_source=shape_source, **options)
        return _dict(cmp) or {}
    if cmp_mod is not None and source is not None:
        cmp = cmp_mod.compare([source, *others], input_shapes, dims, bench=bench, runs=runs, warmup=warmup,
                              shape_source=shape_source)
        if simplify:
            notes["compare"] = "the comparison profiles every model as given (without --simplify)"
        return _dict(cmp) or {}
    notes["compare"] = ("totals only: onnxstat.compare is not available in this build" if cmp_mod is None
                        else "totals only: the baseline was given as a profile")
    try:
        from ..passes import memory
    except ImportError:
        memory = None
    profiles = [res.to_dict()]
    for m in others:
        other = _profile(m, input_shapes, dims, simplify=simplify, shape_source=shape_source, strict_dims=False)
        if memory is not None and other.totals.peak_activation_bytes is None:
            _apply_memory(memory, other)
        profiles.append(other.to_dict())
    return {"profiles": profiles}


# --------------------------------------------------------------------------- public API


@dataclass
class Report:
    """What :func:`report` returns: the self-contained HTML page and the notes about it."""

    html: str
    model: str | None = None
    messages: list[str] = field(default_factory=list)

    def save(self, path) -> Path:
        """Write the page to ``path`` atomically; returns the path."""
        from .files import check_output_path, write_atomic

        check_output_path(path)
        write_atomic(path, self.html)
        return Path(path)

    def to_dict(self) -> dict:
        return {"schema": "onnxstat.report/1", "model": self.model, "html_bytes": len(self.html.encode("utf-8")),
                "messages": list(self.messages)}

    def __repr__(self) -> str:
        from .._callable import short_path

        return (f"Report(model={short_path(self.model)!r}, html={len(self.html.encode('utf-8')):,} bytes, "
                f"messages={len(self.messages)})")


def report(
    model,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    output=None,
    bench: bool = False,
    runs: int | None = None,
    warmup: int | None = None,
    device: Any = None,
    compare: Iterable = (),
    simplify: bool = False,
    shape_source: str = "onnx",
    input_values: Mapping[str, Any] | None = None,
) -> Report:
    """The HTML report of ``model`` (a path, a ModelProto or a :class:`ProfileResult`), as
    :class:`Report`; ``output`` also writes it there (atomically).

    Arguments as :func:`onnxstat.profile`, plus ``bench`` (measure with onnxruntime),
    ``device`` (roofline preset or :class:`onnxstat.passes.roofline.Device`) and ``compare``
    (more models, side by side; ``model`` is the baseline).

    >>> import onnxstat
    >>> rep = onnxstat.report("model.onnx", dims={"batch": 1}, output="model.html")
    >>> rep.save("copy.html")
    """
    from ..result import ProfileResult

    page, messages = build_report(model, input_shapes, dims, bench=bench, runs=runs, warmup=warmup, device=device,
                                  compare=compare, simplify=simplify, shape_source=shape_source,
                                  input_values=input_values)
    path = model.path if isinstance(model, ProfileResult) else (str(model) if isinstance(model, (str, Path)) else None)
    rep = Report(page, path, list(messages))
    if output is not None:
        rep.save(output)
    return rep


from .._callable import make_callable  # noqa: E402

make_callable(__name__, "report")
