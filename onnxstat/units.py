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
    if s is None:
        return "?"
    return "x".join(str(d) for d in s) if len(s) else "scalar"


def ms(x: Any) -> str:
    v = _f(x)
    return "-" if v is None else f"{v:.3f} ms"
