"""ai.onnx sampling and detection: AffineGrid, Col2Im, GridSample, DeformConv, RoiAlign,
MaxRoiPool, NonMaxSuppression.

Counting rules as in :mod:`.misc`: an N-dimensional (multi)linear interpolation is
2^N − 1 one-dimensional lerps of 3 FLOPs, a cubic one (4^N − 1)/3 one-dimensional cubic
interpolations of 7 FLOPs (as Resize); data-dependent work is counted at its worst case
and says so in a note.  Formulas in docs/conventions.md.
"""

from __future__ import annotations

from typing import Any

from ..base import Cost, NodeContext, prod
from ..registry import register
from .misc import attr_str, written_bytes
from .pooling import CUBIC, LERP

# --------------------------------------------------------------------------- constants

#: Bilinear sample (2 dims): 2^2 − 1 = 3 lerps of LERP FLOPs.
BILINEAR = LERP * 3
#: Un-normalising one grid coordinate (GridSample): add 1, multiply by size/2, subtract 0.5.
GRID_COORD = 3
#: IoU of two boxes given their areas: intersection 2 max + 2 min + 2 sub + 2 clamp + 1 mul = 9,
#: union a1 + a2 − inter 2, divide 1, compare with iou_threshold 1.
IOU_PAIR = 13
#: Per box and class in NonMaxSuppression: score_threshold compare 1, area (2 sub, 1 mul) 3.
NMS_PER_BOX = 4
#: center_point_box = 1: corners from centre and size: w/2, h/2 (2), four add/sub (4).
NMS_CENTER_CONVERT = 6


@register(
    "AffineGrid",
    since_version=20,
    formula="MACs = numel(grid)·(r+1) (θ [r, r+1] × homogeneous base grid); FLOPs = 2·MACs",
)
def affine_grid(ctx: NodeContext) -> Cost:
    """theta (N, r, r+1), size (int64 [N, C, spatial...]) -> grid (N, spatial..., r)."""
    th = ctx.in_shape(0)
    macs = ctx.out_numel() * th[-1]
    return ctx.cost(
        macs, 2 * macs, weights=(0,), bytes_read=ctx.input(0).nbytes,
        notes=("base grid generation (linspace) not counted",),
    )


@register("Col2Im", since_version=18, formula="FLOPs = numel(X) (every column element added into the image)")
def col2im(ctx: NodeContext) -> Cost:
    return ctx.cost(0, ctx.in_numel(0), weights=(), bytes_read=ctx.input(0).nbytes)


def interp_flops(mode: str, rank: Any) -> Any:
    """FLOPs of one interpolated value in ``rank`` dims (0 for nearest)."""
    mode = mode.lower()
    if mode in ("linear", "bilinear", "trilinear"):
        return LERP * (2**rank - 1)
    if mode in ("cubic", "bicubic"):
        return CUBIC * ((4**rank - 1) // 3)
    return 0


@register(
    "GridSample",
    since_version=16,
    formula="FLOPs = numel(Y)·interp + 3·numel(grid); interp: linear 3·(2^r−1), cubic 7·(4^r−1)/3, nearest 0",
)
def grid_sample(ctx: NodeContext) -> Cost:
    """X (N, C, d1..dr), grid (N, D1..Dr, r) -> Y (N, C, D1..Dr).

    Opset 16 names the modes bilinear/bicubic, 20+ linear/cubic; both are accepted.
    """
    xs = ctx.in_shape(0)
    r = len(xs) - 2
    mode = attr_str(ctx.attr("mode"), "linear" if ctx.opset >= 20 else "bilinear")
    flops = ctx.out_numel() * interp_flops(mode, r) + GRID_COORD * ctx.in_numel(1)
    return ctx.cost(0, flops, weights=(1,))


@register(
    "DeformConv",
    since_version=19,
    formula=(
        "MACs as Conv = numel(Y)·(C/group)·prod(k); FLOPs = 2·MACs [+ numel(Y) bias] + numel(offset) "
        "+ S·3·(2^r−1) bilinear [+ S mask], S = N·C·prod(out)·prod(k)"
    ),
)
def deform_conv(ctx: NodeContext) -> Cost:
    """X (N, C, d...), W (oC, C/group, k...), offset (N, og·r·prod(k), out...), B?, mask?."""
    xs, ws, ys = ctx.in_shape(0), ctx.in_shape(1), ctx.out_shape(0)
    r = len(xs) - 2
    n = prod(ys)
    macs = n * prod(ws[1:])
    samples = xs[0] * xs[1] * prod(ys[2:]) * prod(ws[2:])
    flops = 2 * macs + ctx.in_numel(2) + samples * LERP * (2**r - 1)
    if ctx.has_input(3):
        flops += n
    if ctx.has_input(4):
        flops += samples
    return ctx.cost(macs, flops, weights=(1, 3))


@register(
    "RoiAlign",
    since_version=10,
    formula=(
        "FLOPs = numel(Y)·s²·(9 bilinear + 1 accumulate) [+ numel(Y) avg divide]; "
        "s = sampling_ratio, or ceil(H/oh)·ceil(W/ow) when adaptive (RoIs inside the map, worst case)"
    ),
)
def roi_align(ctx: NodeContext) -> Cost:
    """X (N, C, H, W), rois (R, 4), batch_indices (R) -> Y (R, C, oh, ow)."""
    xs, ys = ctx.in_shape(0), ctx.out_shape(0)
    ratio = ctx.attr("sampling_ratio", 0) or 0
    notes = []
    if ratio > 0:
        samples = ratio * ratio
    else:
        oh, ow = ys[2], ys[3]
        samples = (-(-xs[2] // oh)) * (-(-xs[3] // ow))
        notes.append("sampling_ratio=0 (adaptive): counted for RoIs as large as the feature map (upper bound)")
    n = prod(ys)
    flops = n * samples * (BILINEAR + 1)
    if attr_str(ctx.attr("mode"), "avg").lower() == "avg":
        flops += n
    return ctx.cost(0, flops, weights=(), notes=notes)


@register(
    "MaxRoiPool",
    formula="FLOPs = R·C·H·W (every RoI as large as the feature map: worst case, one compare per element)",
)
def max_roi_pool(ctx: NodeContext) -> Cost:
    """X (N, C, H, W), rois (R, 5) -> Y (R, C, ph, pw)."""
    xs, ys = ctx.in_shape(0), ctx.out_shape(0)
    flops = ys[0] * xs[1] * xs[2] * xs[3]
    return ctx.cost(0, flops, weights=(), notes=("RoI sizes are data: counted as whole-map RoIs (upper bound)",))


@register(
    "NonMaxSuppression",
    since_version=10,
    formula=(
        "per batch and class (n boxes): 4n (score filter, areas) [+ 6n center_point_box] "
        "+ 13·n(n−1)/2 IoU tests (worst case: every box kept); sort not counted"
    ),
)
def non_max_suppression(ctx: NodeContext) -> Cost:
    """boxes (B, n, 4), scores (B, K, n), max_output?, iou_threshold?, score_threshold?."""
    ss = ctx.in_shape(1)
    b, k, n = ss[0], ss[1], ss[2]
    per_class = NMS_PER_BOX * n + IOU_PAIR * (n * (n - 1) // 2)
    if ctx.attr("center_point_box", 0):
        per_class += NMS_CENTER_CONVERT * n
    return ctx.cost(
        0, b * k * per_class, weights=(),
        bytes_written=written_bytes(ctx),
        notes=("worst case: no box suppressed early; score sort not counted",),
    )
