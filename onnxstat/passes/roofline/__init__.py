"""Roofline: arithmetic intensity, attainable FLOP/s and a latency lower bound.

For each node, at the peak of its compute precision (``node.compute_dtype``)::

    intensity   = FLOPs / memory-traffic bytes                  (FLOPs per byte)
    attainable  = min(peak, intensity x bandwidth)              (FLOP/s)
    time        = max(FLOPs / peak, bytes / bandwidth)          (s)
    bound       = "compute" if FLOPs / peak >= bytes / bandwidth else "memory"

Data-movement nodes (compute dtype ``none``/``undefined``) are memory only:
``time = bytes / bandwidth``.  The model's roofline latency is the sum of node
times: a lower bound for a run that executes nodes one after another with every
byte of traffic coming from DRAM.  Precision mapping and the other rules are in
docs/roofline.md.

Devices come from ``data/devices.json`` (vendor datasheet peaks, dense), a
custom one (``custom_device``), or ``host`` (``measure_host``: a numpy GEMM and
a large copy on this machine, labelled as measured).
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Sequence

from ...errors import UsageError
from ...result import ProfileResult

PRECISIONS = ("fp32", "fp16", "int8")

#: compute dtype -> (precision whose peak applies, note or "")
_DTYPE_PRECISION: dict[str, tuple[str, str]] = {
    "float32": ("fp32", ""),
    "float16": ("fp16", ""),
    "bfloat16": ("fp16", ""),
    "int8": ("int8", ""),
    "uint8": ("int8", ""),
    "int4": ("int8", ""),
    "uint4": ("int8", ""),
    "int2": ("int8", "int2 uses the int8 peak"),
    "uint2": ("int8", "uint2 uses the int8 peak"),
    "float64": ("fp32", "float64 uses the fp32 peak (fp64 is slower on most devices: an optimistic bound)"),
}
_FP8 = ("float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "float8e8m0", "float4e2m1")
for _d in _FP8:
    _DTYPE_PRECISION[_d] = ("fp16", f"{_d} uses the fp16 peak (no fp8 peak in the presets)")
for _d in ("int16", "uint16", "int32", "uint32", "int64", "uint64", "bool", "complex64", "complex128"):
    _DTYPE_PRECISION[_d] = ("fp32", f"{_d} arithmetic uses the fp32 (vector ALU) peak")
MEMORY_ONLY_DTYPES = frozenset({"none", "undefined", "string"})


def precision_of(compute_dtype: str) -> tuple[str | None, str]:
    """Precision key (fp32/fp16/int8) for a node's compute dtype; None means memory only."""
    if compute_dtype in MEMORY_ONLY_DTYPES or not compute_dtype:
        return None, ""
    return _DTYPE_PRECISION.get(compute_dtype, ("fp32", f"{compute_dtype} uses the fp32 peak"))


# --------------------------------------------------------------------------- devices


@dataclass
class Device:
    """A compute target: dense peaks (FLOP/s) per precision and memory bandwidth (bytes/s)."""

    name: str
    peaks: dict[str, float | None]
    bandwidth: float
    source: str
    kind: str = "gpu"
    aliases: tuple[str, ...] = ()
    measured: bool = False
    notes: str = ""
    #: measured cache levels, ((working-set bytes, bytes/s), ...), smallest first (host only)
    bandwidth_levels: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if not (isinstance(self.bandwidth, (int, float)) and math.isfinite(self.bandwidth) and self.bandwidth > 0):
            raise UsageError(f"device {self.name!r}: bandwidth must be a positive number, got {self.bandwidth!r}")
        for p in PRECISIONS:
            self.peaks.setdefault(p, None)
        for p, v in self.peaks.items():
            if p not in PRECISIONS:
                raise UsageError(f"device {self.name!r}: unknown precision {p!r} (expected one of {', '.join(PRECISIONS)})")
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise UsageError(f"device {self.name!r}: {p} peak must be a positive number, got {v!r}")
        if self.peaks.get("fp32") is None:
            raise UsageError(f"device {self.name!r}: an fp32 peak is required")

    def peak_for(self, precision: str) -> tuple[float, str]:
        """(FLOP/s, precision whose peak is used): a missing peak falls back to fp32."""
        v = self.peaks.get(precision)
        if v is None:
            return float(self.peaks["fp32"]), "fp32"
        return float(v), precision

    def bandwidth_at(self, footprint: float | None) -> float:
        """The bandwidth a kernel moving ``footprint`` bytes can reach: the fastest measured
        level whose working set holds them (a cache), else the memory bandwidth."""
        if footprint is None:
            return self.bandwidth
        return max([self.bandwidth] + [bw for size, bw in self.bandwidth_levels if footprint <= size])

    def ridge(self, precision: str = "fp32") -> float:
        """Intensity (FLOPs/byte) where the roof turns from memory- to compute-bound."""
        return self.peak_for(precision)[0] / self.bandwidth

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "measured": self.measured,
            "peak_flops_per_s": {p: self.peaks.get(p) for p in PRECISIONS},
            "bandwidth_bytes_per_s": self.bandwidth,
            "ridge_flops_per_byte": {p: (self.peaks[p] / self.bandwidth if self.peaks.get(p) else None) for p in PRECISIONS},
            "aliases": list(self.aliases),
            "source": self.source,
            "notes": self.notes,
            **({"bandwidth_levels": [{"working_set_bytes": size, "bandwidth_bytes_per_s": bw}
                                     for size, bw in self.bandwidth_levels]} if self.bandwidth_levels else {}),
        }


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum() or ch == "+")


