"""A roofline device (dense peaks per precision, memory bandwidth) and the precision
whose peak a node's compute dtype uses."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import UsageError

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
