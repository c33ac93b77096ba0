"""Human units for reports (the JSON keeps exact integers)."""

from __future__ import annotations

from typing import Any


def _f(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def si(x: Any, unit: str = "", digits: int = 2) -> str:
    """1234567 -> '1.23 M' (decimal prefixes, as thop/ptflops print)."""
    v = _f(x)
    if v is None:
        return str(x)
    for div, p in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= div:
            return f"{v / div:.{digits}f} {p}{unit}".rstrip()
    if v == int(v):
        return f"{int(v)} {unit}".rstrip()
    return f"{v:.{digits}f} {unit}".rstrip()


def count(x: Any) -> str:
    """Exact integer with thousands separators."""
    if isinstance(x, int):
        return f"{x:,}"
    v = _f(x)
    return f"{v:,.0f}" if v is not None and v == int(v) else str(x)


def nbytes(x: Any, digits: int = 2) -> str:
    """Bytes in decimal MB/GB (1 MB = 10^6 bytes)."""
    v = _f(x)
    if v is None:
        return str(x)
    for div, p in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if abs(v) >= div:
            return f"{v / div:.{digits}f} {p}"
    return f"{int(v)} B"


def pct(part: Any, whole: Any) -> str:
    p, w = _f(part), _f(whole)
    if p is None or not w:
        return "-"
    return f"{100.0 * p / w:.1f}%"


def shape(s) -> str:
    """``1x3x224x224``; an unknown dim is ``?``, an unknown rank ``?``, rank 0 ``scalar``."""
    if s is None:
        return "?"
    return "x".join("?" if d is None else str(d) for d in s) if len(s) else "scalar"


def ms(x: Any) -> str:
    v = _f(x)
    return "-" if v is None else f"{v:.3f} ms"


# --------------------------------------------------------------------------- one vocabulary
#
# Every renderer (terminal, Markdown, CSV comments, HTML) takes rates, times, FPS and
# speedups from here, so that one quantity reads the same everywhere.

#: integer precisions run operations, not floating-point operations: their peaks are OP/s
INTEGER_PRECISIONS = ("int8", "uint8", "int4", "uint4", "int16", "uint16", "int32")


def rate(x: Any, precision: str = "fp32") -> str:
    """A compute rate: ``67.00 TFLOP/s`` for floating-point precisions, ``1979.00 TOP/s``
    for integer ones (``int8``); T is the largest prefix, as on datasheets."""
    return si(x, "OP/s" if precision.lower() in INTEGER_PRECISIONS else "FLOP/s")


#: time units by size: (seconds per unit, symbol)
TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def time_unit(seconds: Any) -> tuple[float, str]:
    """One unit for a set of durations in seconds (a table's column, a summary): the
    largest unit in which the largest value is at least 1 (``ms`` for 0.2 ms .. 999 ms)."""
    vals = [abs(v) for v in (_f(s) for s in (seconds if isinstance(seconds, (list, tuple)) else [seconds]))
            if v is not None and v > 0]
    top = max(vals, default=0.0)
    for scale, sym in TIME_UNITS:
        if top >= scale:
            return scale, sym
    return TIME_UNITS[-1]


def duration(seconds: Any, unit: tuple[float, str] | None = None, digits: int = 4) -> str:
    """``seconds`` in ``unit`` (by default the one :func:`time_unit` picks for it alone),
    ``digits`` significant digits: ``926.2 ns``, ``1.234 ms``."""
    v = _f(seconds)
    if v is None:
        return "-"
    scale, sym = unit or time_unit(v)
    return f"{v / scale:.{digits}g} {sym}"


def fps(batch: Any, mean_ms: Any) -> float | None:
    """Frames (samples) per second, from the mean latency: ``batch * 1000 / mean_ms``."""
    b, m = _f(batch), _f(mean_ms)
    return b * 1000.0 / m if b is not None and m else None


def fps_text(v: Any) -> str:
    """``12,945.2 FPS`` (thousands separators, one decimal) everywhere."""
    x = _f(v)
    return "-" if x is None else f"{x:,.1f} FPS"


#: the one definition of speedup, written into every format that shows one
SPEEDUP_DEFINITION = "speedup = baseline mean latency / model mean latency"


def speedup(baseline_mean_ms: Any, model_mean_ms: Any) -> float | None:
    """How many times faster than the baseline: baseline mean latency / model mean
    latency (> 1 is faster).  With equal batch sizes it is also the FPS ratio."""
    b, m = _f(baseline_mean_ms), _f(model_mean_ms)
    return b / m if b is not None and m else None


def speedup_text(s: Any) -> str:
    """``1.10×`` (two decimals), ``-`` when unknown."""
    v = _f(s)
    return "-" if v is None else f"{v:.2f}×"
