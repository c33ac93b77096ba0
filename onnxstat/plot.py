"""Roofline plot: log-log arithmetic intensity vs attainable FLOP/s (matplotlib, Agg).

``plot_roofline(res, device, path)`` draws one roof per precision present among
the nodes (memory slope ``bandwidth x intensity`` up to the peak), one point per
node with FLOPs > 0 and traffic > 0 (sized by FLOPs, coloured by op type, sitting
on its roof at its attainable FLOP/s) and labels the nodes with the most FLOPs.
The format follows the extension (.png or .svg); the figure is rendered in
memory and written atomically.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from .errors import UsageError
from .io import check_output_path, write_atomic
from .result import ProfileResult
from .roofline import PRECISIONS, Device, RooflineResult, apply_roofline
from . import units

FORMATS = {".png": "png", ".svg": "svg"}
ROOF_STYLE = {"fp32": "-", "fp16": "--", "int8": ":"}


def _fmt(path) -> str:
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise UsageError(f"plot {path}: unsupported extension {ext or '(none)'!r}; use .png or .svg")
    return FORMATS[ext]


def render_roofline(res: ProfileResult, device: Device, fmt: str = "png", *, top: int = 5,
                    rl: RooflineResult | None = None, title: str | None = None) -> bytes:
    """The roofline figure as PNG or SVG bytes."""
    from .extras import require

    matplotlib = require("matplotlib", "--plot")

    # Figure + the Agg canvas directly: no pyplot, no global backend switch, no display needed
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fmt not in FORMATS.values():
        raise UsageError(f"plot format must be png or svg, got {fmt!r}")
    rl = rl or apply_roofline(res, device)
    pts = [
        (n, r)
        for n, r in zip(res.nodes, rl.nodes)
        if r.flops and r.flops > 0 and r.intensity and r.attainable_flops_per_s and r.precision
    ]
    precisions = [p for p in PRECISIONS if any(r.precision == p for _n, r in pts)] or ["fp32"]
    bw = device.bandwidth

    fig = Figure(figsize=(9, 6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xscale("log")
    ax.set_yscale("log")

    ridges = [device.peak_for(p)[0] / bw for p in precisions]
    xs = [r.intensity for _n, r in pts]
    lo = min(xs + [min(ridges) / 100]) / 2
    hi = max(xs + [max(ridges) * 10]) * 2
    for p in precisions:
        peak, used = device.peak_for(p)
        ridge = peak / bw
        xline = [lo, ridge, hi]
        yline = [lo * bw, peak, peak]
        label = f"{p} roof: {units.rate(peak, p)}" + ("" if used == p else f" (= {used}, no {p} peak)")
        ax.plot(xline, yline, ROOF_STYLE.get(p, "-"), color="black", linewidth=1.4, label=label)
        ax.axvline(ridge, color="grey", linestyle=ROOF_STYLE.get(p, "-"), linewidth=0.6, alpha=0.6)
        ax.annotate(f"{p} ridge {ridge:.3g} FLOP/B", (ridge, peak), textcoords="offset points", xytext=(4, 16),
                    fontsize=7, color="dimgrey")

    # one colour per op type, most FLOPs first
    flops_by_op: dict[str, float] = {}
    for n, r in pts:
        flops_by_op[n.op_type] = flops_by_op.get(n.op_type, 0.0) + r.flops
    ops = sorted(flops_by_op, key=lambda o: (-flops_by_op[o], o))
    cmap = matplotlib.colormaps["tab20" if len(ops) > 10 else "tab10"]
    colors = {o: cmap(i % cmap.N) for i, o in enumerate(ops)}
    fmax = max((r.flops for _n, r in pts), default=1.0)
    for o in ops:
        sel = [(n, r) for n, r in pts if n.op_type == o]
        sizes = [20 + 380 * math.sqrt(r.flops / fmax) for _n, r in sel]
        ax.scatter([r.intensity for _n, r in sel], [r.attainable_flops_per_s for _n, r in sel], s=sizes,
                   color=colors[o], alpha=0.75, edgecolors="black", linewidths=0.4, zorder=3)
    from matplotlib.lines import Line2D

    handles, _labels = ax.get_legend_handles_labels()  # the roofs
    handles += [Line2D([], [], marker="o", linestyle="", markersize=7, markerfacecolor=colors[o], alpha=0.75,
                       markeredgecolor="black", markeredgewidth=0.4, label=o) for o in ops]
    # label the top nodes; nodes on the same spot share one label
    spots: dict[tuple[float, float], list[str]] = {}
    for n, r in sorted(pts, key=lambda t: (-t[1].flops, t[0].path))[:top]:
        key = (round(math.log10(r.intensity), 2), round(math.log10(r.attainable_flops_per_s), 2))
        spots.setdefault(key, []).append(n.path if len(n.path) <= 32 else "…" + n.path[-31:])
    ax.set_xlim(lo, hi)
    ymax = max(device.peak_for(p)[0] for p in precisions) * 3
    ymin = min([lo * bw] + [r.attainable_flops_per_s for _n, r in pts]) / 2
    ax.set_ylim(ymin, ymax)
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: units.si(v, "FLOP/s", 0)))
    ax.set_xlabel("Arithmetic intensity (FLOPs / byte of memory traffic)")
    ax.set_ylabel("Attainable FLOP/s")
    src = "measured" if device.measured else "datasheet"
    name = Path(res.path).name if res.path else "model"
    dims = (res.settings or {}).get("dims") or {}
    if dims:
        name += " (" + ", ".join(f"{k}={v}" for k, v in sorted(dims.items())) + ")"
    ax.set_title(title or (
        f"{name} on {device.name} ({src}; {units.nbytes(bw)}/s): roofline latency "
        f"{units.duration(rl.latency_s)}, {len(pts)} nodes with FLOPs"
    ), fontsize=9)
    ax.grid(True, which="both", linewidth=0.3, alpha=0.5)
    ax.legend(handles=handles, fontsize=7, loc="lower right", ncol=2 if len(ops) > 8 else 1,
              title="point size ~ sqrt(FLOPs)", title_fontsize=7)
    fig.tight_layout()
    # node labels last, once the axes have their final place: inside the axes, apart from each other
    _place_labels(fig, ax, [((10**lx, 10**ly), ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else ""))
                            for (lx, ly), names in spots.items()])
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "onnxstat"}):  # SVG text stays text
        fig.savefig(buf, format=fmt, metadata={"Software": "onnxstat"} if fmt == "png" else {"Creator": "onnxstat", "Date": None})
    return buf.getvalue()


#: label positions tried around a point, in points: right-below, right-above, left-above, left-below, further out
LABEL_OFFSETS = ((8, -12), (8, 8), (-8, 8), (-8, -12), (8, -24), (8, 20), (-8, 20), (-8, -24))


def _place_labels(fig, ax, labels) -> list:
    """Annotate each ``(xy, text)`` at the first offset where its box lies inside the axes
    and overlaps no label placed before it (the largest nodes come first); a label with no
    such place is left out rather than drawn over another or outside the plot."""
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    legend = ax.get_legend()
    placed = [legend.get_window_extent(renderer)] if legend is not None else []
    shown = []
    for xy, text in labels:
        for dx, dy in LABEL_OFFSETS:
            a = ax.annotate(text, xy, textcoords="offset points", xytext=(dx, dy), fontsize=7, zorder=4,
                            ha="left" if dx > 0 else "right", va="center", annotation_clip=True)
            box = a.get_window_extent(renderer).expanded(1.05, 1.15)
            inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1)
            if inside and not any(box.overlaps(b) for b in placed):
                placed.append(box)
                shown.append(a)
                break
            a.remove()
    return shown


def plot_roofline(res: ProfileResult, device: Device, path, *, top: int = 5, rl: RooflineResult | None = None,
                  title: str | None = None) -> Path:
    """Write the roofline plot of ``res`` on ``device`` to ``path`` (.png or .svg), atomically."""
    fmt = _fmt(path)
    check_output_path(path)
    data = render_roofline(res, device, fmt, top=top, rl=rl, title=title)
    return write_atomic(path, data)


__all__ = ["plot_roofline", "render_roofline"]