_PRESETS: list[Device] | None = None


def presets() -> list[Device]:
    """The devices in ``data/devices.json`` (loaded once)."""
    global _PRESETS
    if _PRESETS is None:
        text = resources.files("onnxstat").joinpath("data/devices.json").read_text(encoding="utf-8")
        data = json.loads(text)
        out = []
        for d in data["devices"]:
            out.append(
                Device(
                    name=d["name"],
                    peaks={p: (None if v is None else float(v) * 1e12) for p, v in d["peak_tflops"].items()},
                    bandwidth=float(d["bandwidth_gbs"]) * 1e9,
                    source=d["source"],
                    kind=d.get("kind", "gpu"),
                    aliases=tuple(d.get("aliases", ())),
                    notes=d.get("notes", ""),
                )
            )
        _PRESETS = out
    return list(_PRESETS)


def get_device(name: str) -> Device:
    """A preset by name or alias (case, spaces, ``-`` and ``_`` ignored), or ``host`` (measured)."""
    key = _norm(name)
    if not key:
        raise UsageError("--device: empty device name (see 'onnxstat devices')")
    if key in ("host", "local", "thismachine"):
        return measure_host()
    for d in presets():
        if key == _norm(d.name) or key in {_norm(a) for a in d.aliases}:
            return d
    import difflib

    names = [d.name for d in presets()]
    close = difflib.get_close_matches(name, names + [a for d in presets() for a in d.aliases], n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UsageError(f"unknown device {name!r}{hint} (known: {', '.join(names)}, host; see 'onnxstat devices')")


def custom_device(peak_tflops: float, bandwidth_gbs: float, name: str = "custom") -> Device:
    """A device from one peak (used for every precision) and a bandwidth."""
    for what, v in (("--peak-tflops", peak_tflops), ("--bandwidth-gbs", bandwidth_gbs)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise UsageError(f"{what} must be a positive number, got {v!r}")
    p = float(peak_tflops) * 1e12
    return Device(
        name=name,
        peaks={"fp32": p, "fp16": p, "int8": p},
        bandwidth=float(bandwidth_gbs) * 1e9,
        source=f"user-supplied: --peak-tflops {peak_tflops:g} (used for fp32, fp16 and int8) --bandwidth-gbs {bandwidth_gbs:g}",
        kind="custom",
    )


def resolve_device(device: str | None = None, peak_tflops: float | None = None, bandwidth_gbs: float | None = None) -> Device | None:
    """The device the options ask for, or None when none is asked for."""
    custom = peak_tflops is not None or bandwidth_gbs is not None
    if device and custom:
        raise UsageError("give either --device or --peak-tflops with --bandwidth-gbs, not both")
    if custom:
        if peak_tflops is None or bandwidth_gbs is None:
            raise UsageError("a custom device needs both --peak-tflops and --bandwidth-gbs")
        return custom_device(peak_tflops, bandwidth_gbs)
    if device:
        return get_device(device)
    return None


# --------------------------------------------------------------------------- host measurement

_HOST: Device | None = None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _best_rate(fn, work: float, budget_s: float, min_reps: int = 3) -> tuple[float, int]:
    """Highest work/second over repetitions of ``fn`` within ``budget_s`` (after one warm-up)."""
    fn()
    best = 0.0
    reps = 0
    t_end = time.perf_counter() + budget_s
    while reps < min_reps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        reps += 1
        if dt > 0:
            best = max(best, work / dt)
        if reps >= 200:
            break
    return best, reps


def measure_host(budget_s: float = 1.0, *, refresh: bool = False) -> Device:
    """Measure this machine: fp32 GEMM FLOP/s (numpy/BLAS) and copy bandwidth (bytes read + written).

    Takes about ``budget_s`` seconds (split between the two) the first time; the
    result is kept for the rest of the process.  fp16 and int8 peaks are not
    measured: they are left absent, so nodes at those precisions use the fp32
    measurement (the node's ``roofline_precision`` says so).
    """
    global _HOST
    if _HOST is not None and not refresh:
        return _HOST
    import numpy as np

    half = max(budget_s, 0.1) / 2
    # GEMM size: grow until one multiply takes >= 10 ms (cap 2048); the fastest of three
    # multiplies decides, so that a busy moment does not stop the growth at a small size
    n = 256
    while True:
        a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
        fastest = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            a @ b
            fastest = min(fastest, time.perf_counter() - t0)
        if fastest >= 0.01 or n >= 2048:
            break
        n *= 2
    flops = 2.0 * n * n * n
    gemm_rate, gemm_reps = _best_rate(lambda: a @ b, flops, half)
    del a, b
    # copy: 64 MiB -> 64 MiB, larger than the last-level cache of most machines
    bw, copy_reps = _copy_rate(np, 128 * 2**20, half * 0.6)
    # cache levels: working sets of 256 KiB, 2 MiB and 16 MiB (what a kernel whose data stays in cache reaches)
    levels = []
    for ws in HOST_CACHE_WORKING_SETS:
        level_bw, _reps = _copy_rate(np, ws, half * 0.4 / len(HOST_CACHE_WORKING_SETS))
        if level_bw > bw:
            levels.append((float(ws), level_bw))
    threads = os.cpu_count() or 1
    cpu = _cpu_name()
    _HOST = Device(
        name="host (measured)",
        peaks={"fp32": gemm_rate, "fp16": None, "int8": None},
        bandwidth=bw,
        source=(
            f"measured on this machine ({cpu}, {threads} logical CPUs): fp32 = best of {gemm_reps} numpy float32 "
            f"GEMMs {n}x{n}x{n} (2*{n}^3 FLOPs each); bandwidth = best of {copy_reps} copies of 64 MiB "
            f"(bytes read + bytes written = 128 MiB each). fp16 and int8 peaks not measured (absent): "
            f"nodes at those precisions use the fp32 measurement. Cache levels: best copies with working sets of "
            + ", ".join(f"{ws // 2**10} KiB" for ws in HOST_CACHE_WORKING_SETS)
            + " (measured kernels whose bytes fit there are held to that bandwidth)."
        ),
        kind="host",
        aliases=("host",),
        measured=True,
        notes="Measured, not a datasheet peak; BLAS and copy threads as numpy uses them.",
        bandwidth_levels=tuple(sorted(levels)),
    )
    return _HOST


#: working sets (bytes read + written) of the host's cache-level copy measurements
HOST_CACHE_WORKING_SETS = (256 * 2**10, 2 * 2**20, 16 * 2**20)


def _copy_rate(np, working_set: int, budget_s: float) -> tuple[float, int]:
    """Best copy bandwidth (bytes read + written per second) with ``working_set`` bytes in play.

    Source and destination share one buffer, 192 bytes apart: two separate
    allocations are often both page aligned, and then every store aliases the load
    4 KiB away (the CPU stalls on the false dependency and the copy runs several
    times slower than memory allows).  Small working sets are copied many times
    per timing so that the call overhead does not count.
    """
    n = working_set // 8  # float32 elements per half
    buf = np.ones(2 * n + 48, dtype=np.float32)
    src, dst = buf[:n], buf[n + 48: 2 * n + 48]
    reps = max(1, (8 * 2**20) // working_set)

    def copy():
        for _ in range(reps):
            np.copyto(dst, src)

    return _best_rate(copy, float(working_set) * reps, budget_s)


# --------------------------------------------------------------------------- per-node roofline


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


@dataclass
class NodeRoofline:
    """The roofline of one node (aligned with ``res.nodes``)."""

    path: str
    domain: str
    op_type: str
    precision: str | None  # peak used; None = memory only
    flops: float | None
    bytes: float | None
    intensity: float | None
    attainable_flops_per_s: float | None
    bound: str  # compute | memory | none | unknown
    roofline_time_s: float | None
    compute_time_s: float | None
    memory_time_s: float | None
    note: str = ""

    def to_dict(self) -> dict:
        d = {
            "intensity": self.intensity,
            "attainable_flops_per_s": self.attainable_flops_per_s,
            "bound": self.bound,
            "roofline_time_s": self.roofline_time_s,
            "roofline_precision": self.precision,
        }
        if self.note:
            d["roofline_note"] = self.note
        return d


def node_roofline(node, device: Device) -> NodeRoofline:
    """Roofline numbers for one ``NodeCost`` on ``device``."""
    flops = _num(node.flops)
    nbytes = _num(node.memory_traffic_bytes)
    prec, note = precision_of(node.compute_dtype)
    peak = None
    if prec is not None:
        peak, used = device.peak_for(prec)
        if used != prec:
            note = "; ".join(x for x in (note, f"{device.name} has no {prec} peak: the fp32 peak is used") if x)
        prec = used
    if flops is None or nbytes is None:
        return NodeRoofline(node.path, node.domain, node.op_type, prec, flops, nbytes, None, None, "unknown", None, None, None,
                            "symbolic cost: no roofline")
    bw = device.bandwidth
    intensity = flops / nbytes if nbytes > 0 else None
    mem_t = nbytes / bw
    if prec is None or peak is None:  # data movement: memory only
        comp_t = 0.0
        attainable = 0.0 if nbytes > 0 else None
        if flops > 0:
            note = "; ".join(x for x in (note, f"compute dtype {node.compute_dtype!r}: FLOPs not timed (memory only)") if x)
    else:
        comp_t = flops / peak
        attainable = min(peak, intensity * bw) if intensity is not None else (peak if flops > 0 else None)
    t = max(comp_t, mem_t)
    if t == 0:
        bound = "none"
    elif comp_t >= mem_t:
        bound = "compute"
    else:
        bound = "memory"
    if node.kind == "unsupported":
        note = "; ".join(x for x in (note, "unsupported op: FLOPs not counted, memory time only") if x)
    return NodeRoofline(node.path, node.domain, node.op_type, prec, flops, nbytes, intensity, attainable, bound, t, comp_t, mem_t, note)


@dataclass
class RooflineResult:
    """Roofline of a whole profile on one device.

    Merge into the profile JSON with ``node_extras`` (aligned with ``res.nodes``;
    ``node_extras_by_path`` keyed by path), ``totals_extras`` (``roofline_latency_s``
    and ``device``) and ``op_type_extras`` (keyed by (domain, op_type)); or take
    the whole block from ``to_dict()``.
    """

    device: Device
    nodes: list[NodeRoofline]
    latency_s: float
    by_op_type: list[dict]
    warnings: list[str] = field(default_factory=list)
    measured_latency_s: float | None = None

    @property
    def node_extras(self) -> list[dict]:
        return [n.to_dict() for n in self.nodes]

    @property
    def node_extras_by_path(self) -> dict[str, dict]:
        return {n.path: n.to_dict() for n in self.nodes}

    @property
    def totals_extras(self) -> dict:
        d = {"roofline_latency_s": self.latency_s, "device": self.device.to_dict()}
        d.update(self._measured())
        return d

    @property
    def op_type_extras(self) -> dict[tuple[str, str], dict]:
        return {(r["domain"], r["op_type"]): {k: v for k, v in r.items() if k not in ("domain", "op_type")} for r in self.by_op_type}

    @property
    def efficiency_pct(self) -> float | None:
        return efficiency_pct(self.latency_s, self.measured_latency_s)

    def set_measured(self, measured_latency_s: float | None) -> "RooflineResult":
        """Record bench's measured latency (seconds) to report efficiency = roofline / measured."""
        if measured_latency_s is not None:
            v = None if isinstance(measured_latency_s, bool) else _num(measured_latency_s)
            if v is None or v <= 0:
                raise UsageError(f"measured latency must be a positive number of seconds, got {measured_latency_s!r}")
            measured_latency_s = v
        self.measured_latency_s = measured_latency_s
        return self

    def _measured(self) -> dict:
        if self.measured_latency_s is None:
            return {}
        return {"measured_latency_s": self.measured_latency_s, "efficiency_pct": self.efficiency_pct}

    def bound_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.nodes:
            out[n.bound] = out.get(n.bound, 0) + 1
        return out

    def to_dict(self) -> dict:
        compute_t = sum(n.roofline_time_s for n in self.nodes if n.bound == "compute" and n.roofline_time_s)
        memory_t = sum(n.roofline_time_s for n in self.nodes if n.bound == "memory" and n.roofline_time_s)
        d = {
            "device": self.device.to_dict(),
            "roofline_latency_s": self.latency_s,
            "compute_bound_time_s": compute_t,
            "memory_bound_time_s": memory_t,
            "bound_counts": self.bound_counts(),
            "by_op_type": list(self.by_op_type),
            "warnings": list(self.warnings),
        }
        d.update(self._measured())
        return d


def efficiency_pct(roofline_s: float | None, measured_s: float | None) -> float | None:
    """Roofline latency as a percentage of the measured latency (100% = at the roof)."""
    if roofline_s is None or not measured_s:
        return None
    return 100.0 * roofline_s / measured_s


def apply_roofline(res: ProfileResult, device: Device) -> RooflineResult:
    """Roofline of every node of ``res`` on ``device``, per op type and in total."""
    if not isinstance(device, Device):
        raise UsageError(f"apply_roofline needs a Device, got {type(device).__name__}")
    rows = [node_roofline(n, device) for n in res.nodes]
    latency = 0.0
    unknown = 0
    unsupported = 0
    fallback: set[str] = set()
    agg: dict[tuple[str, str], dict] = {}
    for node, r in zip(res.nodes, rows):
        if r.roofline_time_s is None:
            unknown += 1
        else:
            latency += r.roofline_time_s
        if node.kind == "unsupported":
            unsupported += 1
        if r.note and "has no" in r.note:
            fallback.add(_num_prec(node.compute_dtype))
        a = agg.setdefault((node.domain, node.op_type), {"flops": 0.0, "bytes": 0.0, "time": 0.0, "count": 0,
                                                         "compute": 0, "memory": 0, "known": True})
        a["count"] += 1
        if r.flops is None or r.bytes is None:
            a["known"] = False
            continue
        a["flops"] += r.flops
        a["bytes"] += r.bytes
        a["time"] += r.roofline_time_s or 0.0
        if r.bound in ("compute", "memory"):
            a[r.bound] += 1
    by_op = []
    for (dom, op), a in agg.items():
        by_op.append({
            "domain": dom,
            "op_type": op,
            "count": a["count"],
            "intensity": (a["flops"] / a["bytes"]) if a["known"] and a["bytes"] > 0 else None,
            "roofline_time_s": a["time"] if a["known"] else None,
            "roofline_time_share": (a["time"] / latency) if a["known"] and latency > 0 else None,
            "compute_bound_nodes": a["compute"],
            "memory_bound_nodes": a["memory"],
        })
    by_op.sort(key=lambda r: (-(r["roofline_time_s"] or 0.0), r["op_type"]))
    warnings = []
    if unknown:
        warnings.append(f"{unknown} node(s) have symbolic costs and no roofline time: the roofline latency leaves them out")
    if unsupported:
        warnings.append(f"{unsupported} unsupported node(s): their roofline time counts memory traffic only")
    if fallback:
        warnings.append(f"{device.name} has no peak for {', '.join(sorted(fallback))}: those nodes use the fp32 peak")
    return RooflineResult(device=device, nodes=rows, latency_s=latency, by_op_type=by_op, warnings=warnings)


#: onnxruntime providers whose kernels run on a GPU (any other: this machine's CPU)
GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider", "ROCMExecutionProvider",
                 "MIGraphXExecutionProvider", "DmlExecutionProvider")


def measurement_mismatch(dev: Device, providers_used: Sequence[str] | None) -> str | None:
    """A warning when a roofline efficiency would compare unlike things: the roofline of
    a device preset against a latency measured on other hardware (this machine's CPU
    against an H100 preset, say).  None when they match or cannot be told apart
    (a GPU measurement against a GPU preset; a custom device is taken as meant)."""
    if not providers_used or dev.kind == "custom":
        return None
    first = providers_used[0]
    short = first.replace("ExecutionProvider", "") or first
    if first in GPU_PROVIDERS:
        if dev.kind == "gpu":
            return None
        return f"roofline efficiency compares the {dev.name} roofline with a latency measured on a GPU ({short})"
    if dev.measured:
        return None
    where = "this machine's CPU" if short == "CPU" else f"this machine's CPU ({short})"
    return (f"roofline efficiency compares the {dev.name} roofline with a latency measured on {where}; "
            "use --device host (this machine's measured peaks) for a like-for-like efficiency")


def attach_roofline(res: ProfileResult, device: Device | str, measured_latency_s: float | None = None,
                    providers_used: Sequence[str] | None = None) -> RooflineResult:
    """Run :func:`apply_roofline` and put its fragments on ``res`` for the JSON and renderers.

    Sets ``res.extras["roofline"]`` (the whole block), ``res.node_extras`` (list
    aligned with ``res.nodes``), ``res.totals_extras`` (``roofline_latency_s``,
    ``device``, and with a measurement ``measured_latency_s``/``efficiency_pct``)
    and ``res.op_type_extras`` (keyed by (domain, op_type)); appends the warnings.
    ``device`` may be a preset name.  ``providers_used`` (the measurement's onnxruntime
    providers) adds a warning when the measurement ran on other hardware than ``device``.
    """
    dev = get_device(device) if isinstance(device, str) else device
    rl = apply_roofline(res, dev)
    if measured_latency_s is not None:
        rl.set_measured(measured_latency_s)
        mismatch = measurement_mismatch(dev, providers_used)
        if mismatch:
            rl.warnings.append(mismatch)
    res.extras["roofline"] = rl.to_dict()
    res.node_extras = rl.node_extras
    totals_extras = dict(getattr(res, "totals_extras", None) or {})
    totals_extras.update(rl.totals_extras)
    res.totals_extras = totals_extras
    res.op_type_extras = rl.op_type_extras
    for w in rl.warnings:
        if w not in res.warnings:
            res.warnings.append(w)
    return rl


def summary_rows(rl: RooflineResult) -> list[tuple[str, str]]:
    """(label, text) rows for the terminal and Markdown summaries."""
    from ...render import units

    d = rl.device
    kind = "measured" if d.measured else ("custom" if d.kind == "custom" else "datasheet")
    label = d.name if kind in d.name else f"{d.name} ({kind})"
    peaks = ", ".join(f"{p} {units.rate(v, p)}" for p, v in d.peaks.items() if v)
    counts = rl.bound_counts()
    tu = units.time_unit([rl.latency_s, rl.measured_latency_s])  # one unit for both
    rows = [
        ("Device", f"{label}: {peaks}; {units.nbytes(d.bandwidth)}/s"),
        ("Roofline latency", f"{units.duration(rl.latency_s, tu)} ({counts.get('compute', 0)} compute-bound, "
                             f"{counts.get('memory', 0)} memory-bound nodes)"),
    ]
    if rl.measured_latency_s is not None:
        rows.append(("Roofline efficiency", f"{rl.efficiency_pct:.1f}% (roofline / measured mean "
                                            f"{units.duration(rl.measured_latency_s, tu)})"))
    return rows


def _num_prec(compute_dtype: str) -> str:
    return precision_of(compute_dtype)[0] or compute_dtype


__all__ = [
    "Device", "NodeRoofline", "RooflineResult", "apply_roofline", "attach_roofline", "custom_device", "efficiency_pct",
    "get_device", "measure_host", "node_roofline", "precision_of", "presets", "resolve_device", "summary_rows",
]
