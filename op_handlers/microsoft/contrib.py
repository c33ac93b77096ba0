"""com.microsoft contrib ops (FusedMatMul, FusedGemm, FusedConv, the Gelu family, the
fused layer norms, EmbedLayerNormalization, BiasAdd, BiasSoftmax), and onnxruntime's
SimplifiedLayerNormalization in the ai.onnx domain.

Per-element costs of the float functions these ops evaluate are kept in one table,
:data:`PER_ELEMENT_FLOPS`, which :mod:`.quantized` (QLinear ops) and :mod:`.nchwc`
(com.microsoft.nchwc blocked-layout ops) also use.
See docs/conventions.md for the formulas.
"""

from __future__ import annotations

from typing import Any

from ..base import Cost, NodeContext, nbytes
from ..onnx.conv import conv_macs
from ..onnx.elementwise import fused_activation
from ..registry import register

MS = "com.microsoft"
NCHWC = "com.microsoft.nchwc"

#: FLOPs per element of the float functions evaluated by contrib / QLinear ops.
#: Primitive functions (exp, tanh, rsqrt, erf) count 1, as in :mod:`op_handlers.onnx.elementwise`.
PER_ELEMENT_FLOPS: dict[str, int] = {
    # Gelu (erf form) 0.5·x·(1 + erf(x/√2)): x/√2 1, erf 1, +1 1, ·x 1, ·0.5 1
    "gelu": 5,
    # FastGelu (tanh form) 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))):
    # x³ 2, ·0.044715 1, +x 1, ·√(2/π) 1, tanh 1, +1 1, ·x 1, ·0.5 1
    "fast_gelu": 9,
    # QuickGelu x·sigmoid(α·x): ·α 1, exp 1, +1 1, reciprocal 1, ·x 1
    "quick_gelu": 5,
    # one broadcast add (bias, skip, embedding sum)
    "add": 1,
    # Sigmoid 1/(1 + exp(−x)): neg 1, exp 1, +1 1, reciprocal 1
    "sigmoid": 4,
    # LeakyRelu: compare 1, multiply 1
    "leaky_relu": 2,
    # Softmax along an axis: max-reduce 1, sub 1, exp 1, sum-reduce 1, divide 1
    "softmax": 5,
    # LayerNormalization pieces: mean 1 (add); variance 3 (sub, mul, add);
    # normalise 2 (sub mean, mul by rsqrt); scale 1; shift 1  -> 8 with bias, 7 without
    "ln_mean": 1,
    "ln_variance": 3,
    "ln_normalize": 2,
    "ln_scale": 1,
    "ln_shift": 1,
    # RMS (Simplified) LayerNormalization: square + add 2; mul by rsqrt 1; scale 1 -> 4
    "rms_sum_squares": 2,
    "rms_normalize": 1,
    "rms_scale": 1,
    # pooling: per window element (k−1 adds / compares + 1 divide or initial compare)
    "pool_window": 1,
    # one 1-D linear interpolation a + w·(b − a): sub, mul, add.  An r-dimensional
    # (bi)linear upsample costs 2^r − 1 lerps per output element (as ai.onnx Resize)
    "lerp": 3,
}
PE = PER_ELEMENT_FLOPS

#: Per-row scalar work of the norms (divide by N, +eps, rsqrt) is O(rows) and not counted.
LN_FLOPS = PE["ln_mean"] + PE["ln_variance"] + PE["ln_normalize"] + PE["ln_scale"] + PE["ln_shift"]  # 8
LN_NO_BIAS_FLOPS = LN_FLOPS - PE["ln_shift"]  # 7
RMS_FLOPS = PE["rms_sum_squares"] + PE["rms_normalize"] + PE["rms_scale"]  # 4


def layer_norm_flops(n: Any, has_bias: bool) -> Any:
    """LayerNormalization FLOPs over ``n`` elements: 8 per element, 7 without bias."""
    return (LN_FLOPS if has_bias else LN_NO_BIAS_FLOPS) * n


def rms_norm_flops(n: Any) -> Any:
    """Simplified (RMS) LayerNormalization FLOPs over ``n`` elements: 4 per element."""
    return RMS_FLOPS * n


# --------------------------------------------------------------------------- fused matmul, gemm, conv


def fused_matmul_k(shape_a: tuple[Any, ...], trans_a: int, trans_batch_a: int) -> Any:
    """Reduction length of FusedMatMul's A.

    transBatchA moves dim 0 of A to position rank−2 ([1, …, r−2, 0, r−1]); transA then
    swaps the last two dims.  K is the last dim of the result.
    """
    if len(shape_a) == 1:
        return shape_a[0]
    if trans_batch_a and len(shape_a) >= 3:
        rows, cols = shape_a[0], shape_a[-1]
    else:
        rows, cols = shape_a[-2], shape_a[-1]
    return rows if trans_a else cols


