"""``bench()``: measured latency and FPS under onnxruntime; per-node kernel times joined to static costs.

Headline numbers come from one session: ``warmup`` runs (not counted; the first
run's latency is reported on its own as ``first_run_ms``), then ``runs`` timed
runs (or as many as fit in ``duration`` seconds), each timed with
``time.perf_counter_ns`` around the run call and nothing else.

* ``latency_ms``: mean, std (sample standard deviation, n-1), min, p50, p90, p95,
  p99, max.  Percentiles interpolate linearly between the two nearest order
  statistics (numpy's default): p_q = x[k] + (x[k+1] - x[k]) * f with
  k + f = (n - 1) * q / 100.
* ``fps`` = batch * 1000 / mean latency in ms.
* ``throughput`` = batch * timed runs / wall-clock seconds of the whole timed loop
  (samples per second, loop overhead included).
* ``session_init_ms``: creating the ``InferenceSession`` (graph optimisation included).

Timing paths (``timing_path`` in the JSON):

* ``run``: ``sess.run(None, feeds)`` with numpy inputs (CPU, the common case);
* ``iobinding:cpu``: inputs bound once as OrtValues, outputs bound to CPU memory;
  used on the CPU when an input or output is bfloat16/float8 (numpy cannot carry them);
* ``iobinding:cuda``: CUDA / TensorRT sessions.  Inputs are copied to the device
  once and outputs are bound to the device, so the timed loop
  (``run_with_iobinding``) measures compute; ``end_to_end_ms`` is a second loop
  of ``sess.run`` with host arrays, host/device copies included.

``per_node``: a *separate* session with onnxruntime's profiler (profiling inflates
latency, so it never touches the headline numbers), same options.  Its
``Node`` events named ``<node>_kernel_time`` are summed per run, averaged over
the profiled runs (warm-up runs dropped) and joined by node name to the static
costs of :func:`onnxstat.profile` on the same input shapes.  onnxruntime names an
unnamed node ``<op_type>_<index>`` where index counts the graph's nodes without
its Constant nodes (they become initializers); the join follows that rule.
The profiled session also writes the optimised model, through which every
kernel is matched to the original nodes it executes
(:mod:`onnxstat.runtime.kernel_match`): a kernel executing one node of its own op type is
``matched``; one executing several, or another op type (BiasGelu for Add + Gelu,
FusedConv, FusedMatMul, NCHWc convolutions), is ``fused`` with the FLOPs of all
its source nodes (``source_nodes``) and the bytes crossing it; a kernel with no
source node (a layout reorder) is ``fused/unmatched`` and listed in
``unmatched_kernels``.  Without the optimised model (it cannot be written, or the
model is over 1 GB) kernels are joined by name: a name equal to an original
node's with a different op type, or ``<node>/<Fusion>/``, is ``fused`` with that
node's costs.  ``--opt-level disable`` gives a 1:1 mapping.  GFLOP/s = FLOPs /
(mean ms * 1e6); GB/s = (bytes read + bytes written) / (mean ms * 1e6).  Every
kernel row also has ``measured_time_s``, ``achieved_flops_per_s`` and
``achieved_bytes_per_s``, and with a device (``options.device``)
``roofline_efficiency`` against the roof at its intensity.

``options.concurrency = N`` (:mod:`onnxstat.runtime.bench_options`): N threads run the
one session; latencies are per request and ``fps`` = ``throughput`` = batch x
requests / wall seconds (aggregate).  Every result records the host (CPU model,
cores, onnxruntime version); threads beyond the cores are warned about.
"""


from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import onnx

