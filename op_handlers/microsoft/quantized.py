"""com.microsoft quantized contrib ops: QGemm, MatMulIntegerToFloat,
DynamicQuantizeMatMul, MatMulNBits, the QLinear elementwise / pooling / concat /
softmax ops, GatherBlockQuantized, and com.microsoft QuantizeLinear / DequantizeLinear
(counted as ai.onnx's).

Conventions and helpers are those of :mod:`op_handlers.onnx.quantized`; the float
function a QLinear op evaluates (sigmoid, softmax, ...) costs what
:data:`op_handlers.microsoft.contrib.PER_ELEMENT_FLOPS` says.
"""

from __future__ import annotations

from typing import Any

from ..base import DTYPE_BITS, Cost, NodeContext, TensorInfo, WeightUse, nbytes, prod
from ..onnx.quantized import (
    DEQUANT_FLOPS,
    MINMAX_FLOPS,
    OUTPUT_SCALE_FLOPS,
    QUANT_FLOPS,
    REQUANT_FLOPS,
    dequantize_linear,
    gemm_k,
    has_weight,
    input_dtype,
    matmul_macs,
    meta_weights,
    plain_weights,
    qcost,
    quant_weights,
    quantize_linear,
    weight_use,
)
from ..registry import register
from .contrib import PER_ELEMENT_FLOPS

MS = "com.microsoft"

# --------------------------------------------------------------------------- counted as ai.onnx

register("QuantizeLinear", domain=MS, formula="FLOPs = 4·numel(x) (div, round, add zp, clip); x (if constant) a parameter, scale/zp metadata")(
    quantize_linear
)
register("DequantizeLinear", domain=MS, formula="FLOPs = 2·numel(x) (sub zp, mul scale); constant x a parameter in its stored dtype, scale/zp metadata")(
    dequantize_linear
)


# --------------------------------------------------------------------------- matmul family


@register("QGemm", domain=MS, formula="MACs = M·N·K; FLOPs = 2·MACs + numel(Y) if C + 2·numel(Y) (requantize) or 1·numel(Y) (float output scale)")
def qgemm(ctx: NodeContext) -> Cost:
    # inputs: A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zero_point?
    # Without y_scale the output is float: one multiply by a_scale·b_scale·alpha.
    n = ctx.out_numel()
    macs = n * gemm_k(ctx)
    bias = n if ctx.has_input(6) else 0
    out = (REQUANT_FLOPS if ctx.has_input(7) else OUTPUT_SCALE_FLOPS) * n
    w = quant_weights(ctx, 0, 1, 2) + quant_weights(ctx, 3, 4, 5) + plain_weights(ctx, (6,))
    return qcost(ctx, macs, 2 * macs + bias + out, w, compute_dtype=input_dtype(ctx, 0))


@register("MatMulIntegerToFloat", domain=MS, formula="MACs = numel(Y)·K; FLOPs = 2·MACs + zp subtractions + numel(Y) (scale) + numel(Y) if bias")
def matmul_integer_to_float(ctx: NodeContext) -> Cost:
    # inputs: A, B, a_scale, b_scale, a_zero_point?, b_zero_point?, bias?
    macs = matmul_macs(ctx)
    n = ctx.out_numel()
    zp = (ctx.in_numel(0) if ctx.has_input(4) else 0) + (ctx.in_numel(1) if ctx.has_input(5) else 0)
    bias = n if ctx.has_input(6) else 0
    w = quant_weights(ctx, 0, 2, 4) + quant_weights(ctx, 1, 3, 5) + plain_weights(ctx, (6,))
    return qcost(ctx, macs, 2 * macs + zp + OUTPUT_SCALE_FLOPS * n + bias, w, compute_dtype=input_dtype(ctx, 0))


@register("DynamicQuantizeMatMul", domain=MS, formula="6·numel(A) (quantize A) + numel(A) (A zp) + numel(B) if b_zp; MACs = numel(Y)·K; + 2·MACs + numel(Y) scale + numel(Y) if bias")
def dynamic_quantize_matmul(ctx: NodeContext) -> Cost:
    # inputs: A (float), B (int8/uint8), b_scale, b_zero_point?, bias?
    # A is quantized at run time to uint8 (min/max + quantize) and always has a zero point.
    macs = matmul_macs(ctx)
    n = ctx.out_numel()
    na = ctx.in_numel(0)
    quant_a = (MINMAX_FLOPS + QUANT_FLOPS) * na
    zp = na + (ctx.in_numel(1) if ctx.has_input(3) else 0)
    bias = n if ctx.has_input(4) else 0
    flops = quant_a + 2 * macs + zp + OUTPUT_SCALE_FLOPS * n + bias
    w = quant_weights(ctx, 1, 2, 3) + plain_weights(ctx, (4,))
    return qcost(ctx, macs, flops, w, compute_dtype="uint8")