@register("FusedMatMul", domain=MS, formula="MACs = numel(Y)·K (K after transA/transBatchA); FLOPs = 2·MACs + numel(Y) if alpha ≠ 1")
def fused_matmul(ctx: NodeContext) -> Cost:
    # inputs: A, B
    k = fused_matmul_k(ctx.in_shape(0), ctx.attr("transA", 0), ctx.attr("transBatchA", 0))
    n = ctx.out_numel()
    macs = n * k
    alpha = n if ctx.attr("alpha", 1.0) != 1.0 else 0
    return ctx.cost(macs, 2 * macs + alpha, weights=(0, 1))


@register("FusedGemm", domain=MS, formula="MACs = M·N·K; FLOPs = 2·MACs + numel(Y)·([alpha≠1] + [C, beta≠0]·(1 + [beta≠1]) + activation)")
def fused_gemm(ctx: NodeContext) -> Cost:
    # inputs: A, B, C?  Y = act(alpha·A'·B' + beta·C); the epilogue is counted as
    # ai.onnx Gemm counts it (alpha scaling, + C unless beta = 0, beta scaling).
    sa = ctx.in_shape(0)
    k = sa[0] if ctx.attr("transA", 0) else sa[-1]
    n = ctx.out_numel()
    macs = n * k
    extra = 0
    if ctx.attr("alpha", 1.0) != 1.0:
        extra = extra + n
    beta = ctx.attr("beta", 1.0)
    if ctx.has_input(2) and beta != 0.0:
        extra = extra + n * (2 if beta != 1.0 else 1)
    act, notes = fused_activation(ctx, n)
    return ctx.cost(macs, 2 * macs + extra + act, weights=(0, 1, 2), notes=notes)


@register("FusedConv", domain=MS, formula="Conv + activation: Conv FLOPs + numel(Y)·activation [+ numel(Z) for the fused Sum]")
def fused_conv(ctx: NodeContext) -> Cost:
    # inputs: X, W, B?, Z? (residual added before activation)
    macs = conv_macs(ctx)
    n = ctx.out_numel()
    bias = n if ctx.has_input(2) else 0
    z = n if ctx.has_input(3) else 0
    act, notes = fused_activation(ctx, n)
    return ctx.cost(macs, 2 * macs + bias + z + act, weights=(1, 2), notes=notes)


# --------------------------------------------------------------------------- Gelu family


@register("Gelu", domain=MS, formula="FLOPs = 5·numel(Y) (erf form: x/√2, erf, +1, ·x, ·0.5)")
def gelu(ctx: NodeContext) -> Cost:
    return ctx.cost(0, PE["gelu"] * ctx.out_numel())


@register("FastGelu", domain=MS, formula="FLOPs = 9·numel(Y) (tanh form) + numel(Y) if bias")
def fast_gelu(ctx: NodeContext) -> Cost:
    # inputs: X, bias?
    n = ctx.out_numel()
    bias = PE["add"] * n if ctx.has_input(1) else 0
    return ctx.cost(0, PE["fast_gelu"] * n + bias, weights=(1,))


@register("BiasGelu", domain=MS, formula="FLOPs = (1 + 5)·numel(Y): bias add + Gelu (erf form)")
def bias_gelu(ctx: NodeContext) -> Cost:
    # inputs: A, B (bias)
    n = ctx.out_numel()
    return ctx.cost(0, (PE["add"] + PE["gelu"]) * n, weights=(1,))


@register("QuickGelu", domain=MS, formula="FLOPs = 5·numel(Y): x·sigmoid(alpha·x)")
def quick_gelu(ctx: NodeContext) -> Cost:
    return ctx.cost(0, PE["quick_gelu"] * ctx.out_numel())


# --------------------------------------------------------------------------- layer norms


@register("LayerNormalization", domain=MS, formula="FLOPs = 8·numel(X) with B, 7·numel(X) without")
def ms_layer_norm(ctx: NodeContext) -> Cost:
    # inputs: X, Scale, B?; outputs: Y, Mean?, InvStdDev?
    return ctx.cost(0, layer_norm_flops(ctx.in_numel(0), ctx.has_input(2)), weights=(1, 2))


@register("SimplifiedLayerNormalization", formula="FLOPs = 4·numel(X) (RMS norm)")
@register("SimplifiedLayerNormalization", domain=MS, formula="FLOPs = 4·numel(X) (RMS norm)")
def simplified_layer_norm(ctx: NodeContext) -> Cost:
    # inputs: X, scale; outputs: Y, inv_std_var?
    # onnxruntime defines this contrib op in the ONNX domain; some exporters use
    # com.microsoft.  Both are registered.
    return ctx.cost(0, rms_norm_flops(ctx.in_numel(0)), weights=(1,))


@register("SkipLayerNormalization", domain=MS, formula="FLOPs = numel(X)·(1 skip + 1 if bias + 8 LN, 7 without beta)")
def skip_layer_norm(ctx: NodeContext) -> Cost:
    # inputs: input, skip, gamma, beta?, bias?
    # outputs: output, mean?, inv_std_var?, input_skip_bias_sum?
    n = ctx.in_numel(0)
    adds = (PE["add"] + (PE["add"] if ctx.has_input(4) else 0)) * n
    return ctx.cost(0, adds + layer_norm_flops(n, ctx.has_input(3)), weights=(2, 3, 4))


