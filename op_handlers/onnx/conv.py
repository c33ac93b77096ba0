"""Convolutions: Conv, ConvTranspose, ConvInteger, QLinearConv (com.microsoft FusedConv and
the com.microsoft.nchwc Conv build on :func:`conv_macs`)."""

from __future__ import annotations

from dataclasses import replace

from ..base import Cost, NodeContext, prod
from ..registry import register
from .quantized import quant_weights  # scales / zero points: bytes, not parameters


def conv_macs(ctx: NodeContext, x: int = 0, w: int = 1, y: int = 0):
    """MACs of a convolution = numel(Y) · (C/group) · prod(kernel).

    W is (M, C/group, k1, ..., kn); every output element is a dot product of
    length (C/group)·k1·…·kn.  Dilation, stride and padding change only the output
    size, which comes from shape inference.
    """
    ws = ctx.in_shape(w)
    return ctx.out_numel(y) * prod(ws[1:])


def conv_transpose_macs(ctx: NodeContext, x: int = 0, w: int = 1):
    """MACs of a transposed convolution = numel(X) · (M/group) · prod(kernel).

    W is (C, M/group, k1, ..., kn); every input element is scattered into
    (M/group)·k1·…·kn output positions with one multiply-accumulate each.
    """
    ws = ctx.in_shape(w)
    return ctx.in_numel(x) * prod(ws[1:])


@register("Conv", formula="MACs = numel(Y)·(C/group)·prod(k); FLOPs = 2·MACs + numel(Y) if bias")
def conv(ctx: NodeContext) -> Cost:
    macs = conv_macs(ctx)
    bias = ctx.out_numel() if ctx.has_input(2) else 0
    return ctx.cost(macs, 2 * macs + bias, weights=(1, 2))


@register("ConvTranspose", formula="MACs = numel(X)·(M/group)·prod(k); FLOPs = 2·MACs + numel(Y) if bias")
def conv_transpose(ctx: NodeContext) -> Cost:
    macs = conv_transpose_macs(ctx)
    bias = ctx.out_numel() if ctx.has_input(2) else 0
    return ctx.cost(macs, 2 * macs + bias, weights=(1, 2))


@register("ConvInteger", since_version=10, formula="as Conv, in the input's integer type; zero points subtracted: + numel(X) [+ numel(W)]")
def conv_integer(ctx: NodeContext) -> Cost:
    # inputs: x, w, x_zero_point?, w_zero_point?
    macs = conv_macs(ctx)
    zp = (ctx.in_numel(0) if ctx.has_input(2) else 0) + (ctx.in_numel(1) if ctx.has_input(3) else 0)
    cost = ctx.cost(macs, 2 * macs + zp, weights=(), compute_dtype=ctx.inputs[0].dtype)
    return replace(cost, weights=tuple(quant_weights(ctx, 1, None, 3)))


@register("QLinearConv", since_version=10, formula="as Conv in int8/uint8; + numel(Y) bias, + 2·numel(Y) requantize")
def qlinear_conv(ctx: NodeContext) -> Cost:
    # inputs: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?
    macs = conv_macs(ctx, x=0, w=3)
    n = ctx.out_numel()
    bias = n if ctx.has_input(8) else 0
    cost = ctx.cost(macs, 2 * macs + bias + 2 * n, weights=(8,), compute_dtype=ctx.inputs[0].dtype)
    return replace(cost, weights=tuple(quant_weights(ctx, 3, 4, 5)) + cost.weights)
