"""Roofline plot: log-log arithmetic intensity vs attainable FLOP/s (matplotlib, Agg).

``plot_roofline(res, device, path)`` draws one roof per precision present among
the nodes (memory slope ``bandwidth x intensity`` up to the peak), one point per
node with FLOPs > 0 and traffic > 0 (sized by FLOPs, coloured by op type, sitting
on its roof at its attainable FLOP/s) and labels the nodes with the most FLOPs.
With ``measured`` kernels (``bench --per-node``) they are a second series at their
achieved FLOP/s (sized by time, coloured by op type, the model's bound points
hollow behind them) and the slowest kernels are labelled.  Labels never overlap:
each tries positions around its point and is left out when none is free.  Axes
are in decimal units (``10 GFLOP/s``).
The format follows the extension (.png or .svg); the figure is rendered in
memory and written atomically.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import UsageError
from ..passes.roofline import (
    PRECISIONS,
    Device,
    RooflineResult,
    apply_roofline,
    measurement_mismatch,
)
from ..result import ProfileResult
from . import units
from .files import check_output_path, write_atomic

FORMATS = {".png": "png", ".svg": "svg"}
ROOF_STYLE = {"fp32": "-", "fp16": "--", "int8": ":"}


def _fmt(path) -> str:
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise UsageError(f"plot {path}: unsupported extension {ext or '(none)'!r}; use .png or .svg")
    return FORMATS[ext]


def _x_label(v: float, _pos=None) -> str:
    return f"{v:g}" if v < 1000 else units.si(v, "", 0)


def _y_label(v: float, _pos=None) -> str:
    return units.si(v, "FLOP/s", 0)


def measured_points(kernels: Sequence[Mapping[str, Any]] | None) -> list[dict]:
    """Kernels that can sit on a FLOP/s roofline: FLOPs > 0, bytes > 0 and a measured time."""
    out = []
    for k in kernels or ():
        if k.get("includes_subgraphs"):
            continue
        f, b, t = k.get("flops"), k.get("bytes"), k.get("measured_time_s", (k.get("mean_ms") or 0) / 1e3)
        if not isinstance(f, (int, float)) or not isinstance(b, (int, float)) or not f or not b or not t or t <= 0:
            continue
        out.append({"name": k["name"], "op_type": k.get("op_type", "?"), "intensity": f / b,
                    "achieved": f / t, "time_s": t, "efficiency": k.get("roofline_efficiency")})
    return out


def _place_labels(ax, fig, items: Sequence[tuple[float, float, str]]) -> int:
    """Annotate points so that no two labels overlap (and none leaves the axes): each label
    tries offsets at growing distance around its point and is dropped when none is free.
    Returns the number of labels placed."""
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    placed = []
    offsets = [(8, 6), (8, -14), (-8, 6), (-8, -14), (14, 22), (14, -30), (-14, 22), (-14, -30),
               (0, 38), (0, -46), (40, 0), (-40, 0), (30, 50), (30, -58), (-30, 50), (-30, -58)]
    n = 0
    for x, y, text in items:
        for dx, dy in offsets:
            far = abs(dx) + abs(dy) > 30
            ann = ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=7, zorder=6,
                              ha="left" if dx >= 0 else "right",
                              bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
                              arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "dimgrey"} if far else None)
            bb = ann.get_window_extent(renderer).expanded(1.04, 1.15)
            inside = box.x0 <= bb.x0 and bb.x1 <= box.x1 and box.y0 <= bb.y0 and bb.y1 <= box.y1
            if inside and not any(bb.overlaps(o) for o in placed):
                placed.append(bb)
                n += 1
                break
            ann.remove()
    return n


def render_roofline(res: ProfileResult, device: Device, fmt: str = "png", *, top: int = 5,
                    rl: RooflineResult | None = None, title: str | None = None,
                    measured: Sequence[Mapping[str, Any]] | None = None,
                    providers_used: Sequence[str] | None = None) -> bytes:
    """The roofline figure as PNG or SVG bytes.

    ``measured``: per-kernel rows of a bench with ``--per-node`` (``flops``,
    ``bytes``, ``measured_time_s``, ``op_type``, ``name``): drawn as a second
    series at their achieved FLOP/s, sized by time; the top ``top`` kernels by
    time are labelled.  ``providers_used`` (the measurement's providers) puts a
    note in the title when the device is not the hardware measured.
    """
    from ..extras import require

    matplotlib = require("matplotlib", "--plot")

    # Figure + the Agg canvas directly: no pyplot, no global backend switch, no display needed
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if fmt not in FORMATS.values():
        raise UsageError(f"plot format must be png or svg, got {fmt!r}")
    rl = rl or apply_roofline(res, device)
    pts = [
        (n, r)
        for n, r in zip(res.nodes, rl.nodes)
        if r.flops and r.flops > 0 and r.intensity and r.attainable_flops_per_s and r.precision
    ]
    meas = measured_points(measured)
    precisions = [p for p in PRECISIONS if any(r.precision == p for _n, r in pts)] or ["fp32"]

    fig = Figure(figsize=(9, 6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xscale("log")
    ax.set_yscale("log")

    ridges = [device.peak_for(p)[0] / device.bandwidth for p in precisions]
    xs = [r.intensity for _n, r in pts] + [m["intensity"] for m in meas]
    lo = min(xs + [min(ridges) / 100]) / 2
    hi = max(xs + [max(ridges) * 10]) * 2
    _draw_roofs(ax, device, precisions, lo, hi, meas)
    ops, colors = _op_colors(matplotlib, pts, meas)
    above = _draw_points(ax, pts, meas, ops, colors)
    handles = _legend_handles(ax, ops, colors, meas, above)
    _set_axes(ax, device, precisions, pts, meas, lo, hi)
    if title is None:
        title = _default_title(res, device, rl, pts, meas, providers_used)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    ax.grid(True, which="minor", linewidth=0.2, alpha=0.3)
    ax.legend(handles=handles, fontsize=7, loc="lower right", ncol=2 if len(ops) > 8 else 1,
              title=None if meas else "point size ~ sqrt(FLOPs)", title_fontsize=7, framealpha=0.85)
    fig.tight_layout()
    # labels last, once the layout is fixed: the top kernels by time, or the top nodes by FLOPs
    _place_labels(ax, fig, _label_items(pts, meas, top))
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "onnxstat"}):  # SVG text stays text
        fig.savefig(buf, format=fmt,
                    metadata={"Software": "onnxstat"} if fmt == "png" else {"Creator": "onnxstat", "Date": None})
    return buf.getvalue()


def _draw_roofs(ax, device: Device, precisions: Sequence[str], lo: float, hi: float, meas: Sequence[dict]) -> None:
    """One roof per precision (memory slope up to the peak, the ridge marked); with measured
    kernels, the cache roofs of the device's bandwidth levels too."""
    bw = device.bandwidth
    for p in precisions:
        peak, used = device.peak_for(p)
        ridge = peak / bw
        xline = [lo, ridge, hi]
        yline = [lo * bw, peak, peak]
        label = f"{p} roof: {units.rate(peak, p)}" + ("" if used == p else f" (= {used}, no {p} peak)")
        if meas and device.bandwidth_levels:
            label += f", memory {units.nbytes(bw)}/s"
        ax.plot(xline, yline, ROOF_STYLE.get(p, "-"), color="black", linewidth=1.4, label=label)
        ax.axvline(ridge, color="grey", linestyle=ROOF_STYLE.get(p, "-"), linewidth=0.6, alpha=0.6)
        ax.annotate(f"{p} ridge {ridge:.3g} FLOP/B", (ridge, peak), textcoords="offset points", xytext=(4, 16),
                    fontsize=7, color="dimgrey")

    if meas and device.bandwidth_levels:  # cache roofs: where kernels whose data stays in cache are bounded
        peak0 = device.peak_for(precisions[0])[0]
        for k, (size, lbw) in enumerate(sorted(device.bandwidth_levels, key=lambda t: t[1])):
            ridge = peak0 / lbw
            ax.plot([lo, ridge], [lo * lbw, peak0], linestyle=(0, (4, 2 + k)), color="tab:blue", linewidth=0.9,
                    alpha=0.7, label=f"cache roof, <= {units.nbytes(size)} moved: {units.nbytes(lbw)}/s")


def _op_colors(matplotlib, pts, meas: Sequence[dict]) -> tuple[list[str], dict]:
    """One colour per op type: the model's by FLOPs, then the measured kernels' by time."""
    flops_by_op: dict[str, float] = {}
    for n, r in pts:
        flops_by_op[n.op_type] = flops_by_op.get(n.op_type, 0.0) + r.flops
    ops = sorted(flops_by_op, key=lambda o: (-flops_by_op[o], o))
    time_by_op: dict[str, float] = {}
    for m in meas:
        time_by_op[m["op_type"]] = time_by_op.get(m["op_type"], 0.0) + m["time_s"]
    ops += sorted((o for o in time_by_op if o not in flops_by_op), key=lambda o: (-time_by_op[o], o))
    cmap = matplotlib.colormaps["tab20" if len(ops) > 10 else "tab10"]
    return ops, {o: cmap(i % cmap.N) for i, o in enumerate(ops)}


def _draw_points(ax, pts, meas: Sequence[dict], ops: Sequence[str], colors: Mapping) -> list[dict]:
    """The model's nodes on their roofs (hollow behind a measurement) and the measured kernels
    at their achieved FLOP/s; returns the kernels above their roof (outlined in red)."""
    fmax = max((r.flops for _n, r in pts), default=1.0)
    for o in ops:
        sel = [(n, r) for n, r in pts if n.op_type == o]
        if not sel:
            continue
        sizes = [20 + 380 * math.sqrt(r.flops / fmax) for _n, r in sel]
        xy = ([r.intensity for _n, r in sel], [r.attainable_flops_per_s for _n, r in sel])
        if meas:  # the bound points stay, hollow, behind the measurement
            ax.scatter(*xy, s=[x * 0.6 for x in sizes], facecolors="none", edgecolors=[colors[o]], alpha=0.6,
                       linewidths=1.0, zorder=3)
        else:
            ax.scatter(*xy, s=sizes, color=colors[o], alpha=0.75, edgecolors="black", linewidths=0.4, zorder=3)
    tmax = max((m["time_s"] for m in meas), default=1.0)
    above = [m for m in meas if m["efficiency"] is not None and m["efficiency"] > 1.0]
    for o in ops:
        sel = [m for m in meas if m["op_type"] == o]
        if not sel:
            continue
        ax.scatter([m["intensity"] for m in sel], [m["achieved"] for m in sel],
                   s=[25 + 375 * math.sqrt(m["time_s"] / tmax) for m in sel], color=colors[o], alpha=0.85,
                   edgecolors=["red" if m in above else "black" for m in sel],
                   linewidths=[1.4 if m in above else 0.5 for m in sel], marker="D", zorder=4)
    return above


def _legend_handles(ax, ops: Sequence[str], colors: Mapping, meas: Sequence[dict], above: Sequence[dict]) -> list:
    """The roofs, one square per op type and, with a measurement, the two series' markers."""
    from matplotlib.lines import Line2D

    handles, _labels = ax.get_legend_handles_labels()  # the roofs
    handles += [Line2D([], [], marker="s", linestyle="", markersize=7, markerfacecolor=colors[o], alpha=0.8,
                       markeredgecolor="black", markeredgewidth=0.4, label=o) for o in ops]
    if meas:
        handles += [
            Line2D([], [], marker="o", linestyle="", markersize=7, markerfacecolor="none", markeredgecolor="grey",
                   label="model bound (on the roof), size ~ sqrt(FLOPs)"),
            Line2D([], [], marker="D", linestyle="", markersize=6, markerfacecolor="grey", markeredgecolor="black",
                   label="measured kernel, size ~ sqrt(time)"),
        ]
        if above:
            handles.append(Line2D([], [], marker="D", linestyle="", markersize=6, markerfacecolor="white",
                                  markeredgecolor="red", label=f"above its roof ({len(above)})"))
    return handles


def _set_axes(ax, device: Device, precisions: Sequence[str], pts, meas: Sequence[dict], lo: float, hi: float) -> None:
    """Limits around every roof and point, decimal tick labels, axis titles."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xlim(lo, hi)
    ymax = max([device.peak_for(p)[0] for p in precisions]) * 3
    ymax = max([ymax] + [m["achieved"] * 2 for m in meas])
    ymin = min([lo * device.bandwidth] + [r.attainable_flops_per_s for _n, r in pts] + [m["achieved"] for m in meas]) / 2
    ax.set_ylim(ymin, ymax)
    for axis, fn in ((ax.xaxis, _x_label), (ax.yaxis, _y_label)):
        axis.set_major_locator(LogLocator(base=10))
        axis.set_major_formatter(FuncFormatter(fn))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("Arithmetic intensity (FLOPs per byte of memory traffic)")
    ax.set_ylabel("FLOP/s (attainable; achieved for measured kernels)" if meas else "Attainable FLOP/s")


def _default_title(res: ProfileResult, device: Device, rl: RooflineResult, pts, meas: Sequence[dict],
                   providers_used: Sequence[str] | None) -> str:
    """Model (and its dims), device, bandwidth and roofline latency; the measurement's totals
    and a note when the kernels ran on other hardware than the device's."""
    src = "measured" if device.measured else "datasheet"
    name = Path(res.path).name if res.path else "model"
    dims = (res.settings or {}).get("dims") or {}
    if dims:
        name += " (" + ", ".join(f"{k}={v}" for k, v in sorted(dims.items())) + ")"
    dev_name = device.name if src in device.name else f"{device.name} ({src})"
    title = (f"{name} on {dev_name}, {units.nbytes(device.bandwidth)}/s: roofline latency "
             f"{units.duration(rl.latency_s)}, {len(pts)} nodes with FLOPs")
    if meas:
        title += (f"\n{len(meas)} measured kernels with FLOPs, "
                  f"{sum(m['time_s'] for m in meas) * 1e3:.4g} ms of kernel time per run")
    if providers_used and measurement_mismatch(device, providers_used):
        where = providers_used[0].replace("ExecutionProvider", "")
        title += f"\nNOTE: kernels were measured on {where} of this machine, not on {device.name}: " \
                 "the preset's roof does not bound them"
    return title


def _label_items(pts, meas: Sequence[dict], top: int) -> list[tuple[float, float, str]]:
    """What to label: the ``top`` kernels by time, or the ``top`` nodes by FLOPs (nodes at
    one spot share a label)."""
    if meas:
        return [(m["intensity"], m["achieved"], m["name"] if len(m["name"]) <= 32 else "…" + m["name"][-31:])
                for m in sorted(meas, key=lambda m: (-m["time_s"], m["name"]))[:top]]
    spots: dict[tuple[float, float], list[str]] = {}
    for n, r in sorted(pts, key=lambda t: (-t[1].flops, t[0].path))[:top]:
        key = (round(math.log10(r.intensity), 2), round(math.log10(r.attainable_flops_per_s), 2))
        spots.setdefault(key, []).append(n.path if len(n.path) <= 32 else "…" + n.path[-31:])
    return [(10**lx, 10**ly, ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else ""))
            for (lx, ly), names in spots.items()]


def plot_roofline(res: ProfileResult, device: Device, path, *, top: int = 5, rl: RooflineResult | None = None,
                  title: str | None = None, measured: Sequence[Mapping[str, Any]] | None = None,
                  providers_used: Sequence[str] | None = None) -> Path:
    """Write the roofline plot of ``res`` on ``device`` to ``path`` (.png or .svg), atomically."""
    fmt = _fmt(path)
    check_output_path(path)
    data = render_roofline(res, device, fmt, top=top, rl=rl, title=title, measured=measured,
                           providers_used=providers_used)
    return write_atomic(path, data)


__all__ = ["plot_roofline", "render_roofline"]