@register("SkipSimplifiedLayerNormalization", domain=MS, formula="FLOPs = numel(X)·(1 skip + 1 if bias + 4 RMS)")
def skip_simplified_layer_norm(ctx: NodeContext) -> Cost:
    # inputs: input, skip, gamma, bias?
    n = ctx.in_numel(0)
    adds = (PE["add"] + (PE["add"] if ctx.has_input(3) else 0)) * n
    return ctx.cost(0, adds + rms_norm_flops(n), weights=(2, 3))


@register("EmbedLayerNormalization", domain=MS, formula="FLOPs = numel(Y)·(1 + 1 if segment + 8 LN) + numel(mask); reads the gathered embedding rows")
def embed_layer_norm(ctx: NodeContext) -> Cost:
    # inputs: input_ids, segment_ids?, word_embedding, position_embedding,
    #         segment_embedding?, gamma, beta, mask?, position_ids?
    # outputs: output, mask_index?, embedding_sum?
    # Each token gathers one row of each table (word, position, segment): those rows
    # are read, not the whole tables; the tables are parameters in full.
    n = ctx.out_numel(0)
    has_seg = ctx.has_input(1) and ctx.has_input(4)
    adds = (PE["add"] + (PE["add"] if has_seg else 0)) * n
    mask = ctx.in_numel(7) if ctx.has_input(7) else 0  # mask_index: a sum per sequence
    flops = adds + layer_norm_flops(n, True) + mask
    read = 0
    for i in (0, 1, 5, 6, 7, 8):
        t = ctx.input(i)
        if t is not None:
            read = read + t.nbytes
    for i in (2, 3, 4):
        t = ctx.input(i)
        if t is not None and (i != 4 or has_seg):
            read = read + nbytes(n, t.dtype)
    return ctx.cost(0, flops, weights=(2, 3, 4, 5, 6), bytes_read=read)


# --------------------------------------------------------------------------- bias ops


@register("BiasAdd", domain=MS, formula="FLOPs = 2·numel(Y): X + bias + skip")
def bias_add(ctx: NodeContext) -> Cost:
    # inputs: X, bias, skip
    return ctx.cost(0, 2 * PE["add"] * ctx.out_numel(), weights=(1,))


@register("BiasSoftmax", domain=MS, formula="FLOPs = (1 + 5)·numel(Y): bias add + softmax")
def bias_softmax(ctx: NodeContext) -> Cost:
    # inputs: data, bias (usually an additive mask, a parameter only when constant)
    return ctx.cost(0, (PE["add"] + PE["softmax"]) * ctx.out_numel(), weights=(1,))


# --------------------------------------------------------------------------- shape rules (ops onnx's inference does not know)

from ..registry import shape_rule  # noqa: E402
from ..shape_rules import conv_shape, dtype_of, gemm_mn, known, matmul_shape, out, same_as_first, trans_last  # noqa: E402

shape_rule("Gelu", "FastGelu", "BiasGelu", "QuickGelu", "BiasAdd", "BiasSoftmax", "LayerNormalization",
           "SimplifiedLayerNormalization", domain=MS)(same_as_first)
shape_rule("SimplifiedLayerNormalization")(same_as_first)


@shape_rule("SkipLayerNormalization", "SkipSimplifiedLayerNormalization", domain=MS)
def _skip_layer_norm_shape(ctx: NodeContext):
    """Y, mean and inv_std_var ([..., 1], float32), and the sum input + skip (+ bias)."""
    x = ctx.input(0)
    if not known(x):
        return [None]
    stat = ("float32", (*x.shape[:-1], 1))
    return [out(x.shape, x.dtype), stat, stat, out(x.shape, x.dtype)]


@shape_rule("FusedMatMul", domain=MS)
def _fused_matmul_shape(ctx: NodeContext):
    a, b = ctx.input(0), ctx.input(1)
    if not (known(a) and known(b)):
        return [None]
    return [out(matmul_shape(trans_last(a.shape, ctx.attr("transA")), trans_last(b.shape, ctx.attr("transB"))), a.dtype)]


@shape_rule("FusedGemm", domain=MS)
def _fused_gemm_shape(ctx: NodeContext):
    a, b = ctx.input(0), ctx.input(1)
    if not (known(a) and known(b)) or len(a.shape) != 2 or len(b.shape) != 2:
        return [None]
    return [(a.dtype, gemm_mn(ctx, a.shape, b.shape))]


@shape_rule("EmbedLayerNormalization", domain=MS)
def _embed_layer_norm_shape(ctx: NodeContext):
    """output [B, S, hidden] and mask_index [B] (int32), embedding_sum as output."""
    ids, word = ctx.input(0), ctx.input(2)
    if not (known(ids) and known(word)):
        return [None, None, None]
    b, s = ids.shape[0], ids.shape[1]
    y = (dtype_of(word), (b, s, word.shape[1]))
    return [y, ("int32", (b,)), y]


@shape_rule("FusedConv", domain=MS)
def _fused_conv_shape(ctx: NodeContext):
    x, w = ctx.input(0), ctx.input(1)
    if not (known(x) and known(w)):
        return [None]
    return [(x.dtype, conv_shape(x.shape, w.shape, ctx.attrs))]