@register("MatMulNBits", domain=MS, formula="MACs = numel(Y)·K; FLOPs = 2·MACs + 2·N·K (dequantize B) + numel(Y) if bias; params = N·K logical weights; weight bytes = packed B + scales + zero points")
def matmul_nbits(ctx: NodeContext) -> Cost:
    # inputs: A, B (uint8 [N, k_blocks, blob]), scales, zero_points?, g_idx?, bias?
    # Weight-only quantisation: the arithmetic runs in A's float type.  B is counted as
    # N·K logical parameters of type uint<bits> with its stored (packed, block-padded)
    # bytes; scales and zero points are metadata (bytes only); g_idx is an index
    # permutation (bytes only); bias is N parameters.
    sa = ctx.in_shape(0)
    k = ctx.attr("K", sa[-1])
    n_out = ctx.attr("N")
    if n_out is None:
        n_out = ctx.out_shape()[-1]
    bits = ctx.attr("bits", 4)
    y = ctx.out_numel()
    macs = y * k
    bias = y if ctx.has_input(5) else 0
    flops = 2 * macs + DEQUANT_FLOPS * n_out * k + bias
    w: list[WeightUse] = []
    if has_weight(ctx, 1):
        b = ctx.inputs[1]
        ldt = f"uint{bits}" if f"uint{bits}" in DTYPE_BITS else b.dtype
        w.append(weight_use(b, numel=n_out * k, dtype=ldt))
    w += meta_weights(ctx, (2, 3, 4)) + plain_weights(ctx, (5,))
    return qcost(ctx, macs, flops, w, compute_dtype=input_dtype(ctx, 0))


# --------------------------------------------------------------------------- elementwise / pooling


def _qlinear_binary(ctx: NodeContext) -> Cost:
    # inputs: A, A_scale, A_zp?, B, B_scale, B_zp?, C_scale, C_zp?
    # Per output element: dequantize both operands (2·2), the op (1), requantize (2).
    n = ctx.out_numel()
    w = quant_weights(ctx, 0, 1, 2) + quant_weights(ctx, 3, 4, 5)
    return qcost(ctx, 0, (2 * DEQUANT_FLOPS + 1 + REQUANT_FLOPS) * n, w, compute_dtype=input_dtype(ctx, 0))


register("QLinearAdd", domain=MS, formula="FLOPs = 7·numel(C): dequantize A and B (2+2), add (1), requantize (2)")(_qlinear_binary)
register("QLinearMul", domain=MS, formula="FLOPs = 7·numel(C): dequantize A and B (2+2), mul (1), requantize (2)")(_qlinear_binary)


def _qlinear_unary(per_elem: int):
    def handler(ctx: NodeContext) -> Cost:
        # inputs: X, X_scale, X_zp?, Y_scale, Y_zp?
        n = ctx.out_numel()
        flops = (DEQUANT_FLOPS + per_elem + REQUANT_FLOPS) * n
        return qcost(ctx, 0, flops, quant_weights(ctx, 0, 1, 2), compute_dtype=input_dtype(ctx, 0))

    return handler


register("QLinearSigmoid", domain=MS, formula="FLOPs = (2 + 4 + 2)·numel(Y): dequantize, sigmoid, requantize")(
    _qlinear_unary(PER_ELEMENT_FLOPS["sigmoid"])
)
register("QLinearLeakyRelu", domain=MS, formula="FLOPs = (2 + 2 + 2)·numel(Y): dequantize, compare+mul, requantize")(
    _qlinear_unary(PER_ELEMENT_FLOPS["leaky_relu"])
)


@register("QLinearSoftmax", domain=MS, formula="FLOPs = (2 + 5 + 2)·numel(Y): dequantize, softmax, requantize")
def qlinear_softmax(ctx: NodeContext) -> Cost:
    # inputs: X, X_scale, x_zero_point?, y_scale, y_zero_point
    n = ctx.out_numel()
    flops = (DEQUANT_FLOPS + PER_ELEMENT_FLOPS["softmax"] + REQUANT_FLOPS) * n
    return qcost(ctx, 0, flops, quant_weights(ctx, 0, 1, 2), compute_dtype=input_dtype(ctx, 0))


