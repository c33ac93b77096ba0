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

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import onnx

from .bench_options import host_info, thread_warnings, time_concurrent
from ..errors import ModelError, UsageError
from ..render.files import check_output_path
from .kernel_match import group_traffic, kernel_roofline, tensor_consumers, unmatched_kernels
from .inputs import (
    DEFAULT_INT_RANGE,
    ORTVALUE_ONLY,
    bind_input,
    bind_user_inputs,
    check_int_range,
    make_inputs,
    model_inputs,
    ort_feed,
    to_ort_value,
)
from .ort_log import captured, quiet

SCHEMA = "onnxstat.bench/1"

#: short provider names accepted by ``providers`` / ``--provider``
PROVIDER_ALIASES: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "dnnl": "DnnlExecutionProvider",
    "dml": "DmlExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "xnnpack": "XnnpackExecutionProvider",
    "qnn": "QNNExecutionProvider",
    "nnapi": "NnapiExecutionProvider",
    "cann": "CANNExecutionProvider",
    "webgpu": "WebGpuExecutionProvider",
    "azure": "AzureExecutionProvider",
}
#: sessions whose first provider is one of these run on a CUDA device: IO binding there
DEVICE_OF_PROVIDER: dict[str, str] = {
    "CUDAExecutionProvider": "cuda",
    "TensorrtExecutionProvider": "cuda",
}
OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}
EXECUTION_MODES = {"sequential": "ORT_SEQUENTIAL", "parallel": "ORT_PARALLEL"}
CONTROL_FLOW = {"If", "Loop", "Scan"}
PERCENTILES = (50, 90, 95, 99)
#: profiled runs for --per-node unless given
DEFAULT_PER_NODE_RUNS = 20
#: --per-node matches fused kernels through the optimised model onnxruntime writes up to this model size
MATCH_MAX_BYTES = 1 << 30
#: a progress bar appears when the timed loop is expected to take longer than this
PROGRESS_AFTER_S = 1.0


# --------------------------------------------------------------------------- providers


def provider_name(name: str) -> str:
    """``"cuda"`` / ``"CUDAExecutionProvider"`` (any case) -> ``"CUDAExecutionProvider"``."""
    key = str(name).strip()
    if key.lower() in PROVIDER_ALIASES:
        return PROVIDER_ALIASES[key.lower()]
    for full in set(PROVIDER_ALIASES.values()):
        if key.lower() == full.lower():
            return full
    if key.endswith("ExecutionProvider"):
        return key
    raise UsageError(
        f"unknown provider {name!r}: use one of {', '.join(sorted(PROVIDER_ALIASES))} "
        "or a full onnxruntime name such as CUDAExecutionProvider"
    )


def parse_providers(providers: str | Sequence[str]) -> list[str]:
    """``"cuda,cpu"`` or ``["cuda", "cpu"]`` -> full provider names, in order, without repeats."""
    items = providers.split(",") if isinstance(providers, str) else list(providers)
    out: list[str] = []
    for item in items:
        if not str(item).strip():
            continue
        full = provider_name(item)
        if full not in out:
            out.append(full)
    if not out:
        raise UsageError("no execution provider given (for example --provider cpu)")
    return out


def short_name(full: str) -> str:
    for alias, name in PROVIDER_ALIASES.items():
        if name == full:
            return alias
    return full


def plan_providers(requested: Sequence[str], available: Sequence[str], ort_version: str = "?") -> tuple[list[str], list[str]]:
    """Providers to ask onnxruntime for, and warnings.

    Requested providers the installed onnxruntime lacks are dropped with a
    warning when a later (fallback) provider is available; when none is, the
    error names the available ones (exit code 2).
    """
    requested = list(requested)
    avail = [p for p in requested if p in available]
    missing = [p for p in requested if p not in available]
    listed = ", ".join(available) or "none"
    if not avail:
        want = ", ".join(f"{short_name(p)} ({p})" for p in missing)
        hint = " (onnxruntime-gpu for cuda/tensorrt)" if any(p in DEVICE_OF_PROVIDER for p in missing) else ""
        raise UsageError(
            f"execution provider {want} is not available in this onnxruntime {ort_version} "
            f"(available: {listed}); install an onnxruntime build with it{hint} "
            f"or list a fallback, e.g. --provider {short_name(missing[0])},cpu"
        )
    warnings = [
        f"execution provider {short_name(p)} ({p}) is not available in this onnxruntime {ort_version} "
        f"(available: {listed}); falling back to {short_name(avail[0])}"
        for p in missing
    ]
    return avail, warnings


def check_used_providers(planned: Sequence[str], used: Sequence[str], fallback_listed: bool) -> list[str]:
    """onnxruntime silently drops a provider it cannot initialise (no driver, no GPU):
    an error unless the user listed a fallback, then a warning."""
    first = planned[0]
    if first in used:
        return []
    msg = (
        f"execution provider {short_name(first)} ({first}) could not be initialised; "
        f"onnxruntime is using {', '.join(used) or 'nothing'}"
    )
    if not fallback_listed:
        raise UsageError(msg + f"; list a fallback to accept that, e.g. --provider {short_name(first)},cpu")
    return [msg]


@dataclass(frozen=True)
class TimingPlan:
    """How runs are issued: ``kind`` "run" or "iobinding", on ``device``; ``end_to_end``
    adds a host-to-host loop (device sessions only)."""

    kind: str
    device: str
    end_to_end: bool

    @property
    def label(self) -> str:
        return "run" if self.kind == "run" else f"iobinding:{self.device}"


def plan_timing(providers_used: Sequence[str], input_dtypes: Sequence[str], output_types: Sequence[str]) -> TimingPlan:
    """Pick the timing path from the providers the session uses and the I/O dtypes.

    ``output_types`` are onnxruntime's strings (``"tensor(float)"``).  Device
    sessions bind inputs and outputs on the device, unless an input is a string
    tensor (onnxruntime cannot bind those: plain ``run``, copies included).  On the
    CPU, ``run`` unless an output is bfloat16/float8 (numpy cannot receive it).
    """
    device = DEVICE_OF_PROVIDER.get(providers_used[0], "cpu") if providers_used else "cpu"
    has_string = "string" in input_dtypes
    if device != "cpu":
        if has_string:
            return TimingPlan("run", device, False)
        return TimingPlan("iobinding", device, True)
    special_out = any(t.startswith("tensor(") and t[7:-1] in ORTVALUE_ONLY for t in output_types)
    if special_out and not has_string:
        return TimingPlan("iobinding", "cpu", False)
    return TimingPlan("run", "cpu", False)


# --------------------------------------------------------------------------- statistics


def percentile(sorted_values: Sequence[int | float], q: int) -> float:
    """Linear-interpolation percentile of ascending values for an integer ``q`` in 0..100."""
    n = len(sorted_values)
    if n == 0:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    num = (n - 1) * int(q)
    k, r = divmod(num, 100)
    lo = sorted_values[k]
    if r == 0:
        return float(lo)
    hi = sorted_values[k + 1]
    return float(lo + (hi - lo) * r / 100)


