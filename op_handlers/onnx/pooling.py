"""Pooling and resizing: FLOPs only.

MaxPool / AveragePool / LpPool: every output element looks at prod(kernel)
inputs: FLOPs = numel(Y)·prod(kernel) (k−1 compares or adds, plus the division
or the result write; LpPool doubles it for the power).  Global pools:
FLOPs = numel(X).  Resize / Upsample: nearest is data movement (0 FLOPs); an
r-dimensional (bi/tri)linear interpolation is 2^r − 1 one-dimensional lerps of 3
FLOPs each; cubic is (4^r − 1)/3 one-dimensional cubic interpolations of 7 FLOPs.
"""

from __future__ import annotations

from ..base import Cost, NodeContext, prod
from ..registry import register


def _kernel(ctx: NodeContext):
    k = ctx.attr("kernel_shape")
    if k is None:  # spatial dims of the input
        k = ctx.in_shape(0)[2:]
    return prod(k)


@register("MaxPool", "AveragePool", formula="FLOPs = numel(Y)·prod(kernel)")
def pool(ctx: NodeContext) -> Cost:
    return ctx.cost(0, ctx.out_numel() * _kernel(ctx), bytes_written=ctx.output(0).nbytes)


@register("LpPool", formula="FLOPs = 2·numel(Y)·prod(kernel)")
def lp_pool(ctx: NodeContext) -> Cost:
    return ctx.cost(0, 2 * ctx.out_numel() * _kernel(ctx))


@register("GlobalAveragePool", "GlobalMaxPool", formula="FLOPs = numel(X)")
def global_pool(ctx: NodeContext) -> Cost:
    return ctx.cost(0, ctx.in_numel(0))


@register("GlobalLpPool", formula="FLOPs = 2·numel(X)")
def global_lp_pool(ctx: NodeContext) -> Cost:
    return ctx.cost(0, 2 * ctx.in_numel(0))


LERP = 3
CUBIC = 7


def resize_flops(ctx: NodeContext, mode: str):
    xs, ys = ctx.in_shape(0), ctx.out_shape(0)
    r = sum(1 for a, b in zip(xs, ys) if a != b)
    n = ctx.out_numel()
    mode = mode.lower()
    if mode in ("linear", "bilinear", "trilinear"):
        return n * LERP * (2**r - 1)
    if mode == "cubic":
        return n * CUBIC * ((4**r - 1) // 3)
    return 0  # nearest: a copy


@register("Resize", since_version=10, formula="nearest 0; linear numel(Y)·3·(2^r−1); cubic numel(Y)·7·(4^r−1)/3 (r = resized dims)")
def resize(ctx: NodeContext) -> Cost:
    mode = ctx.attr("mode", "nearest")
    if isinstance(mode, bytes):
        mode = mode.decode()
    # roi / scales / sizes inputs are small control tensors: read only X
    return ctx.cost(0, resize_flops(ctx, mode), weights=(), bytes_read=ctx.inputs[0].nbytes)


@register("Upsample", since_version=7, formula="as Resize")
def upsample(ctx: NodeContext) -> Cost:
    mode = ctx.attr("mode", "nearest")
    if isinstance(mode, bytes):
        mode = mode.decode()
    return ctx.cost(0, resize_flops(ctx, mode), weights=(), bytes_read=ctx.inputs[0].nbytes)