from ..errors import ModelError, UsageError  # noqa: F401 - ModelError: onnxstat.bench.ModelError
from ..render.files import check_output_path
from .bench_options import BenchOptions, host_info, merge_options, thread_warnings
from .bench_result import (
    SCHEMA,
    BenchResult,
    print_table,
    render,
    to_csv,
    to_json,
    to_markdown,
    top_nodes,
)
from .bench_result import _node_cells as _node_cells  # noqa: F401 - tests read the cells of a row
from .inputs import bind_user_inputs, check_int_range, make_inputs, model_inputs, to_ort_value
from .kernel_match import unmatched_kernels
from .per_node import KernelTime, join_nodes, ort_node_names, parse_profile, profile_per_node
from .session import (
    DEVICE_OF_PROVIDER,
    EXECUTION_MODES,
    OPT_LEVELS,
    PROVIDER_ALIASES,
    SessionSpec,
    TimingPlan,
    check_used_providers,
    host_runner,
    load_ort,
    make_runner,
    make_session_options,
    parse_providers,
    plan_providers,
    plan_timing,
    provider_name,
    save_optimized,
    short_name,
)
from .timing import Timing, batch_size, fps_of, latency_stats, percentile, throughput_of, time_runs, time_session

# --------------------------------------------------------------------------- bench()


def bench(
    model: str | os.PathLike | onnx.ModelProto,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    options: BenchOptions | None = None,
    **overrides: Any,
) -> BenchResult:
    """Measure latency and FPS of ``model`` under onnxruntime (see the module docstring).

    ``input_shapes``/``dims`` follow :func:`onnxstat.profile`.  The settings are a
    :class:`onnxstat.runtime.bench_options.BenchOptions` (``options``; defaults when
    None), and every field of it may also be given as a keyword argument, which
    replaces that field (``runs=50``, ``per_node=True``): ``inputs`` maps input names
    to arrays or ``.npy`` paths (the rest are generated); ``duration`` (seconds)
    replaces ``runs``; ``per_node`` adds per-kernel times joined to the static costs
    (``static_profile``: a ProfileResult on the same shapes to reuse);
    ``available_providers`` overrides onnxruntime's list (tests).

    >>> import onnxstat
    >>> b = onnxstat.bench("model.onnx", dims={"batch": 1}, runs=50)
    >>> b.mean_ms, b.fps, b.providers_used
    """
    from ..profiler import norm_dims, norm_input_shapes

    opts = merge_options(options, overrides, "bench")
    _check_options(opts)
    device = _roofline_device(opts)
    opts = opts.replace(int_range=check_int_range(opts.int_range))
    requested = parse_providers(opts.providers)
    if opts.save_optimized is not None:
        check_output_path(opts.save_optimized)
    input_shapes = norm_input_shapes(input_shapes)
    dims = norm_dims(dims)

    ort = load_ort()
    available = (list(opts.available_providers) if opts.available_providers is not None
                 else list(ort.get_available_providers()))
    planned, warnings = plan_providers(requested, available, ort.__version__)
    warnings.extend(thread_warnings(opts.threads, opts.inter_threads, opts.concurrency))

    inp = _prepare_inputs(model, input_shapes, dims, opts, warnings)
    spec = SessionSpec(ort, inp.source, {"threads": opts.threads, "inter_threads": opts.inter_threads,
                                         "execution_mode": opts.execution_mode, "opt_level": opts.opt_level},
                       planned, opts.device_id)
    if opts.inter_threads and opts.execution_mode == "sequential":
        warnings.append("inter-op threads only matter with --execution-mode parallel")

    timing = time_session(spec, inp.feeds, inp.dtypes, opts, inp.generated_ints, len(requested) > 1, warnings)
    if opts.save_optimized is not None:
        save_optimized(spec, opts.save_optimized)
    nodes, op_rows, per_node_info = [], [], None
    if opts.per_node:
        nodes, op_rows, per_node_info = profile_per_node(spec, inp.feeds, inp.dtypes, opts, model, inp.lm, inp.shapes,
                                                         device, warnings)
    return _result(opts, inp, requested, timing, nodes, op_rows, per_node_info, warnings, ort.__version__)