def latency_stats(samples_ns: Sequence[int]) -> dict[str, float]:
    """Latencies in nanoseconds -> mean, std (n-1), min, p50, p90, p95, p99, max in milliseconds."""
    if not samples_ns:
        raise ValueError("no latencies")
    s = sorted(samples_ns)
    n = len(s)
    mean = math.fsum(s) / n
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in s) / (n - 1)) if n > 1 else 0.0
    out = {"mean": mean / 1e6, "std": std / 1e6, "min": s[0] / 1e6}
    for q in PERCENTILES:
        out[f"p{q}"] = percentile(s, q) / 1e6
    out["max"] = s[-1] / 1e6
    return out


def fps_of(batch: int, mean_ms: float) -> float | None:
    """Samples per second from the mean latency: batch * 1000 / mean_ms."""
    return batch * 1000.0 / mean_ms if mean_ms > 0 else None


def throughput_of(batch: int, runs: int, wall_ns: int) -> float | None:
    """Samples per second over the timed loop's wall time: batch * runs / seconds."""
    return batch * runs * 1e9 / wall_ns if wall_ns > 0 else None


# --------------------------------------------------------------------------- batch size


def batch_size(inputs: Sequence[tuple[str, str, tuple]], declared: Sequence[tuple[str, str, tuple | None]],
               batch_dim: int | str | None = None) -> int:
    """Samples per run.

    Default: the leading dim of the first input (1 for a scalar or no input).
    ``batch_dim`` may be an axis of the first input (``1``), ``INPUT:AXIS``,
    a named dim of the model inputs (``batch``) or an input name (its axis 0).
    """
    shapes = {n: tuple(s or ()) for n, _d, s in inputs}
    if batch_dim is None:
        if not inputs:
            return 1
        first = shapes[inputs[0][0]]
        return int(first[0]) if first else 1
    spec = str(batch_dim).strip()
    if not inputs:
        raise UsageError(f"--batch-dim {spec}: the model has no inputs")

    def axis_of(name: str, axis_text: str) -> int:
        try:
            axis = int(axis_text)
        except ValueError:
            raise UsageError(f"--batch-dim {spec}: axis {axis_text!r} is not an integer") from None
        shp = shapes[name]
        if not -len(shp) <= axis < len(shp):
            raise UsageError(f"--batch-dim {spec}: input {name!r} has rank {len(shp)}, no axis {axis}")
        return int(shp[axis])

    if spec.lstrip("-").isdigit():
        return axis_of(inputs[0][0], spec)
    if ":" in spec:
        name, _, axis = spec.rpartition(":")
        if name not in shapes:
            raise UsageError(f"--batch-dim {spec}: {name!r} is not a model input (inputs: {', '.join(shapes)})")
        return axis_of(name, axis)
    for name, _dtype, shp in declared:
        for k, d in enumerate(shp or ()):
            if d == spec and name in shapes and k < len(shapes[name]):
                return int(shapes[name][k])
    if spec in shapes:
        return axis_of(spec, "0")
    syms = sorted({d for _n, _t, s in declared for d in (s or ()) if isinstance(d, str)})
    raise UsageError(
        f"--batch-dim {spec}: not an axis, INPUT:AXIS, input name or named dim "
        f"(inputs: {', '.join(shapes)}; named dims: {', '.join(syms) or 'none'})"
    )


# --------------------------------------------------------------------------- timing


def time_runs(run: Callable[[], Any], runs: int | None = None, duration_s: float | None = None,
              progress: Callable[[int, int], None] | None = None, progress_every: int = 1) -> tuple[list[int], int]:
    """Call ``run`` ``runs`` times (or until ``duration_s`` has passed, at least once).

    Returns (per-run latencies in ns, wall-clock ns of the whole loop).  Only the
    ``run()`` call sits between the two clock reads.  ``progress(done, elapsed_ns)``
    is called every ``progress_every`` runs, outside the timed region.
    """
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    if duration_s is None:
        if runs is None or runs < 1:
            raise UsageError("runs must be at least 1")
        start = clock()
        if progress is None:
            for _ in range(runs):
                t0 = clock()
                run()
                append(clock() - t0)
        else:
            for i in range(runs):
                t0 = clock()
                run()
                append(clock() - t0)
                if (i + 1) % progress_every == 0:
                    progress(i + 1, clock() - start)
        wall = clock() - start
        return samples, wall
    deadline_ns = int(duration_s * 1e9)
    start = clock()
    i = 0
    while True:
        t0 = clock()
        run()
        t1 = clock()
        append(t1 - t0)
        i += 1
        if progress is not None and i % progress_every == 0:
            progress(i, t1 - start)
        if t1 - start >= deadline_ns:
            break
    return samples, clock() - start


class _ProgressBar:
    """A rich progress bar on stderr (transient); a no-op when disabled."""

    def __init__(self, enabled: bool, total: float, label: str, unit_is_time: bool):
        self.enabled = enabled
        self.unit_is_time = unit_is_time
        self._p = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._p = Progress(
                TextColumn("[progress.description]{task.description}"), BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True, refresh_per_second=4,
            )
            self._task = self._p.add_task(label, total=total)

    def __enter__(self):
        if self._p is not None:
            self._p.start()
        return self

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.stop()
        return False

    def callback(self) -> Callable[[int, int], None] | None:
        if self._p is None:
            return None
        p, task = self._p, self._task
        if self.unit_is_time:
            return lambda done, elapsed_ns: p.update(task, completed=elapsed_ns / 1e9)
        return lambda done, elapsed_ns: p.update(task, completed=done)


# --------------------------------------------------------------------------- session


def _ort():
    from ..extras import require

    return require("onnxruntime", "measuring latency")


def make_session_options(ort, *, threads=None, inter_threads=None, execution_mode="sequential", opt_level="all",
                         profile_prefix: str | None = None, optimized_path: str | None = None):
    so = quiet(ort)
    if threads is not None:
        so.intra_op_num_threads = int(threads)
    if inter_threads is not None:
        so.inter_op_num_threads = int(inter_threads)
    so.execution_mode = getattr(ort.ExecutionMode, EXECUTION_MODES[execution_mode])
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPT_LEVELS[opt_level])
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    if optimized_path:
        so.optimized_model_filepath = optimized_path
    return so


def _one_line(exc: BaseException, limit: int = 300) -> str:
    return " ".join(str(exc).split())[:limit]


def _create_session(ort, source, so, providers: list[str], device_id: int):
    opts = [({"device_id": str(device_id)} if p in DEVICE_OF_PROVIDER else {}) for p in providers]
    t0 = time.perf_counter_ns()
    try:
        with captured() as log:
            sess = ort.InferenceSession(source, so, providers=providers, provider_options=opts)
    except Exception as exc:
        raise ModelError(log.fold(f"onnxruntime cannot create a session for the model: {_one_line(exc)}")) from None
    return sess, time.perf_counter_ns() - t0


