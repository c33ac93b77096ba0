"""Quantized ai.onnx operators: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
MatMulInteger, QLinearMatMul (QLinearConv and ConvInteger are in :mod:`.conv`), and the
helpers every quantized op shares (the com.microsoft ones in
:mod:`op_handlers.microsoft.quantized`).

Conventions (see docs/conventions.md):

* A quantized op's MACs equal those of the float op it replaces.  For a MatMul with
  numpy broadcasting, MACs = numel(Y)·K with K the last dim of A.
* FLOPs = 2·MACs plus per-element work, using the constants below for the
  quantization steps.
* Parameters: a constant data tensor (weight matrix, bias, embedding table) is a
  parameter with its logical element count.  Quantization metadata (the scale and
  zero-point tensors that belong to a constant weight, and the constant scales/zero
  points of Quantize/DequantizeLinear) is stored and read, so it counts towards
  weight bytes, but it is not a parameter: its :class:`WeightUse` has ``numel`` 0.
  Scales/zero points of activations (a_scale, y_scale, ... of a QLinear op whose data
  input is not constant) are not weights at all.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable

from ..base import Cost, NodeContext, TensorInfo, WeightUse
from ..registry import register

# --------------------------------------------------------------------------- constants

#: QuantizeLinear per element: divide by scale, round, add zero point, clip = 4.
QUANT_FLOPS = 4
#: DequantizeLinear per element: subtract zero point, multiply by scale = 2.
DEQUANT_FLOPS = 2
#: Requantize an accumulator / fused result to the output's integer type, per output
#: element: multiply by the combined scale (rounding folded in), add zero point = 2.
REQUANT_FLOPS = 2
#: Scale an int32 accumulator to a float output (multiply by a_scale·b_scale) = 1.
OUTPUT_SCALE_FLOPS = 1
#: Min and max reduction of DynamicQuantizeLinear: one compare each per element = 2.
MINMAX_FLOPS = 2


# --------------------------------------------------------------------------- helpers


def weight_use(t: TensorInfo, numel: Any = None, nbytes_: Any = None, dtype: str | None = None) -> WeightUse:
    """A parameter use of constant tensor ``t`` (defaults: its own numel/bytes/dtype)."""
    return WeightUse(
        t.name,
        t.dtype if dtype is None else dtype,
        t.numel if numel is None else numel,
        t.nbytes if nbytes_ is None else nbytes_,
    )


def meta_use(t: TensorInfo) -> WeightUse:
    """Quantization metadata (scale / zero point): its bytes count, 0 parameters."""
    return WeightUse(t.name, t.dtype, 0, t.nbytes)


def has_weight(ctx: NodeContext, i: int | None) -> bool:
    """Input ``i`` is given, a weight (constant) and of known shape."""
    t = None if i is None else ctx.input(i)
    return t is not None and t.is_weight and t.shape is not None


def quant_weights(
    ctx: NodeContext,
    data: int,
    scale: int | None = None,
    zp: int | None = None,
) -> list[WeightUse]:
    """Weight uses of a quantized operand: when ``data`` is constant, it is a parameter
    and its scale / zero point are metadata; otherwise nothing."""
    if not has_weight(ctx, data):
        return []
    t = ctx.inputs[data]
    # a 0-d literal (the 0.5 of a quantized GELU) is stored, not a parameter
    out = [meta_use(t) if t.shape is not None and len(t.shape) == 0 else weight_use(t)]
    for i in (scale, zp):
        if has_weight(ctx, i):
            out.append(meta_use(ctx.inputs[i]))
    return out


def plain_weights(ctx: NodeContext, indices: Iterable[int]) -> list[WeightUse]:
    """Weight uses (parameters) of the listed inputs that are constant."""
    return [meta_use(ctx.inputs[i]) if len(ctx.inputs[i].shape) == 0 else weight_use(ctx.inputs[i])
            for i in indices if has_weight(ctx, i)]


def meta_weights(ctx: NodeContext, indices: Iterable[int]) -> list[WeightUse]:
    """Metadata uses (bytes, 0 params) of the listed inputs that are constant."""
    return [meta_use(ctx.inputs[i]) for i in indices if has_weight(ctx, i)]


def with_weights(cost: Cost, weights: Iterable[WeightUse]) -> Cost:
    return replace(cost, weights=tuple(weights))


def qcost(
    ctx: NodeContext,
    macs: Any,
    flops: Any,
    weights: Iterable[WeightUse],
    compute_dtype: str | None = None,
    **kw: Any,
) -> Cost:
    """``ctx.cost`` with an explicit list of weight uses."""
    return with_weights(ctx.cost(macs, flops, weights=(), compute_dtype=compute_dtype, **kw), weights)


def matmul_macs(ctx: NodeContext, a: int = 0, y: int = 0) -> Any:
    """MatMul MACs with numpy broadcasting = numel(Y)·K, K = last dim of A."""
    return ctx.out_numel(y) * ctx.in_shape(a)[-1]


def gemm_k(ctx: NodeContext, a: int = 0) -> Any:
    """Gemm reduction length: A is (M, K), or (K, M) when transA."""
    sa = ctx.in_shape(a)
    return sa[0] if ctx.attr("transA", 0) else sa[-1]


def input_dtype(ctx: NodeContext, i: int) -> str:
    """Input ``i``'s dtype ("undefined" when the input is absent)."""
    t = ctx.input(i)
    return "undefined" if t is None else t.dtype


