"""Finding a device: the presets of ``data/devices.json`` (by name or alias), ``host``
(measured, :mod:`.host`) or a custom one from a peak and a bandwidth."""

from __future__ import annotations

import json
import math
from importlib import resources

from ...errors import UsageError
from .device import Device
from .host import measure_host


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


def resolve_device(device: str | None = None, peak_tflops: float | None = None,
                   bandwidth_gbs: float | None = None) -> Device | None:
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