def make_runner(sess, feeds: Mapping[str, np.ndarray], dtypes: Mapping[str, str], plan: TimingPlan,
                device_id: int = 0, ort=None) -> tuple[Callable[[], Any], list]:
    """The zero-argument callable the timed loop calls, plus objects to keep alive.

    ``run``: ``sess.run(None, feeds)`` (bfloat16/float8 inputs as CPU OrtValues).  ``iobinding``: every input bound once on
    ``plan.device`` (strings stay on the CPU), every tensor output bound to the
    device (other outputs to the CPU); device runs synchronise the outputs.
    """
    if ort is None and (plan.kind != "run" or any(d in ORTVALUE_ONLY for d in dtypes.values())):
        ort = _ort()
    if plan.kind == "run":
        run = sess.run
        feeds = {n: ort_feed(a, dtypes[n], ort=ort) for n, a in feeds.items()}
        return (lambda: run(None, feeds)), [feeds]
    io = sess.io_binding()
    keep: list = [io]
    for name, arr in feeds.items():
        keep.append(bind_input(io, name, arr, dtypes[name], plan.device, device_id, ort=ort))
    for o in sess.get_outputs():
        on_device = plan.device != "cpu" and o.type.startswith("tensor(") and o.type != "tensor(string)"
        io.bind_output(o.name, plan.device if on_device else "cpu", device_id if on_device else 0)
    run_io = sess.run_with_iobinding
    if plan.device == "cpu":
        return (lambda: run_io(io)), keep
    sync = io.synchronize_outputs

    def run_device():
        run_io(io)
        sync()

    return run_device, keep


def host_runner(sess, feeds, dtypes, ort=None) -> tuple[Callable[[], Any], list]:
    """End-to-end runner: host inputs in, host outputs out (copies included)."""
    out_types = [o.type for o in sess.get_outputs()]
    plan = plan_timing(["CPUExecutionProvider"], list(dtypes.values()), out_types)
    return make_runner(sess, feeds, dtypes, plan, 0, ort=ort)


# --------------------------------------------------------------------------- per-node join


@dataclass
class KernelTime:
    name: str
    op_type: str
    provider: str
    total_us: float = 0.0
    calls: int = 0
    first_ts: float = 0.0
    #: µs per counted run (index = run), for the median
    per_run_us: dict[int, float] = field(default_factory=dict)

    def median_us(self, n_runs: int) -> float:
        vals = sorted(self.per_run_us.get(i, 0.0) for i in range(n_runs))
        return percentile(vals, 50) if vals else 0.0


def parse_profile(events: Sequence[Mapping[str, Any]], skip_runs: int = 0) -> tuple[dict[str, KernelTime], int, list[float]]:
    """onnxruntime profiler events -> per-kernel totals over the counted runs.

    Node events are assigned to the ``model_run`` interval that contains them;
    the first ``skip_runs`` runs (warm-up) are dropped.  Returns (kernels by name,
    counted runs, model_run durations in µs of the counted runs).
    """
    runs = sorted((float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0)))
                  for e in events if e.get("cat") == "Session" and e.get("name") == "model_run")
    counted = runs[skip_runs:]
    starts = [r[0] for r in counted]
    kernels: dict[str, KernelTime] = {}
    import bisect

    for e in events:
        if e.get("cat") != "Node":
            continue
        name = str(e.get("name", ""))
        if not name.endswith("_kernel_time"):
            continue
        ts = float(e.get("ts", 0))
        k = 0
        if counted:
            k = bisect.bisect_right(starts, ts) - 1
            if k < 0 or ts > counted[k][1]:
                continue
        elif runs:
            continue
        node = name[: -len("_kernel_time")]
        args = e.get("args") or {}
        kt = kernels.get(node)
        if kt is None:
            kt = kernels[node] = KernelTime(node, str(args.get("op_name", "?")), str(args.get("provider", "?")), first_ts=ts)
        dur = float(e.get("dur", 0))
        kt.total_us += dur
        kt.per_run_us[k] = kt.per_run_us.get(k, 0.0) + dur
        kt.calls += 1
        kt.first_ts = min(kt.first_ts, ts)
    n = len(counted) if runs else 1
    return kernels, n, [b - a for a, b in counted]


def ort_node_names(model: onnx.ModelProto) -> dict[str, list[tuple[str, str]]]:
    """The name onnxruntime's profiler gives each node -> [(static node path, op_type)], main graph first.

    A named node keeps its name; an unnamed one is ``<op_type>_<i>`` where ``i``
    counts the nodes of its graph that are not Constant nodes (onnxruntime turns
    those into initializers when it loads the graph).
    """
    from ..model.graph import node_label, subgraphs

    out: dict[str, list[tuple[str, str]]] = {}

    def walk(graph: onnx.GraphProto, path: str) -> None:
        k = 0
        nested = []
        for i, n in enumerate(graph.node):
            label = node_label(n, i)
            full = f"{path}/{label}" if path else label
            is_const = n.op_type == "Constant" and n.domain in ("", "ai.onnx")
            if not is_const:
                ort_name = n.name or f"{n.op_type}_{k}"
                out.setdefault(ort_name, []).append((full, n.op_type))
                k += 1
            for attr, g in subgraphs(n):
                nested.append((g, f"{full}/{attr}"))
        for g, p in nested:
            walk(g, p)

    walk(model.graph, "")
    return out


def _num(x) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _rate(amount, ms: float) -> float | None:
    """amount / (ms * 1e6): FLOPs -> GFLOP/s, bytes -> GB/s."""
    a = _num(amount)
    if a is None or not ms or ms <= 0:
        return None
    return a / (ms * 1e6)