def _check_options(opts: BenchOptions) -> None:
    """One error line for a setting out of range."""
    if opts.opt_level not in OPT_LEVELS:
        raise UsageError(f"unknown optimisation level {opts.opt_level!r}: use {', '.join(OPT_LEVELS)}")
    if opts.execution_mode not in EXECUTION_MODES:
        raise UsageError(f"unknown execution mode {opts.execution_mode!r}: use sequential or parallel")
    warmup, runs, duration = opts.warmup, opts.runs, opts.duration
    if not isinstance(warmup, int) or warmup < 0:
        raise UsageError(f"warmup must be a non-negative integer, got {warmup!r}")
    if duration is None and (not isinstance(runs, int) or runs < 1):
        raise UsageError(f"runs must be a positive integer, got {runs!r}")
    if duration is not None and not (isinstance(duration, (int, float)) and duration > 0 and math.isfinite(duration)):
        raise UsageError(f"duration must be a positive number of seconds, got {duration!r}")
    for what, v in (("threads", opts.threads), ("inter-op threads", opts.inter_threads)):
        if v is not None and (not isinstance(v, int) or v < 0):
            raise UsageError(f"{what} must be a non-negative integer (0 = onnxruntime's default), got {v!r}")
    n = opts.per_node_runs
    if n is not None and (not isinstance(n, int) or n < 1):
        raise UsageError(f"per-node runs must be a positive integer, got {n!r}")


def _roofline_device(opts: BenchOptions):
    """The roofline device of ``opts.device`` (a Device, a preset name or None); checks ``opts.trace``."""
    if opts.trace is not None:
        if not opts.per_node:
            raise UsageError("--trace keeps the trace of the per-node profile: add --per-node")
        check_output_path(opts.trace)
    device = opts.device
    if isinstance(device, str):
        from ..passes.roofline import get_device

        device = get_device(device)
    return device


# --------------------------------------------------------------------------- inputs


@dataclass
class _Inputs:
    """The model loaded and the arrays every session of one benchmark is fed."""

    lm: Any
    #: what onnxruntime loads: the model's path, or its serialised bytes
    source: Any
    feeds: dict[str, np.ndarray]
    dtypes: dict[str, str]
    shapes: dict[str, tuple]
    #: inputs the user gave (``opts.inputs``), the others are generated
    user: set[str]
    batch: int
    #: an integer input was generated (a failed first run then hints at --int-range)
    generated_ints: bool


def _prepare_inputs(model, input_shapes: dict, dims: dict, opts: BenchOptions, warnings: list[str]) -> _Inputs:
    """Load ``model``, resolve its input shapes, bind the user's arrays and generate the rest."""
    from ..model.loader import load
    from ..shapes.resolve import resolve
    from .limits import address_space_cap, check_run, resolve_cap

    lm = load(model)
    if not lm.weights_available:
        lm.full_model()  # raises ModelError naming the missing external data
    declared = model_inputs(lm.model)
    user_arrays, input_shapes, dims = bind_user_inputs(declared, opts.inputs or {}, input_shapes, dims)
    with address_space_cap(resolve_cap(lm.model)):
        sh = resolve(lm, input_shapes, dims)
    check_run(lm.model, sh, "bench")
    warnings.extend(_input_warnings(sh))
    resolved = [(n, d, tuple(int(x) for x in s) if s is not None else None) for n, d, s in sh.inputs]
    to_generate = [i for i in resolved if i[0] not in user_arrays]
    feeds = make_inputs(to_generate, seed=opts.seed, int_range=opts.int_range)
    feeds.update(user_arrays)
    feeds = {n: feeds[n] for n, _d, _s in resolved}
    dtypes = {n: d for n, d, _s in resolved}
    shapes = {n: tuple(int(x) for x in feeds[n].shape) for n in feeds}
    batch = batch_size([(n, dtypes[n], shapes[n]) for n in feeds], declared, opts.batch_dim)
    source = str(lm.path) if lm.path is not None else lm.full_model().SerializeToString()
    return _Inputs(lm, source, feeds, dtypes, shapes, set(user_arrays), batch,
                   generated_ints=any(d.startswith(("int", "uint")) for n, d, _s in to_generate))


