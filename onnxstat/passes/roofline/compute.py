"""The roofline computation: per node (intensity, attainable FLOP/s, bound, time), per op
type and in total on one device (:func:`apply_roofline`), and put on a profile
(:func:`attach_roofline`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from ...errors import UsageError
from ...result import ProfileResult
from .device import Device, precision_of
from .presets import get_device


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
    return NodeRoofline(node.path, node.domain, node.op_type, prec, flops, nbytes, intensity, attainable, bound, t, comp_t,
                        mem_t, note)


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
        return {(r["domain"], r["op_type"]): {k: v for k, v in r.items() if k not in ("domain", "op_type")}
                for r in self.by_op_type}

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


def _num_prec(compute_dtype: str) -> str:
    return precision_of(compute_dtype)[0] or compute_dtype