def join_nodes(kernels: Mapping[str, KernelTime], n_runs: int, static_nodes: Sequence[Any],
               model: onnx.ModelProto, sources: Mapping[str, Sequence[str]] | None = None,
               ) -> tuple[list[dict], list[dict], list[str]]:
    """Per-kernel rows (execution order), per-op-type rows (by time) and notes.

    ``sources`` (from :func:`onnxstat.runtime.kernel_match.fused_sources`) maps kernel names
    to the original nodes they execute; a kernel found there gets the FLOPs and bytes
    of all of them (``source_nodes``), others are joined by name as before.
    """
    names = ort_node_names(model)
    op_of_path = {p: op for cands in names.values() for p, op in cands}
    consumers = None
    by_path = {n.path: n for n in static_nodes}
    rows: list[dict] = []
    matched_paths: set[str] = set()
    total_ms = sum(k.total_us for k in kernels.values() if k.op_type not in CONTROL_FLOW) / 1000.0 / max(n_runs, 1)
    for kt in sorted(kernels.values(), key=lambda k: k.first_ts):
        mean_ms = kt.total_us / 1000.0 / max(n_runs, 1)
        node = None
        path = None
        status = "fused/unmatched"
        src = list((sources or {}).get(kt.name) or ())
        cands = names.get(kt.name)
        if src:
            cands = None
            node, path, status = _join_sources(kt, src, by_path, op_of_path)
            op = op_of_path.get(path)
        if cands is None and not src and "/" in kt.name:
            parts = kt.name.rstrip("/").split("/")
            for cut in range(len(parts) - 1, 0, -1):
                cands = names.get("/".join(parts[:cut]))
                if cands:
                    break
        if cands:
            same = [c for c in cands if c[1] == kt.op_type and kt.name in names]
            path, op = (same or cands)[0]
            node = by_path.get(path)
            status = "matched" if same else "fused"
        row = {
            "name": kt.name,
            "node": path,
            "op_type": kt.op_type,
            "static_op_type": None if path is None else op,
            "status": status,
            "provider": kt.provider,
            "calls_per_run": kt.calls / max(n_runs, 1),
            "mean_ms": mean_ms,
            "median_ms": kt.median_us(max(n_runs, 1)) / 1000.0,
            "share": (mean_ms / total_ms) if total_ms > 0 and kt.op_type not in CONTROL_FLOW else None,
            "flops": node.flops if node is not None else None,
            "bytes": node.memory_traffic_bytes if node is not None else None,
        }
        if src:
            row["source_nodes"] = src
            group = [by_path.get(p) for p in src]
            row["flops"], row["bytes"] = _sum_costs(group)
            if len(src) > 1 and row["bytes"] is not None:  # a fused kernel moves what crosses its boundary
                if consumers is None:
                    consumers = tensor_consumers(static_nodes)
                inside = group_traffic(group, consumers, [o.name for o in model.graph.output])
                if inside is not None:
                    row["bytes"] = min(row["bytes"], inside)
            matched_paths.update(src)
        if kt.op_type in CONTROL_FLOW:
            row["includes_subgraphs"] = True
        row["gflops_per_s"] = _rate(row["flops"], mean_ms)
        row["gb_per_s"] = _rate(row["bytes"], mean_ms)
        if path is not None:
            matched_paths.add(path)
        rows.append(row)
    # per op type: matched nodes under their static op type, fused kernels under the kernel's op type
    groups: dict[tuple[str, str], dict] = {}
    for r in rows:
        if r.get("includes_subgraphs"):
            continue
        key = (r["op_type"], "matched" if r["status"] == "matched" else r["status"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"op_type": key[0], "status": key[1], "kernels": 0, "mean_ms": 0.0,
                               "flops": 0 if r["flops"] is not None else None,
                               "bytes": 0 if r["bytes"] is not None else None}
        g["kernels"] += 1
        g["mean_ms"] += r["mean_ms"]
        for k in ("flops", "bytes"):
            if g[k] is not None and r[k] is not None:
                g[k] = g[k] + r[k]
            else:
                g[k] = None
    op_rows = sorted(groups.values(), key=lambda g: (-g["mean_ms"], g["op_type"]))
    for g in op_rows:
        g["share"] = g["mean_ms"] / total_ms if total_ms > 0 else None
        g["gflops_per_s"] = _rate(g["flops"], g["mean_ms"])
        g["gb_per_s"] = _rate(g["bytes"], g["mean_ms"])
    notes = []
    untimed = [n for n in static_nodes if n.kind == "compute" and n.path not in matched_paths]
    if untimed:
        fl = sum(_num(n.flops) or 0 for n in untimed)
        shown = ", ".join(n.path for n in untimed[:8]) + (f" and {len(untimed) - 8} more" if len(untimed) > 8 else "")
        notes.append(
            f"{len(untimed)} compute node(s) have no kernel of their own (fused or removed by the optimizer; "
            f"{fl:,.0f} FLOPs): {shown}; use --opt-level disable for a 1:1 mapping"
        )
    unmatched = [r for r in rows if r["status"] == "fused/unmatched"]
    if unmatched:
        notes.append(f"{len(unmatched)} kernel(s) match no original node (fused by onnxruntime): no static FLOPs/bytes for them")
    return rows, op_rows, notes


def _join_sources(kt: KernelTime, src: Sequence[str], by_path: Mapping[str, Any],
                  op_of_path: Mapping[str, str]) -> tuple[Any, str, str]:
    """(static node shown, its path, status) of a kernel that executes the original nodes ``src``."""
    path = src[0]
    for p in src:  # the node the kernel is named after, else the one with the most FLOPs
        if p == kt.name or kt.name.startswith(p + "/"):
            path = p
            break
    else:
        costly = [p for p in src if by_path.get(p) is not None]
        if costly:
            path = max(costly, key=lambda p: _num(by_path[p].flops) or 0.0)
    same = len(src) == 1 and kt.op_type == op_of_path.get(path)
    return by_path.get(path), path, "matched" if same else "fused"


def _sum_costs(nodes: Sequence[Any]) -> tuple[Any, Any]:
    """Sum of FLOPs and of memory traffic of static nodes (None when one is missing or symbolic)."""
    if not nodes or any(n is None for n in nodes):
        return None, None
    flops = [n.flops for n in nodes]
    nbytes = [n.memory_traffic_bytes for n in nodes]
    ok = all(isinstance(v, (int, float)) for v in flops + nbytes)
    return (sum(flops), sum(nbytes)) if ok else (None, None)


# --------------------------------------------------------------------------- result


@dataclass
class BenchResult:
    """What :func:`bench` returns; :meth:`to_dict` is the ``onnxstat.bench/1`` contract."""

    model: str | None
    provider_requested: list[str]
    providers_used: list[str]
    session_options: dict[str, Any]
    inputs: list[dict[str, Any]]
    batch: int
    warmup: int
    runs: int
    latency_ms: dict[str, float]
    first_run_ms: float
    session_init_ms: float
    fps: float | None
    throughput: float | None
    timing_path: str = "run"
    duration_s: float | None = None
    wall_ms: float | None = None
    end_to_end_ms: dict[str, float] | None = None
    nodes: list[dict] = field(default_factory=list)
    by_op_type: list[dict] = field(default_factory=list)
    per_node: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    onnxruntime_version: str = ""
    seed: int = 0
    int_range: tuple[int, int] = DEFAULT_INT_RANGE
    samples_ms: list[float] = field(default_factory=list, repr=False)
    #: the machine: CPU model, cores, onnxruntime version (bench_options.host_info)
    host: dict[str, Any] = field(default_factory=dict)
    #: with --concurrency N: threads, requests, requests per thread, aggregate throughput
    concurrency: dict[str, Any] | None = None
    #: kernels that execute no original node: name, op_type, time_s
    unmatched_kernels: list[dict] = field(default_factory=list)

    @property
    def mean_ms(self) -> float:
        return self.latency_ms["mean"]

    def __repr__(self) -> str:
        from .._callable import short_path

        return (f"BenchResult(model={short_path(self.model)!r}, mean={self.latency_ms.get('mean', 0):.4g} ms, "
                f"p50={self.latency_ms.get('p50', 0):.4g} ms, fps={self.fps or 0:.1f}, runs={self.runs}, "
                f"providers={','.join(p.replace('ExecutionProvider', '') for p in self.providers_used)})")

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "provider_requested": list(self.provider_requested),
            "providers_used": list(self.providers_used),
            "session_options": dict(self.session_options),
            "inputs": [dict(i) for i in self.inputs],
            "batch": self.batch,
            "warmup": self.warmup,
            "runs": self.runs,
            "duration_s": self.duration_s,
            "latency_ms": dict(self.latency_ms),
            "first_run_ms": self.first_run_ms,
            "session_init_ms": self.session_init_ms,
            "fps": self.fps,
            "throughput": self.throughput,
            "wall_ms": self.wall_ms,
            "timing_path": self.timing_path,
            "end_to_end_ms": dict(self.end_to_end_ms) if self.end_to_end_ms else None,
            "input_generation": {"seed": self.seed, "int_range": list(self.int_range)},
            "onnxruntime_version": self.onnxruntime_version,
            "nodes": [dict(n) for n in self.nodes],
            "by_op_type": [dict(r) for r in self.by_op_type],
            "per_node": dict(self.per_node) if self.per_node else None,
            "unmatched_kernels": [dict(k) for k in self.unmatched_kernels],
            "concurrency": dict(self.concurrency) if self.concurrency else None,
            "host": dict(self.host),
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------- bench()


def _check_args(warmup, runs, duration, threads, inter_threads, execution_mode, opt_level, per_node_runs):
    if opt_level not in OPT_LEVELS:
        raise UsageError(f"unknown optimisation level {opt_level!r}: use {', '.join(OPT_LEVELS)}")
    if execution_mode not in EXECUTION_MODES:
        raise UsageError(f"unknown execution mode {execution_mode!r}: use sequential or parallel")
    if not isinstance(warmup, int) or warmup < 0:
        raise UsageError(f"warmup must be a non-negative integer, got {warmup!r}")
    if duration is None and (not isinstance(runs, int) or runs < 1):
        raise UsageError(f"runs must be a positive integer, got {runs!r}")
    if duration is not None and not (isinstance(duration, (int, float)) and duration > 0 and math.isfinite(duration)):
        raise UsageError(f"duration must be a positive number of seconds, got {duration!r}")
    for what, v in (("threads", threads), ("inter-op threads", inter_threads)):
        if v is not None and (not isinstance(v, int) or v < 0):
            raise UsageError(f"{what} must be a non-negative integer (0 = onnxruntime's default), got {v!r}")
    if per_node_runs is not None and (not isinstance(per_node_runs, int) or per_node_runs < 1):
        raise UsageError(f"per-node runs must be a positive integer, got {per_node_runs!r}")


def _input_warnings(sh) -> list[str]:
    out = [w for w in sh.warnings if w.startswith("--dim")]
    dims = [f"{k} ({v})" for k, v in sh.unresolved.items() if str(v).startswith("input ")]
    if dims:
        out.append(f"input dims not given, set to 1: {', '.join(dims)}; set them with --dim NAME=VALUE or --input-shape")
    out.extend(w for w in sh.warnings if "unknown rank" in w)
    return out


def _run_or_fail(run: Callable[[], Any], generated_ints: bool, int_range) -> int:
    t0 = time.perf_counter_ns()
    hint = ""
    if generated_ints:
        hint = (f" (integer inputs were drawn from [{int_range[0]}, {int_range[1]}); "
                "adjust --int-range or give real data with --input NAME=file.npy)")
    try:
        with captured() as log:
            run()
    except Exception as exc:
        raise ModelError(log.fold(f"onnxruntime failed to run the model: {_one_line(exc)}") + hint) from None
    if log.messages():  # an error logged behind a run that returned
        raise ModelError(log.fold("onnxruntime failed to run the model") + hint)
    return time.perf_counter_ns() - t0


def bench(
    model: str | os.PathLike | onnx.ModelProto,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    providers: str | Sequence[str] = ("cpu",),
    warmup: int = 10,
    runs: int = 100,
    duration: float | None = None,
    threads: int | None = None,
    inter_threads: int | None = None,
    execution_mode: str = "sequential",
    opt_level: str = "all",
    inputs: Mapping[str, Any] | None = None,
    int_range: tuple[int, int] = DEFAULT_INT_RANGE,
    per_node: bool = False,
    per_node_runs: int | None = None,
    save_optimized: str | os.PathLike | None = None,
    batch_dim: int | str | None = None,
    device_id: int = 0,
    progress: bool = False,
    seed: int = 0,
    static_profile=None,
    available_providers: Sequence[str] | None = None,
    options=None,
) -> BenchResult:
    """Measure latency and FPS of ``model`` under onnxruntime (see the module docstring).

    ``input_shapes``/``dims`` follow :func:`onnxstat.profile`.  ``inputs`` maps
    input names to arrays or ``.npy`` paths (the rest are generated).  ``duration``
    (seconds) replaces ``runs``.  ``per_node`` adds per-kernel times joined to the
    static costs (``static_profile``: a ProfileResult on the same shapes to reuse).
    ``available_providers`` overrides onnxruntime's list (tests).  ``options`` (a
    :class:`onnxstat.runtime.bench_options.BenchOptions`) carries the settings without a
    keyword of their own: ``concurrency``, ``trace`` and ``device`` (see
    :func:`onnxstat.runtime.bench_options.run_bench` to give every setting that way).

    >>> import onnxstat
    >>> b = onnxstat.bench("model.onnx", dims={"batch": 1}, runs=50)
    >>> b.mean_ms, b.fps, b.providers_used
    """
    from .limits import address_space_cap, check_run, resolve_cap
    from ..model.loader import load
    from ..profiler import _norm_dims, _norm_input_shapes
    from ..shapes.resolve import resolve

    _check_args(warmup, runs, duration, threads, inter_threads, execution_mode, opt_level, per_node_runs)
    opts, device = _new_options(options, per_node)
    int_range = check_int_range(int_range)
    requested = parse_providers(providers)
    if save_optimized is not None:
        check_output_path(save_optimized)
    input_shapes = _norm_input_shapes(input_shapes)
    dims = _norm_dims(dims)

    ort = _ort()
    available = list(available_providers) if available_providers is not None else list(ort.get_available_providers())
    planned, warnings = plan_providers(requested, available, ort.__version__)
    warnings.extend(thread_warnings(threads, inter_threads, opts.concurrency))

    lm = load(model)
    if not lm.weights_available:
        lm.full_model()  # raises ModelError naming the missing external data
    declared = model_inputs(lm.model)
    user_arrays, input_shapes, dims = bind_user_inputs(declared, inputs or {}, input_shapes, dims)
    with address_space_cap(resolve_cap(lm.model)):
        sh = resolve(lm, input_shapes, dims)
    check_run(lm.model, sh, "bench")
    warnings.extend(_input_warnings(sh))
    resolved = [(n, d, tuple(int(x) for x in s) if s is not None else None) for n, d, s in sh.inputs]
    to_generate = [i for i in resolved if i[0] not in user_arrays]
    feeds = make_inputs(to_generate, seed=seed, int_range=int_range)
    feeds.update(user_arrays)
    feeds = {n: feeds[n] for n, _d, _s in resolved}
    dtypes = {n: d for n, d, _s in resolved}
    final_shapes = {n: tuple(int(x) for x in feeds[n].shape) for n in feeds}
    batch = batch_size([(n, dtypes[n], final_shapes[n]) for n in feeds], declared, batch_dim)
    generated_ints = any(d.startswith(("int", "uint")) for n, d, _s in to_generate)

    source = str(lm.path) if lm.path is not None else lm.full_model().SerializeToString()
    session_kw = dict(threads=threads, inter_threads=inter_threads, execution_mode=execution_mode, opt_level=opt_level)
    if inter_threads and execution_mode == "sequential":
        warnings.append("inter-op threads only matter with --execution-mode parallel")

    # ---- headline session
    so = make_session_options(ort, **session_kw)
    sess, init_ns = _create_session(ort, source, so, planned, device_id)
    used = list(sess.get_providers())
    warnings.extend(check_used_providers(planned, used, fallback_listed=len(requested) > 1))
    plan = plan_timing(used, list(dtypes.values()), [o.type for o in sess.get_outputs()])
    run, keep = make_runner(sess, feeds, dtypes, plan, device_id, ort=ort)

    first_ns = _run_or_fail(run, generated_ints, int_range)
    last_ns = first_ns
    for _ in range(max(warmup - 1, 0)):
        t0 = time.perf_counter_ns()
        run()
        last_ns = time.perf_counter_ns() - t0
    # without warm-up the first run is a timed run too
    loop_runs = None if duration is not None else (runs - 1 if warmup == 0 else runs)
    expected_s = duration if duration is not None else last_ns * loop_runs / 1e9
    show = bool(progress) and expected_s > PROGRESS_AFTER_S
    every = max(1, int(0.05e9 / max(last_ns, 1)))
    per_thread = None
    if opts.concurrency > 1:  # N threads, one shared session (the serial warm-up above is the same)
        samples, wall_ns, per_thread = time_concurrent(
            lambda: make_runner(sess, feeds, dtypes, plan, device_id, ort=ort), opts.concurrency,
            runs if duration is None else None, duration)
    elif loop_runs == 0:
        samples, wall_ns = [], 0
    else:
        bar = _ProgressBar(show, duration if duration is not None else loop_runs, "benchmark", duration is not None)
        with bar:
            samples, wall_ns = time_runs(run, loop_runs, duration, bar.callback(), every)
    if warmup == 0 and per_thread is None:
        samples = [first_ns] + samples
        wall_ns += first_ns
    stats = latency_stats(samples)

    e2e = None
    if plan.end_to_end:
        hrun, hkeep = host_runner(sess, feeds, dtypes, ort=ort)
        for _ in range(min(warmup, 3)):
            hrun()
        e2e_samples, _ = time_runs(hrun, runs if duration is None else None, duration)
        e2e = latency_stats(e2e_samples)
        del hkeep
    del run, keep, sess

    if save_optimized is not None:
        _save_optimized(ort, source, session_kw, planned, device_id, save_optimized)

    # ---- per-node session
    nodes: list[dict] = []
    op_rows: list[dict] = []
    per_node_info = None
    if per_node:
        n_prof = per_node_runs or (min(runs, DEFAULT_PER_NODE_RUNS) if duration is None else DEFAULT_PER_NODE_RUNS)
        kernels, n_counted, run_us, sources = _profile_kernels(ort, source, session_kw, planned, device_id, feeds,
                                                               dtypes, warmup, n_prof, opts.trace,
                                                               lm.model if (lm.file_size or 0) < MATCH_MAX_BYTES else None)
        static_nodes: list = []
        if static_profile is None:
            from ..errors import OnnxstatError
            from ..profiler import profile as _profile

            try:
                static_profile = _profile(model if not isinstance(model, (str, os.PathLike)) else str(model), final_shapes)
            except OnnxstatError as exc:
                warnings.append(f"per-node: static costs unavailable ({exc}); kernel times are reported without FLOPs/bytes")
        if static_profile is not None:
            static_nodes = list(static_profile.nodes)
        nodes, op_rows, notes = join_nodes(kernels, n_counted, static_nodes, lm.model, sources)
        warnings.extend(notes)
        warnings.extend(kernel_roofline(nodes, {n.path: n for n in static_nodes}, device))
        per_node_info = {
            "runs": n_counted,
            "warmup": warmup,
            "opt_level": opt_level,
            "profiled_run_ms": (sum(run_us) / len(run_us) / 1000.0) if run_us else None,
            "kernel_total_ms": sum(r["mean_ms"] for r in nodes if not r.get("includes_subgraphs")),
            "matched": sum(1 for r in nodes if r["status"] == "matched"),
            "fused": sum(1 for r in nodes if r["status"] == "fused"),
            "unmatched": sum(1 for r in nodes if r["status"] == "fused/unmatched"),
            "matching": "optimized model" if sources is not None else "node names",
            "device": device.name if device is not None else None,
            "trace": str(opts.trace) if opts.trace is not None else None,
        }

    n_timed = len(samples)
    return BenchResult(
        model=str(lm.path) if lm.path is not None else None,
        provider_requested=requested,
        providers_used=used,
        session_options={
            "intra_op_threads": threads if threads is not None else 0,
            "inter_op_threads": inter_threads if inter_threads is not None else 0,
            "execution_mode": execution_mode,
            "graph_optimization_level": opt_level,
            "save_optimized": str(save_optimized) if save_optimized is not None else None,
            "device_id": device_id,
        },
        inputs=[{"name": n, "dtype": dtypes[n], "shape": list(final_shapes[n]),
                 "source": "user" if n in user_arrays else "generated"} for n in feeds],
        batch=batch,
        warmup=warmup,
        runs=n_timed,
        duration_s=duration,
        latency_ms=stats,
        first_run_ms=first_ns / 1e6,
        session_init_ms=init_ns / 1e6,
        fps=fps_of(batch, stats["mean"]) if per_thread is None else throughput_of(batch, n_timed, wall_ns),
        throughput=throughput_of(batch, n_timed, wall_ns),
        wall_ms=wall_ns / 1e6,
        timing_path=plan.label,
        end_to_end_ms=e2e,
        nodes=nodes,
        by_op_type=op_rows,
        per_node=per_node_info,
        warnings=_dedupe(warnings),
        onnxruntime_version=ort.__version__,
        seed=seed,
        int_range=int_range,
        samples_ms=[s / 1e6 for s in samples],
        host=host_info(ort.__version__),
        concurrency=None if per_thread is None else {
            "threads": opts.concurrency, "requests": n_timed, "requests_per_thread": per_thread,
            "throughput": throughput_of(batch, n_timed, wall_ns)},
        unmatched_kernels=unmatched_kernels(nodes),
    )


def _new_options(options, per_node: bool):
    """The BenchOptions of the newer settings (defaults when none given), checked, and the roofline device."""
    from .bench_options import BenchOptions

    opts = options if options is not None else BenchOptions()
    if not isinstance(opts, BenchOptions):
        raise UsageError(f"options must be a BenchOptions, got {type(opts).__name__}")
    if opts.trace is not None:
        if not per_node:
            raise UsageError("--trace keeps the trace of the per-node profile: add --per-node")
        check_output_path(opts.trace)
    device = opts.device
    if isinstance(device, str):
        from ..passes.roofline import get_device

        device = get_device(device)
    return opts, device


def _dedupe(items):
    seen, out = set(), []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def _save_optimized(ort, source, session_kw, providers, device_id, target) -> None:
    """Let onnxruntime write the optimised model to a temporary file next to ``target``, then rename."""
    p = check_output_path(target)
    parent = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=".tmp" + (p.suffix or ".onnx"), dir=str(parent))
    os.close(fd)
    try:
        so = make_session_options(ort, optimized_path=tmp, **session_kw)
        sess, _ = _create_session(ort, source, so, providers, device_id)
        del sess
        if not os.path.exists(tmp) or os.path.getsize(tmp) == 0:
            raise ModelError(f"--save-optimized {p}: onnxruntime wrote no optimised model")
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as exc:
        raise UsageError(f"output {p}: cannot write: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _profile_kernels(ort, source, session_kw, providers, device_id, feeds, dtypes, warmup, runs, trace=None,
                     original=None):
    """Kernel times of a profiled session; with ``original`` (the ModelProto) also the
    original nodes every kernel executes (:func:`onnxstat.runtime.kernel_match.fused_sources`,
    from the optimised model the session writes), else None.  ``trace``: keep
    onnxruntime's JSON trace in that file."""
    tmpdir = tempfile.mkdtemp(prefix="onnxstat-prof-")
    try:
        opt_path = os.path.join(tmpdir, "optimized.onnx") if original is not None else None
        so = make_session_options(ort, profile_prefix=os.path.join(tmpdir, "ort"), optimized_path=opt_path, **session_kw)
        try:
            sess, _ = _create_session(ort, source, so, providers, device_id)
        except ModelError:
            if opt_path is None:
                raise
            # writing the optimised model can fail where running does not (a model over protobuf's 2 GB):
            # profile without it, kernels are then joined by name
            opt_path = None
            so = make_session_options(ort, profile_prefix=os.path.join(tmpdir, "ort"), **session_kw)
            sess, _ = _create_session(ort, source, so, providers, device_id)
        plan = plan_timing(list(sess.get_providers()), list(dtypes.values()), [o.type for o in sess.get_outputs()])
        run, keep = make_runner(sess, feeds, dtypes, plan, device_id, ort=ort)
        for _ in range(warmup + runs):
            run()
        path = sess.end_profiling()
        del run, keep, sess
        try:
            with open(path, encoding="utf-8") as f:
                events = json.load(f)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read onnxruntime's profile: {_one_line(exc)}") from None
        if trace is not None:
            _keep_trace(path, trace)
        sources = None
        if opt_path is not None:
            from .kernel_match import fused_sources, load_optimized

            optimized = load_optimized(opt_path)
            if optimized is not None:
                sources = fused_sources(original, optimized)
        return (*parse_profile(events, skip_runs=warmup), sources)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _keep_trace(path: str, target) -> None:
    """Copy onnxruntime's JSON trace to ``target`` (atomically)."""
    from ..render.files import write_atomic

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ModelError(f"cannot read onnxruntime's trace: {_one_line(exc)}") from None
    write_atomic(target, data)