# --------------------------------------------------------------------------- ai.onnx


@register("QuantizeLinear", since_version=10, formula="FLOPs = 4·numel(x) (div, round, add zp, clip); x (if constant) a parameter, scale/zp metadata")
def quantize_linear(ctx: NodeContext) -> Cost:
    # inputs: x, y_scale, y_zero_point?  Per-tensor, per-axis and blocked (opset 21
    # block_size) scales differ only in the scale/zp shapes, which set the bytes read.
    n = ctx.in_numel(0)
    w = plain_weights(ctx, (0,)) + meta_weights(ctx, (1, 2))
    return qcost(ctx, 0, QUANT_FLOPS * n, w, compute_dtype=input_dtype(ctx, 0))


@register("DequantizeLinear", since_version=10, formula="FLOPs = 2·numel(x) (sub zp, mul scale); constant x a parameter in its stored dtype, scale/zp metadata")
def dequantize_linear(ctx: NodeContext) -> Cost:
    # inputs: x, x_scale, x_zero_point?  The arithmetic runs in the scale's float type.
    n = ctx.in_numel(0)
    w = plain_weights(ctx, (0,)) + meta_weights(ctx, (1, 2))
    return qcost(ctx, 0, DEQUANT_FLOPS * n, w, compute_dtype=input_dtype(ctx, 1))


@register("DynamicQuantizeLinear", since_version=11, formula="FLOPs = 2·numel(x) (min, max) + 4·numel(x) (quantize) = 6·numel(x)")
def dynamic_quantize_linear(ctx: NodeContext) -> Cost:
    # inputs: x; outputs: y (uint8), y_scale, y_zero_point.  The scalar scale/zp
    # computation is O(1) and not counted.
    n = ctx.in_numel(0)
    return qcost(ctx, 0, (MINMAX_FLOPS + QUANT_FLOPS) * n, plain_weights(ctx, (0,)), compute_dtype=input_dtype(ctx, 0))


@register("MatMulInteger", since_version=10, formula="MACs = numel(Y)·K; FLOPs = 2·MACs + numel(A) if a_zp + numel(B) if b_zp")
def matmul_integer(ctx: NodeContext) -> Cost:
    # inputs: A, B, a_zero_point?, b_zero_point?  (as ConvInteger: zero points subtracted)
    macs = matmul_macs(ctx)
    zp = (ctx.in_numel(0) if ctx.has_input(2) else 0) + (ctx.in_numel(1) if ctx.has_input(3) else 0)
    w = quant_weights(ctx, 0, None, 2) + quant_weights(ctx, 1, None, 3)
    return qcost(ctx, macs, 2 * macs + zp, w, compute_dtype=input_dtype(ctx, 0))


@register("QLinearMatMul", since_version=10, formula="MACs = numel(Y)·K; FLOPs = 2·MACs + 2·numel(Y) (requantize)")
def qlinear_matmul(ctx: NodeContext) -> Cost:
    # inputs: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp  (as QLinearConv)
    macs = matmul_macs(ctx)
    n = ctx.out_numel()
    w = quant_weights(ctx, 0, 1, 2) + quant_weights(ctx, 3, 4, 5)
    return qcost(ctx, macs, 2 * macs + REQUANT_FLOPS * n, w, compute_dtype=input_dtype(ctx, 0))
