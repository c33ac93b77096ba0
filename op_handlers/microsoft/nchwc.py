"""com.microsoft.nchwc: onnxruntime's blocked-layout ops (Conv, pools, reorders,
Upsample).  Per-element costs from :data:`.contrib.PER_ELEMENT_FLOPS`; formulas in
docs/conventions.md.
"""

from __future__ import annotations

from ..base import Cost, NodeContext, prod
from ..onnx.conv import conv_macs
from ..onnx.elementwise import fused_activation
from ..registry import register
from .contrib import PER_ELEMENT_FLOPS as PE

NCHWC = "com.microsoft.nchwc"


@register("Conv", domain=NCHWC, formula="MACs = numel(Y)·(C/group)·kH·kW; FLOPs = 2·MACs + numel(Y)·([B] + [Sum] + activation)")
def nchwc_conv(ctx: NodeContext) -> Cost:
    # inputs: X, W, B?, Sum?  (Sum is added before the activation).  Shapes are the
    # blocked layout's (channels padded to the block size), so padding counts.
    macs = conv_macs(ctx)
    n = ctx.out_numel()
    extra = (n if ctx.has_input(2) else 0) + (n if ctx.has_input(3) else 0)
    act, notes = fused_activation(ctx, n)
    return ctx.cost(macs, 2 * macs + extra + act, weights=(1, 2), notes=notes)


@register("MaxPool", "AveragePool", domain=NCHWC, formula="FLOPs = numel(Y)·prod(kernel_shape)")
def nchwc_pool(ctx: NodeContext) -> Cost:
    k = prod(ctx.attr("kernel_shape", ()))
    return ctx.cost(0, PE["pool_window"] * ctx.out_numel() * k)


@register("GlobalMaxPool", "GlobalAveragePool", domain=NCHWC, formula="FLOPs = numel(X)")
def nchwc_global_pool(ctx: NodeContext) -> Cost:
    return ctx.cost(0, PE["pool_window"] * ctx.in_numel(0))


@register("ReorderInput", "ReorderOutput", domain=NCHWC, kind="data_movement", formula="0 FLOPs; reads X, writes Y")
def nchwc_reorder(ctx: NodeContext) -> Cost:
    return ctx.cost(0, 0)


@register("Upsample", domain=NCHWC, formula="nearest: 0 FLOPs; linear: numel(Y)·3·(2^r − 1), r = resized dims")
def nchwc_upsample(ctx: NodeContext) -> Cost:
    mode = ctx.attr("mode", "nearest")
    if isinstance(mode, bytes):
        mode = mode.decode()
    if mode != "linear":
        return ctx.cost(0, 0)
    r = sum(1 for a, b in zip(ctx.in_shape(0), ctx.out_shape(0)) if a != b)
    return ctx.cost(0, PE["lerp"] * (2**r - 1) * ctx.out_numel())