@register("QLinearAveragePool", domain=MS, formula="FLOPs = numel(Y)·prod(kernel) (window sum + divide) + 2·numel(Y) (requantize)")
def qlinear_average_pool(ctx: NodeContext) -> Cost:
    # inputs: X, x_scale, x_zp?, y_scale, y_zp?  The window is summed in the integer
    # domain (k−1 adds + 1 divide = k per output); the zero point and scales fold into
    # the requantize.
    n = ctx.out_numel()
    k = prod(ctx.attr("kernel_shape", ()))
    return qcost(ctx, 0, n * k + REQUANT_FLOPS * n, [], compute_dtype=input_dtype(ctx, 0))


@register("QLinearGlobalAveragePool", domain=MS, formula="FLOPs = numel(X) (sum + divide per channel) + 2·numel(Y) (requantize)")
def qlinear_global_average_pool(ctx: NodeContext) -> Cost:
    # inputs: X, x_scale, x_zp, y_scale, y_zp
    return qcost(ctx, 0, ctx.in_numel(0) + REQUANT_FLOPS * ctx.out_numel(), [], compute_dtype=input_dtype(ctx, 0))


@register("QLinearConcat", domain=MS, formula="FLOPs = 2·numel(Y) (every input requantized to the output scale); data movement otherwise")
def qlinear_concat(ctx: NodeContext) -> Cost:
    # inputs: Y_scale, Y_zero_point, then (tensor, scale, zero_point) triples.  Whether an
    # input's scale/zp equal the output's is a value question; the handler assumes every
    # input is requantized (an upper bound; copies cost 0 FLOPs).
    w: list[WeightUse] = []
    for i in range(2, len(ctx.inputs), 3):
        w += quant_weights(ctx, i, i + 1, i + 2)
    dt = input_dtype(ctx, 2) if ctx.has_input(2) else ctx.outputs[0].dtype
    return qcost(ctx, 0, REQUANT_FLOPS * ctx.out_numel(), w, compute_dtype=dt)


# --------------------------------------------------------------------------- GatherBlockQuantized


def gathered_bytes(t: TensorInfo, axis: int, n_indices: Any) -> Any:
    """Bytes of ``t`` touched by gathering ``n_indices`` slices along ``axis``.

    A dim of 1 on the gather axis is broadcast (e.g. a per-tensor scale): read whole.
    """
    shape = t.shape
    if shape is None:
        return 0
    d = shape[axis]
    if isinstance(d, int) and d == 1:
        return t.nbytes
    return nbytes(prod(shape[:axis]) * prod(shape[axis + 1:]) * n_indices, t.dtype)


@register("GatherBlockQuantized", domain=MS, formula="FLOPs = 2·numel(Y) (dequantize the gathered rows); reads only the gathered slices of data/scales/zero points")
def gather_block_quantized(ctx: NodeContext) -> Cost:
    # inputs: data (int4/uint4, or uint8 packing 8/bits values per byte, or fp8/fp4),
    # indices, scales, zero_points?  Output = dequantized rows (scales' dtype).
    # Parameters: the whole table, counted in logical elements; scales / zero points
    # are metadata.  Memory traffic: the gathered slices, the indices, the output.
    data = ctx.inputs[0]
    rank = len(ctx.in_shape(0))
    ax = ctx.attr("gather_axis", 0)
    ax = ax + rank if ax < 0 else ax
    nidx = ctx.in_numel(1)
    y = ctx.out_numel()
    bits = ctx.attr("bits", 4)
    w: list[WeightUse] = []
    if has_weight(ctx, 0):
        per_byte = 8 // bits if data.dtype == "uint8" and bits < 8 else 1
        ldt = f"uint{bits}" if per_byte > 1 and f"uint{bits}" in DTYPE_BITS else data.dtype
        w.append(weight_use(data, numel=data.numel * per_byte, dtype=ldt))
    w += meta_weights(ctx, (2, 3))
    read = ctx.inputs[1].nbytes
    for i in (0, 2, 3):
        t = ctx.input(i)
        if t is not None:
            read = read + gathered_bytes(t, ax, nidx)
    return qcost(ctx, 0, DEQUANT_FLOPS * y, w, compute_dtype=input_dtype(ctx, 2), bytes_read=read)


# --------------------------------------------------------------------------- shape rules (ops onnx's inference does not know)

from ..registry import shape_rule  # noqa: E402
from ..shape_rules import broadcast, conv_shape, dtype_of, gemm_mn, known, matmul_shape, out, pool_shape, same_as_first  # noqa: E402,F401