def _input_warnings(sh) -> list[str]:
    out = [w for w in sh.warnings if w.startswith("--dim")]
    dims = [f"{k} ({v})" for k, v in sh.unresolved.items() if str(v).startswith("input ")]
    if dims:
        out.append(f"input dims not given, set to 1: {', '.join(dims)}; set them with --dim NAME=VALUE or --input-shape")
    out.extend(w for w in sh.warnings if "unknown rank" in w)
    return out


# --------------------------------------------------------------------------- the result


def _result(opts: BenchOptions, inp: _Inputs, requested: list[str], timing: Timing, nodes: list[dict],
            op_rows: list[dict], per_node_info: dict | None, warnings: list[str], ort_version: str) -> BenchResult:
    samples, wall_ns, per_thread = timing.samples, timing.wall_ns, timing.per_thread
    n_timed = len(samples)
    stats = latency_stats(samples)
    batch = inp.batch
    return BenchResult(
        model=str(inp.lm.path) if inp.lm.path is not None else None,
        provider_requested=requested,
        providers_used=timing.used,
        session_options={
            "intra_op_threads": opts.threads if opts.threads is not None else 0,
            "inter_op_threads": opts.inter_threads if opts.inter_threads is not None else 0,
            "execution_mode": opts.execution_mode,
            "graph_optimization_level": opts.opt_level,
            "save_optimized": str(opts.save_optimized) if opts.save_optimized is not None else None,
            "device_id": opts.device_id,
        },
        inputs=[{"name": n, "dtype": inp.dtypes[n], "shape": list(inp.shapes[n]),
                 "source": "user" if n in inp.user else "generated"} for n in inp.feeds],
        batch=batch,
        warmup=opts.warmup,
        runs=n_timed,
        duration_s=opts.duration,
        latency_ms=stats,
        first_run_ms=timing.first_ns / 1e6,
        session_init_ms=timing.init_ns / 1e6,
        fps=fps_of(batch, stats["mean"]) if per_thread is None else throughput_of(batch, n_timed, wall_ns),
        throughput=throughput_of(batch, n_timed, wall_ns),
        wall_ms=wall_ns / 1e6,
        timing_path=timing.plan.label,
        end_to_end_ms=timing.end_to_end,
        nodes=nodes,
        by_op_type=op_rows,
        per_node=per_node_info,
        warnings=list(dict.fromkeys(warnings)),
        onnxruntime_version=ort_version,
        seed=opts.seed,
        int_range=opts.int_range,
        samples_ms=[s / 1e6 for s in samples],
        host=host_info(ort_version),
        concurrency=None if per_thread is None else {
            "threads": opts.concurrency, "requests": n_timed, "requests_per_thread": per_thread,
            "throughput": throughput_of(batch, n_timed, wall_ns)},
        unmatched_kernels=unmatched_kernels(nodes),
    )


def _signature():
    """bench()'s signature with every BenchOptions field as a keyword (what help() shows)."""
    import dataclasses
    import inspect

    sig = inspect.signature(bench)
    params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    params += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
               for f in dataclasses.fields(BenchOptions)]
    return sig.replace(parameters=params)


bench.__signature__ = _signature()  # type: ignore[attr-defined]

__all__ = [
    "SCHEMA", "BenchResult", "bench", "latency_stats", "percentile", "plan_providers", "plan_timing",
    "check_used_providers", "parse_providers", "batch_size", "parse_profile", "join_nodes", "ort_node_names",
    "render", "print_table", "to_json", "to_markdown", "to_csv", "time_runs", "make_runner", "to_ort_value",
    # moved to bench_result, per_node, session and timing; still importable from here
    "BenchOptions", "DEVICE_OF_PROVIDER", "EXECUTION_MODES", "KernelTime", "OPT_LEVELS", "PROVIDER_ALIASES",
    "TimingPlan", "fps_of", "host_runner", "make_session_options", "provider_name", "short_name", "throughput_of",
    "top_nodes",
]


from .._callable import make_callable  # noqa: E402

make_callable(__name__, "bench")