# --------------------------------------------------------------------------- rendering


def _f(x, fmt: str, dash: str = "-") -> str:
    v = _num(x)
    return dash if v is None else format(v, fmt)


def summary_rows(res: BenchResult) -> list[tuple[str, str]]:
    """(label, value) rows of the headline numbers (terminal and Markdown)."""
    from ..render import units

    lat = res.latency_ms
    ins = ", ".join(f"{i['name']} {i['dtype']} {units.shape(i['shape'])}" + (" (file)" if i.get("source") == "user" else "")
                    for i in res.inputs) or "none"
    opts = res.session_options
    threads = f"intra {opts['intra_op_threads'] or 'default'}, inter {opts['inter_op_threads'] or 'default'}"
    rows = [
        ("Model", res.model or "(in memory)"),
        *([("Host", f"{res.host.get('cpu')}, {res.host.get('usable_cores')} core(s), "
                    f"onnxruntime {res.host.get('onnxruntime_version')}")] if res.host else []),
        ("Providers", ", ".join(res.providers_used) + f" (requested {', '.join(short_name(p) for p in res.provider_requested)})"),
        ("Session", f"opt level {opts['graph_optimization_level']}, {opts['execution_mode']}, threads {threads}"),
        ("Inputs", ins),
        ("Batch", str(res.batch)),
        ("Runs", f"{res.runs} timed" + (f" in {res.duration_s:g} s" if res.duration_s else "") + f", {res.warmup} warm-up ({res.timing_path})"),
        ("Session init", units.ms(res.session_init_ms)),
        ("First run", units.ms(res.first_run_ms)),
        ("Latency mean", f"{units.ms(lat['mean'])} (std {units.ms(lat['std'])})"),
    ]
    for k in ("min", "p50", "p90", "p95", "p99", "max"):
        rows.append((f"Latency {k}", units.ms(lat[k])))
    rows.append(("FPS", units.fps_text(res.fps) + f" (batch {res.batch}" + (", aggregate)" if res.concurrency else ")")))
    rows.append(("Throughput", _f(res.throughput, ",.1f") + " samples/s over the timed loop"))
    if res.concurrency:
        c = res.concurrency
        rows.append(("Concurrency", f"{c['threads']} threads on one session, {c['requests']} requests: "
                     f"{_f(c['throughput'], ',.1f')} samples/s aggregate; latencies are per request"))
    if res.end_to_end_ms:
        e = res.end_to_end_ms
        rows.append(("End-to-end (host copies)", f"mean {units.ms(e['mean'])}, p50 {units.ms(e['p50'])}, p99 {units.ms(e['p99'])}"))
    if res.per_node:
        pn = res.per_node
        rows.append(("Per-node profile", f"{pn['runs']} profiled runs, kernels sum {units.ms(pn['kernel_total_ms'])}, "
                     f"{pn['matched']} matched, {pn['fused']} fused, {pn['unmatched']} unmatched"))
    return rows


