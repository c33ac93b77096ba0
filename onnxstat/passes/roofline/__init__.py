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

Modules: :mod:`.device` (the Device and the precision of a compute dtype),
:mod:`.presets` (finding a device by name, a custom one), :mod:`.host` (measuring this
machine), :mod:`.compute` (the per-node, per-op-type and total roofline) and
:mod:`.summary` (its rows in the terminal and Markdown summaries).
"""

from __future__ import annotations

# ruff: noqa: F401  (the names of the modules below, importable from here as before the split)
from .compute import (
    GPU_PROVIDERS,
    NodeRoofline,
    RooflineResult,
    apply_roofline,
    attach_roofline,
    efficiency_pct,
    measurement_mismatch,
    node_roofline,
)
from .device import MEMORY_ONLY_DTYPES, PRECISIONS, Device, precision_of
from .host import HOST_CACHE_WORKING_SETS, cpu_name, measure_host
from .presets import custom_device, get_device, presets, resolve_device
from .summary import summary_rows

__all__ = [
    "Device", "NodeRoofline", "RooflineResult", "apply_roofline", "attach_roofline", "custom_device", "efficiency_pct",
    "get_device", "measure_host", "node_roofline", "precision_of", "presets", "resolve_device", "summary_rows",
]
