"""Quantized operators: ai.onnx QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
MatMulInteger, QLinearMatMul, and the com.microsoft quantized contrib ops (QGemm,
QLinear* elementwise/pooling/concat/softmax, DynamicQuantizeMatMul,
MatMulIntegerToFloat, MatMulNBits, GatherBlockQuantized).

Conventions (see docs/conventions.md):

* A quantized op's MACs equal those of the float op it replaces.  For a MatMul with
  numpy broadcasting, MACs = numel(Y)·K with K the last dim of A.
* FLOPs = 2·MACs plus per-element work, using the constants below for the
  quantization steps and the per-element table of :mod:`.contrib` for the float
  function a QLinear op evaluates (sigmoid, softmax, ...).
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

from ..base import DTYPE_BITS, Cost, NodeContext, TensorInfo, WeightUse, nbytes, prod
from ..microsoft.contrib import PER_ELEMENT_FLOPS
from ..registry import register

MS = "com.microsoft"

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


def _is_w(ctx: NodeContext, i: int | None) -> bool:
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
    if not _is_w(ctx, data):
        return []
    t = ctx.inputs[data]
    # a 0-d literal (the 0.5 of a quantized GELU) is stored, not a parameter
    out = [meta_use(t) if t.shape is not None and len(t.shape) == 0 else weight_use(t)]
    for i in (scale, zp):
        if _is_w(ctx, i):
            out.append(meta_use(ctx.inputs[i]))
    return out


def plain_weights(ctx: NodeContext, indices: Iterable[int]) -> list[WeightUse]:
    """Weight uses (parameters) of the listed inputs that are constant."""
    return [meta_use(ctx.inputs[i]) if len(ctx.inputs[i].shape) == 0 else weight_use(ctx.inputs[i])
            for i in indices if _is_w(ctx, i)]


def meta_weights(ctx: NodeContext, indices: Iterable[int]) -> list[WeightUse]:
    """Metadata uses (bytes, 0 params) of the listed inputs that are constant."""
    return [meta_use(ctx.inputs[i]) for i in indices if _is_w(ctx, i)]


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


def _dtype(ctx: NodeContext, i: int) -> str:
    t = ctx.input(i)
    return "undefined" if t is None else t.dtype


# --------------------------------------------------------------------------- ai.onnx


@register("QuantizeLinear", since_version=10, formula="FLOPs = 4·numel(x) (div, round, add zp, clip); x (if constant) a parameter, scale/zp metadata")
@register("QuantizeLinear", domain=MS, formula="FLOPs = 4·numel(x) (div, round, add zp, clip); x (if constant) a parameter, scale/zp metadata")
def quantize_linear(ctx: NodeContext) -> Cost:
    # inputs: x, y_scale, y_zero_point?  Per-tensor, per-axis and blocked (opset 21
    # block_size) scales differ only in the scale/zp shapes, which set the bytes read.
    n = ctx.in_numel(0)
    w = plain_weights(ctx, (0,)) + meta_weights(ctx, (1, 2))
    return qcost(ctx, 0, QUANT_FLOPS * n, w, compute_dtype=_dtype(ctx, 0))


@register("DequantizeLinear", since_version=10, formula="FLOPs = 2·numel(x) (sub zp, mul scale); constant x a parameter in its stored dtype, scale/zp metadata")
@register("DequantizeLinear", domain=MS, formula="FLOPs = 2·numel(x) (sub zp, mul scale); constant x a parameter in its stored dtype, scale/zp metadata")
def dequantize_linear(ctx: NodeContext) -> Cost:
    # inputs: x, x_scale, x_zero_point?  The arithmetic runs in the scale's float type.
    n = ctx.in_numel(0)
    w = plain_weights(ctx, (0,)) + meta_weights(ctx, (1, 2))
    return qcost(ctx, 0, DEQUANT_FLOPS * n, w, compute_dtype=_dtype(ctx, 1))


@register("DynamicQuantizeLinear", since_version=11, formula="FLOPs = 2·numel(x) (min, max) + 4·numel(x) (quantize) = 6·numel(x)")
def dynamic_quantize_linear(ctx: NodeContext) -> Cost:
    # inputs: x; outputs: y (uint8), y_scale, y_zero_point.  The scalar scale/zp
    # computation is O(1) and not counted.
    n = ctx.in_numel(0)
    return qcost(ctx, 0, (MINMAX_FLOPS + QUANT_FLOPS) * n, plain_weights(ctx, (0,)), compute_dtype=_dtype(ctx, 0))


@register("MatMulInteger", since_version=10, formula="MACs = numel(Y)·K; FLOPs = 2·MACs + numel(A) if a_zp + numel(B) if b_zp")
def matmul_integer(ctx: NodeContext) -> Cost:
    # inputs: A, B, a_zero_point?, b_zero_point?  (as ConvInteger: zero points subtracted)
    macs = matmul_macs(ctx)
    zp = (ctx.in_numel(0) if ctx.has_input(2) else 0) + (ctx.in_numel(1) if ctx.has_input(3) else 0)
    w = quant_weights(ctx, 0, None, 2) + quant_weights(ctx, 1, None, 3)
    return qcost(ctx, macs, 2 * macs + zp, w, compute_dtype=_dtype(ctx, 0))


@register("QLinearMatMul", since_version=10, formula="MACs = numel(Y)·K; FLOPs = 2·MACs + 2·numel(Y) (requantize)")
def qlinear_matmul(ctx: NodeContext) -> Cost:
    # inputs: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp  (as QLinearConv)
    macs = matmul_macs(ctx)
    n = ctx.out_numel()
    w = quant_weights(ctx, 0, 1, 2) + quant_weights(ctx, 3, 4, 5)
    return qcost(ctx, macs, 2 * macs + REQUANT_FLOPS * n, w, compute_dtype=_dtype(ctx, 0))


# --------------------------------------------------------------------------- com.microsoft matmul family


@register("QGemm", domain=MS, formula="MACs = M·N·K; FLOPs = 2·MACs + numel(Y) if C + 2·numel(Y) (requantize) or 1·numel(Y) (float output scale)")
def qgemm(ctx: NodeContext) -> Cost:
    # inputs: A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zero_point?
    # Without y_scale the output is float: one multiply by a_scale·b_scale·alpha.
    n = ctx.out_numel()
    macs = n * gemm_k(ctx)
    bias = n if ctx.has_input(6) else 0
    out = (REQUANT_FLOPS if ctx.has_input(7) else OUTPUT_SCALE_FLOPS) * n
    w = quant_weights(ctx, 0, 1, 2) + quant_weights(ctx, 3, 4, 5) + plain_weights(ctx, (6,))
    return qcost(ctx, macs, 2 * macs + bias + out, w, compute_dtype=_dtype(ctx, 0))


@register("MatMulIntegerToFloat", domain=MS, formula="MACs = numel(Y)·K; FLOPs = 2·MACs + zp subtractions + numel(Y) (scale) + numel(Y) if bias")
def matmul_integer_to_float(ctx: NodeContext) -> Cost:
    # inputs: A, B, a_scale, b_scale, a_zero_point?, b_zero_point?, bias?
    macs = matmul_macs(ctx)
    n = ctx.out_numel()
    zp = (ctx.in_numel(0) if ctx.has_input(4) else 0) + (ctx.in_numel(1) if ctx.has_input(5) else 0)
    bias = n if ctx.has_input(6) else 0
    w = quant_weights(ctx, 0, 2, 4) + quant_weights(ctx, 1, 3, 5) + plain_weights(ctx, (6,))
    return qcost(ctx, macs, 2 * macs + zp + OUTPUT_SCALE_FLOPS * n + bias, w, compute_dtype=_dtype(ctx, 0))


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
    if _is_w(ctx, 1):
        b = ctx.inputs[1]
        ldt = f"uint{bits}" if f"uint{bits}" in DTYPE_BITS else b.dtype
        w.append(weight_use(b, numel=n_out * k, dtype=ldt))
    w += meta_weights(ctx, (2, 3, 4)) + plain_weights(ctx, (5,))
    return qcost(ctx, macs, flops, w, compute_dtype=_dtype(ctx, 0))


# --------------------------------------------------------------------------- com.microsoft elementwise / pooling


def _qlinear_binary(ctx: NodeContext) -> Cost:
    # inputs: A, A_scale, A_zp?, B, B_scale, B_zp?, C_scale, C_zp?
    # Per output element: dequantize both operands (2·2), the op (1), requantize (2).
    n = ctx.out_numel()
    w = quant_weights(ctx, 0, 1, 2) + quant_weights(ctx, 3, 4, 5)
    return qcost(ctx, 0, (2 * DEQUANT_FLOPS + 1 + REQUANT_FLOPS) * n, w, compute_dtype=_dtype(ctx, 0))


register("QLinearAdd", domain=MS, formula="FLOPs = 7·numel(C): dequantize A and B (2+2), add (1), requantize (2)")(_qlinear_binary)
register("QLinearMul", domain=MS, formula="FLOPs = 7·numel(C): dequantize A and B (2+2), mul (1), requantize (2)")(_qlinear_binary)


def _qlinear_unary(per_elem: int):
    def handler(ctx: NodeContext) -> Cost:
        # inputs: X, X_scale, X_zp?, Y_scale, Y_zp?
        n = ctx.out_numel()
        flops = (DEQUANT_FLOPS + per_elem + REQUANT_FLOPS) * n
        return qcost(ctx, 0, flops, quant_weights(ctx, 0, 1, 2), compute_dtype=_dtype(ctx, 0))

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
    return qcost(ctx, 0, flops, quant_weights(ctx, 0, 1, 2), compute_dtype=_dtype(ctx, 0))


@register("QLinearAveragePool", domain=MS, formula="FLOPs = numel(Y)·prod(kernel) (window sum + divide) + 2·numel(Y) (requantize)")
def qlinear_average_pool(ctx: NodeContext) -> Cost:
    # inputs: X, x_scale, x_zp?, y_scale, y_zp?  The window is summed in the integer
    # domain (k−1 adds + 1 divide = k per output); the zero point and scales fold into
    # the requantize.
    n = ctx.out_numel()
    k = prod(ctx.attr("kernel_shape", ()))
    return qcost(ctx, 0, n * k + REQUANT_FLOPS * n, [], compute_dtype=_dtype(ctx, 0))


@register("QLinearGlobalAveragePool", domain=MS, formula="FLOPs = numel(X) (sum + divide per channel) + 2·numel(Y) (requantize)")
def qlinear_global_average_pool(ctx: NodeContext) -> Cost:
    # inputs: X, x_scale, x_zp, y_scale, y_zp
    return qcost(ctx, 0, ctx.in_numel(0) + REQUANT_FLOPS * ctx.out_numel(), [], compute_dtype=_dtype(ctx, 0))


@register("QLinearConcat", domain=MS, formula="FLOPs = 2·numel(Y) (every input requantized to the output scale); data movement otherwise")
def qlinear_concat(ctx: NodeContext) -> Cost:
    # inputs: Y_scale, Y_zero_point, then (tensor, scale, zero_point) triples.  Whether an
    # input's scale/zp equal the output's is a value question; the handler assumes every
    # input is requantized (an upper bound; copies cost 0 FLOPs).
    w: list[WeightUse] = []
    for i in range(2, len(ctx.inputs), 3):
        w += quant_weights(ctx, i, i + 1, i + 2)
    dt = _dtype(ctx, 2) if ctx.has_input(2) else ctx.outputs[0].dtype
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
    if _is_w(ctx, 0):
        per_byte = 8 // bits if data.dtype == "uint8" and bits < 8 else 1
        ldt = f"uint{bits}" if per_byte > 1 and f"uint{bits}" in DTYPE_BITS else data.dtype
        w.append(weight_use(data, numel=data.numel * per_byte, dtype=ldt))
    w += meta_weights(ctx, (2, 3))
    read = ctx.inputs[1].nbytes
    for i in (0, 2, 3):
        t = ctx.input(i)
        if t is not None:
            read = read + gathered_bytes(t, ax, nidx)
    return qcost(ctx, 0, DEQUANT_FLOPS * y, w, compute_dtype=_dtype(ctx, 2), bytes_read=read)


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