NODE_COLUMNS = ("name", "op_type", "status", "node", "mean_ms", "share", "flops", "bytes", "gflops_per_s", "gb_per_s")


def top_nodes(res: BenchResult, top: int | None) -> list[dict]:
    rows = sorted(res.nodes, key=lambda r: -r["mean_ms"])
    return rows[:top] if top else rows


def _show_node_column(rows: Sequence[dict]) -> bool:
    return any(r["node"] is not None and r["node"] != r["name"] for r in rows)


def _node_headers(rows: Sequence[dict]) -> list[str]:
    heads = [h for h in NODE_HEADERS if h != "Node" or _show_node_column(rows)]
    return heads + (["Roof %"] if any("roofline_efficiency" in r for r in rows) else [])


def _node_cells(r: dict, with_node: bool = True) -> list[str]:
    from ..render import units

    return [
        r["name"], r["op_type"], r["status"], *([_node_text(r)] if with_node else []),
        f"{r['mean_ms']:.4f}", _f(None if r["share"] is None else 100 * r["share"], ".1f") + ("%" if r["share"] is not None else ""),
        "-" if r["flops"] is None else units.si(r["flops"]), "-" if r["bytes"] is None else units.nbytes(r["bytes"]),
        _f(r["gflops_per_s"], ".2f"), _f(r["gb_per_s"], ".2f"),
        *([_f(None if r["roofline_efficiency"] is None else 100 * r["roofline_efficiency"], ".1f")]
          if "roofline_efficiency" in r else []),
    ]


