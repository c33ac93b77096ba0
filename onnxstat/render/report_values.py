"""Values for the HTML report: numbers for charts, exact text for ``data-value``, JSON for the page.

The small helpers every part of the report (:mod:`onnxstat.render.report`) shares:
arithmetic on values that may be symbolic or missing (:func:`_num`), the exact text of
a value (:func:`exact`), cells and JSON safe to embed in the page (:func:`js_value`,
:func:`script_json`) and the human text of shapes, op types and durations.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import units

#: largest integer a JavaScript number holds exactly
JS_MAX_SAFE = 2**53 - 1

# --------------------------------------------------------------------------- helpers


def _num(x: Any) -> float | None:
    """A float for arithmetic (charts, ratios), None for symbolic / missing values."""
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def exact(x: Any) -> str:
    """The exact value for a ``data-value`` attribute: integers in full, floats by repr."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(int(x))
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return repr(x) if math.isfinite(x) else ""
    return str(x)


def js_value(x: Any) -> Any:
    """A cell value for the embedded JSON: ints beyond 2**53 - 1 as decimal strings."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int) and abs(x) > JS_MAX_SAFE:
        return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def script_json(obj: Any) -> str:
    """JSON safe to place inside ``<script type="application/json">``."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (
        text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def _shape_text(shape) -> str:
    return units.shape(shape)


def _io_text(ios: Sequence[Mapping]) -> str:
    return ", ".join(f"{d.get('name')}: {d.get('dtype')} [{_shape_text(d.get('shape'))}]" for d in ios)


def _op_label(domain: str | None, op_type: str) -> str:
    d = domain or ""
    return f"{d}::{op_type}" if d not in ("", "ai.onnx") else op_type


def fmt_seconds(s: Any) -> str:
    v = _num(s)
    if v is None:
        return "-"
    if v >= 1:
        return f"{v:.3f} s"
    if v >= 1e-3:
        return f"{v * 1e3:.3f} ms"
    if v >= 1e-6:
        return f"{v * 1e6:.2f} µs"
    if v >= 1e-9:
        return f"{v * 1e9:.2f} ns"
    if v == 0:
        return "0 s"
    return f"{v * 1e12:.2f} ps"


def _nb(text: str) -> str:
    """Keep a number and its unit on one line."""
    return text.replace(" ", "\u00a0")


def _model_name(profile: Mapping) -> str:
    p = (profile.get("model") or {}).get("path")
    return Path(p).name if p else "(in memory)"