shape_rule("QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax", domain=MS)(same_as_first)


@shape_rule("QLinearAdd", "QLinearMul", domain=MS)
def _qlinear_binary_shape(ctx: NodeContext):
    """A (input 0) and B (input 3) broadcast."""
    a, b = ctx.input(0), ctx.input(3)
    if not (known(a) and known(b)):
        return [None]
    return [out(broadcast(a.shape, b.shape), a.dtype)]


@shape_rule("QuantizeLinear", domain=MS)
def _ms_quantize_shape(ctx: NodeContext):
    x = ctx.input(0)
    return [out(x.shape, dtype_of(ctx.input(2), "uint8"))] if known(x) else [None]


@shape_rule("DequantizeLinear", domain=MS)
def _ms_dequantize_shape(ctx: NodeContext):
    x = ctx.input(0)
    return [out(x.shape, dtype_of(ctx.input(1)))] if known(x) else [None]


@shape_rule("MatMulIntegerToFloat", domain=MS)
def _matmul_to_float_shape(ctx: NodeContext):
    a, b = ctx.input(0), ctx.input(1)
    if not (known(a) and known(b)):
        return [None]
    return [out(matmul_shape(a.shape, b.shape), dtype_of(ctx.input(2)))]


@shape_rule("DynamicQuantizeMatMul", domain=MS)
def _dynamic_quantize_matmul_shape(ctx: NodeContext):
    a, b = ctx.input(0), ctx.input(1)
    if not (known(a) and known(b)):
        return [None]
    return [out(matmul_shape(a.shape, b.shape), a.dtype)]


@shape_rule("MatMulNBits", domain=MS)
def _matmul_nbits_shape(ctx: NodeContext):
    """Y = A [..., K] times the N x K quantized B: [..., N] in A's dtype."""
    a, n = ctx.input(0), ctx.attr("N")
    if not known(a) or not n:
        return [None]
    return [(a.dtype, (*a.shape[:-1], int(n)))]


@shape_rule("QGemm", domain=MS)
def _qgemm_shape(ctx: NodeContext):
    a, b = ctx.input(0), ctx.input(3)
    if not (known(a) and known(b)) or len(a.shape) != 2 or len(b.shape) != 2:
        return [None]
    y_scale = ctx.input(7)
    dtype = dtype_of(ctx.input(8), a.dtype) if y_scale is not None else "float32"
    return [(dtype, gemm_mn(ctx, a.shape, b.shape))]


@shape_rule("QLinearAveragePool", domain=MS)
def _qlinear_pool_shape(ctx: NodeContext):
    x = ctx.input(0)
    return [out(pool_shape(x.shape, ctx.attrs), x.dtype)] if known(x) else [None]


@shape_rule("QLinearGlobalAveragePool", domain=MS)
def _qlinear_global_pool_shape(ctx: NodeContext):
    x = ctx.input(0)
    if not known(x):
        return [None]
    ones = [1] * (len(x.shape) - 2)
    if ctx.attr("channels_last"):
        return [(x.dtype, (x.shape[0], *ones, x.shape[-1]))]
    return [(x.dtype, (x.shape[0], x.shape[1], *ones))]


@shape_rule("QLinearConcat", domain=MS)
def _qlinear_concat_shape(ctx: NodeContext):
    """Inputs after Y's scale and zero point come in (data, scale, zero point) triples."""
    data = [ctx.input(i) for i in range(2, len(ctx.inputs), 3)]
    if not data or not all(known(d) for d in data):
        return [None]
    rank = len(data[0].shape)
    axis = int(ctx.attr("axis", 0)) % rank
    shape = list(data[0].shape)
    shape[axis] = sum(d.shape[axis] for d in data)
    return [(data[0].dtype, tuple(shape))]


@shape_rule("GatherBlockQuantized", domain=MS)
def _gather_block_quantized_shape(ctx: NodeContext):
    """Rows of the (unpacked) table gathered by the indices, in the scales' dtype."""
    data, idx = ctx.input(0), ctx.input(1)
    if not (known(data) and known(idx)):
        return [None]
    bits = int(ctx.attr("bits", 4))
    shape = list(data.shape)
    if data.dtype == "uint8" and bits < 8:
        shape[-1] = shape[-1] * (8 // bits)
    axis = int(ctx.attr("gather_axis", 0)) % len(shape)
    return [(dtype_of(ctx.input(2)), tuple(shape[:axis] + list(idx.shape) + shape[axis + 1:]))]