def _node_text(r: dict) -> str:
    """The node a kernel is joined to; ``+N`` more when it executes several."""
    more = len(r.get("source_nodes") or ()) - 1
    return (r["node"] or "-") + (f" +{more}" if more > 0 else "")


def _op_cells(g: dict) -> list[str]:
    from ..render import units

    return [
        g["op_type"], g["status"], str(g["kernels"]), f"{g['mean_ms']:.4f}",
        _f(None if g["share"] is None else 100 * g["share"], ".1f") + ("%" if g["share"] is not None else ""),
        "-" if g["flops"] is None else units.si(g["flops"]), "-" if g["bytes"] is None else units.nbytes(g["bytes"]),
        _f(g["gflops_per_s"], ".2f"), _f(g["gb_per_s"], ".2f"),
    ]


NODE_HEADERS = ["Kernel", "Op type", "Status", "Node", "Mean ms", "Share", "FLOPs", "Bytes", "GFLOP/s", "GB/s"]
OP_HEADERS = ["Op type", "Status", "Kernels", "Mean ms", "Share", "FLOPs", "Bytes", "GFLOP/s", "GB/s"]


def to_json(res: BenchResult) -> str:
    from ..result import jsonable

    return json.dumps(jsonable(res.to_dict()), indent=2) + "\n"


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|")


