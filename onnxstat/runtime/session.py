"""Execution providers and onnxruntime sessions: which providers to ask for, session options,
creating a session, and the runner the timed loop calls (plain ``run`` or IO binding).

Used by :func:`onnxstat.runtime.bench.bench` (whose docstring describes the timing paths)
and by the other measuring commands (``llm``, fidelity checks).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import ModelError, UsageError
from ..render.files import check_output_path
from .inputs import ORTVALUE_ONLY, bind_input, ort_feed
from .ort_log import captured, quiet

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

# --------------------------------------------------------------------------- session


def load_ort():
    """The onnxruntime module (a one-line error naming the extra to install when it is missing)."""
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


def one_line(exc: BaseException, limit: int = 300) -> str:
    return " ".join(str(exc).split())[:limit]


def create_session(ort, source, so, providers: list[str], device_id: int):
    opts = [({"device_id": str(device_id)} if p in DEVICE_OF_PROVIDER else {}) for p in providers]
    t0 = time.perf_counter_ns()
    try:
        with captured() as log:
            sess = ort.InferenceSession(source, so, providers=providers, provider_options=opts)
    except Exception as exc:
        raise ModelError(log.fold(f"onnxruntime cannot create a session for the model: {one_line(exc)}")) from None
    return sess, time.perf_counter_ns() - t0


def make_runner(sess, feeds: Mapping[str, np.ndarray], dtypes: Mapping[str, str], plan: TimingPlan,
                device_id: int = 0, ort=None) -> tuple[Callable[[], Any], list]:
    """The zero-argument callable the timed loop calls, plus objects to keep alive.

    ``run``: ``sess.run(None, feeds)`` (bfloat16/float8 inputs as CPU OrtValues).  ``iobinding``: every input bound once on
    ``plan.device`` (strings stay on the CPU), every tensor output bound to the
    device (other outputs to the CPU); device runs synchronise the outputs.
    """
    if ort is None and (plan.kind != "run" or any(d in ORTVALUE_ONLY for d in dtypes.values())):
        ort = load_ort()
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


@dataclass(frozen=True)
class SessionSpec:
    """What every session of one benchmark is created from: ``ort`` (the onnxruntime module),
    ``source`` (a model path or serialised bytes), ``options`` (keyword arguments of
    :func:`make_session_options`: threads, inter_threads, execution_mode, opt_level), the
    ``providers`` to ask for and the GPU ``device_id``."""

    ort: Any
    source: Any
    options: Mapping[str, Any]
    providers: list[str]
    device_id: int = 0

    def create(self, **extra: Any) -> tuple[Any, int]:
        """(session, creation time in ns); ``extra``: more :func:`make_session_options` arguments
        (``profile_prefix``, ``optimized_path``)."""
        so = make_session_options(self.ort, **extra, **self.options)
        return create_session(self.ort, self.source, so, self.providers, self.device_id)


def save_optimized(spec: SessionSpec, target) -> None:
    """Let onnxruntime write the optimised model to a temporary file next to ``target``, then rename."""
    p = check_output_path(target)
    parent = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=".tmp" + (p.suffix or ".onnx"), dir=str(parent))
    os.close(fd)
    try:
        sess, _ = spec.create(optimized_path=tmp)
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


__all__ = [
    "PROVIDER_ALIASES", "DEVICE_OF_PROVIDER", "OPT_LEVELS", "EXECUTION_MODES", "SessionSpec", "TimingPlan",
    "check_used_providers", "create_session", "host_runner", "load_ort", "make_runner", "make_session_options",
    "one_line", "parse_providers", "plan_providers", "plan_timing", "provider_name", "save_optimized", "short_name",
]
