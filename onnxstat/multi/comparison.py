"""What a comparison of N models holds (:class:`Comparison`), the first being the baseline.

A :class:`ModelEntry` per model (its profile, and when measured or asked for its latency,
output fidelity and variant recipe), ratios of every metric against the baseline, and the
per-op-type table that groups each float op with its quantised forms (:data:`FAMILY`).
:func:`onnxstat.multi.compare.compare` makes one; the renderers are there too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..render import units
from ..result import ProfileResult, jsonable

SCHEMA = "onnxstat.compare/1"

#: ops whose cost is quantisation overhead
QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"})

#: quantised / fused op -> the float op it stands for (rows of the per-op-type table).
#: MatMul and Gemm share a row: quantizers turn Gemm into MatMulInteger + Add.
FAMILY: dict[str, str] = {
    "QLinearConv": "Conv",
    "ConvInteger": "Conv",
    "FusedConv": "Conv",
    "NhwcConv": "Conv",
    "QLinearConvTranspose": "ConvTranspose",
    "MatMulInteger": "MatMul/Gemm",
    "QLinearMatMul": "MatMul/Gemm",
    "MatMulIntegerToFloat": "MatMul/Gemm",
    "DynamicQuantizeMatMul": "MatMul/Gemm",
    "MatMulNBits": "MatMul/Gemm",
    "MatMulBnb4": "MatMul/Gemm",
    "FusedMatMul": "MatMul/Gemm",
    "MatMul": "MatMul/Gemm",
    "Gemm": "MatMul/Gemm",
    "QGemm": "MatMul/Gemm",
    "FusedGemm": "MatMul/Gemm",
    "DynamicQuantizeLSTM": "LSTM",
    "QAttention": "Attention",
    "QLinearAdd": "Add",
    "QLinearMul": "Mul",
    "QLinearSigmoid": "Sigmoid",
    "QLinearLeakyRelu": "LeakyRelu",
    "QLinearSoftmax": "Softmax",
    "QLinearAveragePool": "AveragePool",
    "QLinearGlobalAveragePool": "GlobalAveragePool",
    "QLinearConcat": "Concat",
    "GatherBlockQuantized": "Gather",
}

#: metrics with a ratio against the baseline: (key, label)
RATIO_METRICS: tuple[tuple[str, str], ...] = (
    ("file_size", "File size"),
    ("params", "Params"),
    ("weight_bytes", "Weight bytes"),
    ("macs", "MACs"),
    ("flops", "FLOPs"),
    ("memory_traffic_bytes", "Memory traffic"),
    ("arithmetic_intensity", "Arithmetic intensity"),
    ("peak_activation_bytes", "Peak activation memory"),
    ("latency_p50_ms", "Latency p50"),
    ("latency_p90_ms", "Latency p90"),
    ("fps", "FPS"),
)


def family(op_type: str) -> str:
    return FAMILY.get(op_type, op_type)


def as_number(x: Any) -> float | None:
    """``x`` as a float; None when it is unknown, symbolic (a formula) or a bool."""
    if x is None or isinstance(x, bool):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def ratio(value: Any, base: Any) -> float | None:
    """value / base as a float; None when either is unknown (or symbolic) or base is 0."""
    v, b = as_number(value), as_number(base)
    if v is None or b is None or b == 0:
        return None
    return v / b


# --------------------------------------------------------------------------- data


@dataclass
class OpCell:
    """One op family in one model."""

    count: int = 0
    macs: Any = 0
    flops: Any = 0
    op_types: Counter = field(default_factory=Counter)
    precision: Counter = field(default_factory=Counter)  # compute dtype -> node count
    macs_by_precision: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return jsonable({
            "count": self.count,
            "macs": self.macs,
            "flops": self.flops,
            "op_types": dict(sorted(self.op_types.items())),
            "precision": dict(sorted(self.precision.items())),
            "macs_by_precision": dict(sorted(self.macs_by_precision.items())),
        })


@dataclass
class ModelEntry:
    label: str
    result: ProfileResult
    bench: dict | None = None
    #: output (and per-layer) fidelity against the baseline (onnxstat.fidelity)
    fidelity: dict | None = None
    #: how the model was made when it is a --variants candidate (onnxstat.variants)
    variant: dict | None = None

    @property
    def totals(self):
        return self.result.totals

    @property
    def qdq(self) -> dict:
        """Count, FLOPs and memory traffic of Quantize/DequantizeLinear/DynamicQuantizeLinear nodes."""
        nodes = [n for n in self.result.nodes if n.op_type in QDQ_OPS]
        return {
            "count": len(nodes),
            "flops": sum((n.flops for n in nodes), 0),
            "memory_traffic_bytes": sum((n.memory_traffic_bytes for n in nodes), 0),
        }

    def metric(self, key: str) -> Any:
        t = self.totals
        if key == "file_size":
            return self.result.file_size
        if key in ("latency_mean_ms", "latency_p50_ms", "latency_p90_ms"):
            lat = (self.bench or {}).get("latency_ms") or {}
            return lat.get(key.split("_")[1])
        if key == "fps":
            return (self.bench or {}).get("fps")
        if key == "qdq_flops":
            return self.qdq["flops"]
        return getattr(t, key)

    def op_cells(self) -> dict[str, OpCell]:
        cells: dict[str, OpCell] = {}
        for n in self.result.nodes:
            if n.kind == "control_flow":
                continue
            c = cells.setdefault(family(n.op_type), OpCell())
            c.count += 1
            c.macs += n.macs
            c.flops += n.flops
            c.op_types[n.op_type] += 1
            if n.compute_dtype not in ("none", "undefined"):
                c.precision[n.compute_dtype] += 1
            if n.macs:
                c.macs_by_precision[n.compute_dtype] = c.macs_by_precision.get(n.compute_dtype, 0) + n.macs
        return cells

    def to_dict(self) -> dict:
        r = self.result
        extra = {k: v for k, v in (("fidelity", self.fidelity), ("variant", self.variant)) if v is not None}
        return jsonable({
            "label": self.label,
            "path": r.path,
            "file_size": r.file_size,
            "producer": r.producer,
            "opset": dict(r.opset),
            "inputs": [{"name": a, "dtype": b, "shape": None if c is None else list(c)} for a, b, c in r.inputs],
            "totals": r.totals.to_dict(),
            "qdq_overhead": self.qdq,
            "bench": self.bench,
            "unsupported": [{"domain": d, "op_type": o, "count": c} for d, o, c in r.unsupported],
            "warnings": list(r.warnings),
            **extra,
        })


@dataclass
class Comparison:
    models: list[ModelEntry]
    settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: --variants candidates, made or not (recipe, file, error): onnxstat.variants
    variants: list[dict] = field(default_factory=list)

    @property
    def baseline(self) -> ModelEntry:
        return self.models[0]

    def __repr__(self) -> str:
        labels = ", ".join(m.label for m in self.models[:4]) + (", …" if len(self.models) > 4 else "")
        if len(labels) > 100:
            labels = labels[:99] + "…"
        sp = self.ratios().get("speedup") if any(m.bench for m in self.models) else None
        tail = f", speedup={sp[-1]:.2f}" if sp and sp[-1] is not None else ""
        return f"Comparison(models=[{labels}], baseline={self.baseline.label[:40]!r}{tail})"

    # -- structure --------------------------------------------------------
    @property
    def node_counts(self) -> list[int]:
        return [m.totals.node_count for m in self.models]

    @property
    def same_structure(self) -> bool:
        sigs = [Counter((n.domain, n.op_type) for n in m.result.nodes) for m in self.models]
        return all(s == sigs[0] for s in sigs[1:])

    @property
    def structure_note(self) -> str:
        if self.same_structure:
            return "same graph structure (identical op counts)"
        counts = ", ".join(f"{m.label} {m.totals.node_count}" for m in self.models)
        return f"graph structures differ (nodes: {counts}); compared on totals and per op type"

    # -- ratios -----------------------------------------------------------
    def ratios(self) -> dict[str, list[float | None]]:
        out: dict[str, list[float | None]] = {}
        base = self.baseline
        for key, _label in RATIO_METRICS:
            if key.startswith(("latency", "fps")) and not any(m.bench for m in self.models):
                continue
            out[key] = [ratio(m.metric(key), base.metric(key)) for m in self.models]
        if any(m.bench for m in self.models):
            out["speedup"] = [units.speedup(base.metric("latency_mean_ms"), m.metric("latency_mean_ms"))
                              for m in self.models]
        return out

    # -- per op type ------------------------------------------------------
    def op_rows(self) -> list[tuple[str, list[OpCell | None]]]:
        per_model = [m.op_cells() for m in self.models]
        names = {k for cells in per_model for k in cells}

        def key(name: str):
            cells = [c.get(name) for c in per_model]
            macs = max((as_number(c.macs) or 0.0 for c in cells if c), default=0.0)
            flops = max((as_number(c.flops) or 0.0 for c in cells if c), default=0.0)
            return (-macs, -flops, name)

        return [(name, [c.get(name) for c in per_model]) for name in sorted(names, key=key)]

    def to_dict(self) -> dict:
        return jsonable({
            "schema": SCHEMA,
            "baseline": self.baseline.label,
            "settings": self.settings,
            "structure": {
                "same": self.same_structure,
                "node_counts": self.node_counts,
                "note": self.structure_note,
            },
            "models": [m.to_dict() for m in self.models],
            "by_op_type": [
                {"op_type": name, "models": [None if c is None else c.to_dict() for c in cells]}
                for name, cells in self.op_rows()
            ],
            "ratios": self.ratios(),
            "warnings": list(self.warnings),
            **({"variants": self.variants} if self.variants else {}),
        })