def to_markdown(res: BenchResult, top: int | None = None) -> str:
    lines = ["# onnxstat bench", "", "| | |", "|---|---|"]
    lines += [f"| {_md_escape(k)} | {_md_escape(v)} |" for k, v in summary_rows(res)]
    if res.nodes:
        shown = top_nodes(res, top)
        heads = _node_headers(shown)
        with_node = "Node" in heads
        lines += ["", f"## Kernels ({len(shown)} of {len(res.nodes)}, slowest first)", "",
                  "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
        lines += ["| " + " | ".join(_md_escape(c) for c in _node_cells(r, with_node)) + " |" for r in shown]
        lines += ["", "## By op type", "", "| " + " | ".join(OP_HEADERS) + " |", "|" + "---|" * len(OP_HEADERS)]
        lines += ["| " + " | ".join(_md_escape(c) for c in _op_cells(g)) + " |" for g in res.by_op_type]
    if res.warnings:
        lines += ["", "## Warnings", ""] + [f"- {_md_escape(w)}" for w in res.warnings]
    return "\n".join(lines) + "\n"


SUMMARY_CSV = ("model", "providers_used", "batch", "warmup", "runs", "mean_ms", "std_ms", "min_ms", "p50_ms", "p90_ms",
               "p95_ms", "p99_ms", "max_ms", "first_run_ms", "session_init_ms", "fps", "throughput")


def to_csv(res: BenchResult, top: int | None = None) -> str:
    """One row of headline numbers; with per-node data, one row per kernel instead."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)  # text quoted: round-trips (textsafe)
    if res.nodes:
        w.writerow(["name", "op_type", "status", "node", "provider", "calls_per_run", "mean_ms", "median_ms", "share",
                    "flops", "bytes", "gflops_per_s", "gb_per_s", "roofline_efficiency", "source_nodes"])
        for r in top_nodes(res, top):
            w.writerow([r["name"], r["op_type"], r["status"], r["node"] or "", r["provider"], r["calls_per_run"],
                        repr(r["mean_ms"]), repr(r["median_ms"]), "" if r["share"] is None else repr(r["share"]),
                        "" if r["flops"] is None else r["flops"], "" if r["bytes"] is None else r["bytes"],
                        "" if r["gflops_per_s"] is None else repr(r["gflops_per_s"]),
                        "" if r["gb_per_s"] is None else repr(r["gb_per_s"]),
                        "" if r.get("roofline_efficiency") is None else repr(r["roofline_efficiency"]),
                        ";".join(r.get("source_nodes") or ())])
        return buf.getvalue()
    lat = res.latency_ms
    w.writerow(SUMMARY_CSV)
    w.writerow([res.model or "", ";".join(res.providers_used), res.batch, res.warmup, res.runs,
                *(repr(lat[k]) for k in ("mean", "std", "min", "p50", "p90", "p95", "p99", "max")),
                repr(res.first_run_ms), repr(res.session_init_ms),
                "" if res.fps is None else repr(res.fps), "" if res.throughput is None else repr(res.throughput)])
    return buf.getvalue()


def print_table(res: BenchResult, top: int | None = None, console=None) -> None:
    from rich.table import Table

    from ..render.formats import terminal_console

    console = console or terminal_console()
    t = Table(title="onnxstat bench", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    for k, v in summary_rows(res):
        t.add_row(k, v)
    console.print(t)
    if res.nodes:  # tables that fit the console's width, numbers never wrapped (onnxstat.layout)
        from ..render.layout import Col, table

        shown = top_nodes(res, top)
        heads = _node_headers(shown)
        with_node = "Node" in heads
        text = {"Kernel": Col("Kernel", "left", 0, shrink=True, min_width=14),
                "Op type": Col("Op type", "left", 2, shrink=True, min_width=12),
                "Status": Col("Status", "left", 6), "Node": Col("Node", "left", 5, shrink=True, min_width=10)}
        prio = {"Mean ms": 0, "Share": 1, "GFLOP/s": 3, "GB/s": 3, "FLOPs": 4, "Bytes": 5, "Kernels": 4}
        cols = [text.get(h) or Col(h, priority=prio.get(h, 5)) for h in heads]
        nt, dropped = table(cols, [_node_cells(r, with_node) for r in shown], console.width,
                            title=f"Kernels ({len(shown)} of {len(res.nodes)}, slowest first)")
        console.print(nt)
        cols = [text.get(h) or Col(h, priority=prio.get(h, 5)) for h in OP_HEADERS]
        ot, dropped2 = table(cols, [_op_cells(g) for g in res.by_op_type], console.width, title="By op type")
        console.print(ot)
        left_out = list(dict.fromkeys(dropped + dropped2))
        if left_out:
            console.print(f"(not shown at {console.width} columns: {', '.join(left_out)}; --format csv or json "
                          "show every column)", style="dim")


def render(res: BenchResult, fmt: str, top: int | None = None) -> str:
    """Render as ``json``, ``markdown``, ``csv`` or ``table`` (plain text)."""
    if fmt == "json":
        return to_json(res)
    if fmt == "markdown":
        return to_markdown(res, top)
    if fmt == "csv":
        return to_csv(res, top)
    if fmt == "table":
        from io import StringIO

        from ..render.formats import make_console

        buf = StringIO()
        print_table(res, top, make_console(file=buf, width=160, color_system=None))
        return buf.getvalue()
    raise UsageError(f"unknown format {fmt!r}: use table, json, markdown or csv")


__all__ = [
    "SCHEMA", "BenchResult", "bench", "latency_stats", "percentile", "plan_providers", "plan_timing",
    "check_used_providers", "parse_providers", "batch_size", "parse_profile", "join_nodes", "ort_node_names",
    "render", "print_table", "to_json", "to_markdown", "to_csv", "time_runs", "make_runner", "to_ort_value",
]


from .._callable import make_callable  # noqa: E402

make_callable(__name__, "bench")
