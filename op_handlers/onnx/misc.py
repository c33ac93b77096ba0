"""Every remaining ai.onnx operator: signal processing, sampling, detection, losses,
random generators, windows, strings, recent ops (SwiGLU, CausalConvWithState,
LinearAttention).  The control-flow ops are in :mod:`.control_flow`; the ai.onnx.ml
ops in :mod:`op_handlers.ml`, the ai.onnx.preview ones in :mod:`op_handlers.preview`.

Formulas and their reasoning are in docs/conventions.md.  Counting rules
shared with the other families: one add, multiply, compare, divide or primitive
function (exp, log, sqrt, cos, ...) is 1 FLOP; a multiply-accumulate of dense
linear algebra is 1 MAC and 2 FLOPs; a random draw is 1 FLOP; an N-dimensional
(multi)linear interpolation is 2^N − 1 one-dimensional lerps of 3 FLOPs, a cubic
one (4^N − 1)/3 one-dimensional cubic interpolations of 7 FLOPs (as Resize).
Data-dependent work is counted at its worst case and says so in a note.
"""

from __future__ import annotations

import operator
from typing import Any

from ..base import Cost, NodeContext, ShapeUnknown, nbytes, prod
from ..registry import register
from .elementwise import SWISH
from .pooling import CUBIC, LERP
from .reduction import SOFTMAX

# --------------------------------------------------------------------------- constants

#: SwiGLU per element: Swish(A) (5) then · B (1).
SWIGLU = SWISH + 1
#: SiLU / Swish activation fused into CausalConvWithState: x·sigmoid(x).
SILU = SWISH
#: Radix-2 FFT of a complex length-N vector: 5·N·log2(N) real FLOPs (N/2·log2 N
#: butterflies of one complex multiply (6) and two complex adds (2·2)).
FFT_PER_NLOGN = 5
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
#: Random generators per output element.
RANDOM_UNIFORM = 3  # draw, · (high − low), + low
RANDOM_NORMAL = 10  # Box–Muller: 2 draws, ln, ·−2, sqrt, ·2π, cos, mul (8); · scale, + mean (2)
BERNOULLI = 2  # draw, compare with p
#: Windows per output element: n·2π/N (1), cos (1), ·a1 (1), a0 − (1) = 4; Blackman adds
#: the second cosine term: n·4π/N, cos, ·a2, + = 4 more.
HANN = 4
HAMMING = 4
BLACKMAN = 8
#: MelWeightMatrix: per output element 2 compares (which side of the triangle) + sub + div;
#: per band edge (num_mel_bins + 2): mel linspace 2 (mul, add) + mel→Hz 4 (div, pow, sub,
#: mul) + Hz→bin 2 (mul, floor).
MEL_PER_ELEMENT = 4
MEL_PER_EDGE = 8


def attr_str(v: Any, default: str = "") -> str:
    if v is None:
        return default
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return str(v)


def _as_int(x: Any) -> int | None:
    """``x`` as a Python int when it is a concrete integer (int, numpy or sympy Integer)."""
    if isinstance(x, bool):
        return None
    try:
        return operator.index(x)
    except TypeError:
        return None


def _is_pow2(n: Any) -> bool:
    k = _as_int(n)
    return k is not None and k > 0 and (k & (k - 1)) == 0


def fft_flops(n: Any) -> Any:
    """FLOPs of one complex transform of length ``n``.

    Power of two: 5·n·log2(n) (radix-2 Cooley–Tukey).  Otherwise a naive DFT:
    n² complex multiplies (6 FLOPs) + n·(n − 1) complex adds (2 FLOPs) = 8n² − 2n.
    """
    if _is_pow2(n):
        return FFT_PER_NLOGN * n * (_as_int(n).bit_length() - 1)
    return 8 * n * n - 2 * n


def numel_of(t) -> Any:
    if t is None or t.shape is None:
        raise ShapeUnknown(f"tensor {getattr(t, 'name', '?')} has no known shape")
    return prod(t.shape)


def known_bytes(t) -> Any:
    return 0 if t is None or t.shape is None else t.nbytes


def written_bytes(ctx: NodeContext) -> Any:
    return sum((known_bytes(t) for t in ctx.outputs), 0)


def _out_dtype(ctx: NodeContext) -> str:
    """Generators compute in the dtype they produce, not in their (shape / size) input's."""
    t = ctx.output(0)
    return t.dtype if t is not None and t.dtype != "undefined" else ctx.default_compute_dtype()


# --------------------------------------------------------------------------- recent ops


@register("SwiGLU", since_version=28, formula=f"FLOPs = {SWIGLU}·numel(Y) (Swish(A) 5, ·B 1)")
def swiglu(ctx: NodeContext) -> Cost:
    """Y = Swish_alpha(A) · B, elementwise (the projections are separate MatMul nodes)."""
    return ctx.cost(0, SWIGLU * ctx.out_numel(), weights=None)


@register(
    "CausalConvWithState",
    since_version=27,
    formula=f"MACs = numel(Y)·k; FLOPs = 2·MACs [+ numel(Y) bias] [+ {SILU}·numel(Y) silu/swish]",
)
def causal_conv_with_state(ctx: NodeContext) -> Cost:
    """Depthwise causal 1-D conv: input (B, C, L), weight (C, 1, k), bias?, past_state?."""
    k = ctx.in_shape(1)[-1]
    n = ctx.out_numel(0)
    macs = n * k
    flops = 2 * macs
    if ctx.has_input(2):
        flops += n
    if attr_str(ctx.attr("activation"), "none").lower() in ("silu", "swish"):
        flops += SILU * n
    return ctx.cost(macs, flops, weights=(1, 2))


@register(
    "LinearAttention",
    since_version=27,
    formula=(
        "per token: MACs = Hkv·dk·dv (write k⊗v) [+ Hkv·dk·dv delta read Sᵀk] + Hq·dk·dv (qᵀS); "
        "FLOPs = 2·MACs + Hq·dv scale [+ Hkv·dk·dv decay + exp per decay element] [+ 2·Hkv·dv delta]"
    ),
)
def linear_attention(ctx: NodeContext) -> Cost:
    """query [B, T, Hq·dk], key [B, T, Hkv·dk], value [B, T, Hkv·dv], past_state?, decay?, beta?."""
    qs, vs = ctx.in_shape(0), ctx.in_shape(2)
    hq, hkv = ctx.attr("q_num_heads"), ctx.attr("kv_num_heads")
    if not hq or not hkv:
        raise ShapeUnknown("LinearAttention needs q_num_heads and kv_num_heads")
    b, t = qs[0], qs[1]
    dk = qs[2] // hq
    dv = vs[2] // hkv
    rule = attr_str(ctx.attr("update_rule"), "gated_delta")
    gated = rule in ("gated", "gated_delta")
    delta = rule in ("delta", "gated_delta")
    state = hkv * dk * dv
    macs_tok = state + hq * dk * dv + (state if delta else 0)
    flops_tok = 2 * macs_tok + hq * dv
    if gated:
        flops_tok += state  # S ·= exp(g)
    if delta:
        flops_tok += 2 * hkv * dv  # v − Sᵀk, · beta
    tokens = b * t
    flops = tokens * flops_tok
    if gated and ctx.has_input(4):
        flops += numel_of(ctx.input(4))  # exp of every decay value
    return ctx.cost(tokens * macs_tok, flops, weights=())


# --------------------------------------------------------------------------- math


@register("CumProd", since_version=26, formula="FLOPs = numel(X) (one multiply per element)")
def cumprod(ctx: NodeContext) -> Cost:
    return ctx.cost(0, ctx.in_numel(0), weights=(), bytes_read=ctx.input(0).nbytes)


@register(
    "Det",
    since_version=11,
    formula="LU per M×M matrix: MACs = (M−1)M(2M−1)/6; FLOPs = 2·MACs + M(M−1)/2 divides + (M−1) diagonal product",
)
def det(ctx: NodeContext) -> Cost:
    xs = ctx.in_shape(0)
    m = xs[-1]
    batch = prod(xs[:-2])
    macs = batch * ((m - 1) * m * (2 * m - 1) // 6)
    flops = 2 * macs + batch * (m * (m - 1) // 2 + (m - 1))
    return ctx.cost(macs, flops, weights=None)


# --------------------------------------------------------------------------- spatial


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


# --------------------------------------------------------------------------- signal processing


def _dft_axis_and_length(ctx: NodeContext, xs: tuple, ys: tuple) -> tuple[int, Any, list[str]]:
    notes: list[str] = []
    rank = len(xs)
    diff = [i for i in range(rank - 1) if xs[i] != ys[i]]
    if len(diff) == 1:
        axis = diff[0]
    else:
        if ctx.opset >= 20:
            axis = -2
            if ctx.has_input(2):
                notes.append("axis input value not visible: the dim changed by the transform, else -2, is used")
        else:
            axis = ctx.attr("axis", 1)
        axis = axis % rank
        if axis == rank - 1:
            raise ShapeUnknown("DFT axis cannot be the last (real/imaginary) dimension")
    n_in, n_out = xs[axis], ys[axis]
    onesided = bool(ctx.attr("onesided", 0))
    if onesided and not ctx.attr("inverse", 0):
        if n_in // 2 + 1 == n_out:
            n = n_in
        else:
            n = 2 * (n_out - 1)
            notes.append(f"one-sided output of {n_out} bins: transform length taken as {n}")
    else:
        n = n_out
    return axis, n, notes


@register(
    "DFT",
    since_version=17,
    formula=(
        "per transform of length N: 5·N·log2 N (N power of two) else 8N²−2N (naive DFT); "
        "× prod(other dims); inverse + 2N scaling"
    ),
)
def dft(ctx: NodeContext) -> Cost:
    """input [..., N, 1|2] -> output [..., N', 2]; axis from the attribute (17) or input (20+)."""
    xs, ys = ctx.in_shape(0), ctx.out_shape(0)
    axis, n, notes = _dft_axis_and_length(ctx, xs, ys)
    batch = prod(d for i, d in enumerate(xs[:-1]) if i != axis)
    per = fft_flops(n)
    if ctx.attr("inverse", 0):
        per += 2 * n
    if _as_int(n) is None:
        notes.append("symbolic length: counted as a naive DFT")
    if xs[-1] == 1:
        notes.append("real input counted as a full complex transform")
    return ctx.cost(0, batch * per, weights=(), bytes_read=ctx.input(0).nbytes, notes=notes)


@register(
    "STFT",
    since_version=17,
    formula="B·frames·(FFT(N) [+ N·c window multiply]); FFT as DFT; N = window length, else frame_length, else signal length",
)
def stft(ctx: NodeContext) -> Cost:
    """signal [B, L, 1|2], frame_step, window?, frame_length? -> [B, frames, bins, 2]."""
    xs, ys = ctx.in_shape(0), ctx.out_shape(0)
    notes: list[str] = []
    onesided = bool(ctx.attr("onesided", 1))
    bins = ys[2]
    if ctx.has_input(2) and ctx.input(2).shape is not None:
        n = ctx.input(2).shape[0]
    elif not ctx.has_input(3):
        n = xs[1]
    elif not onesided:
        n = bins
    else:
        n = 2 * (bins - 1)
        notes.append(f"frame_length value not visible: taken as {n} from the {bins} one-sided bins")
    per = fft_flops(n)
    if ctx.has_input(2):
        per += n * xs[-1]  # window multiply, real or complex samples
    if xs[-1] == 1:
        notes.append("real input counted as a full complex transform")
    frames = ys[1]
    return ctx.cost(0, xs[0] * frames * per, weights=(2,), notes=notes)


def _window(per: int):
    def handler(ctx: NodeContext) -> Cost:
        return ctx.cost(0, per * ctx.out_numel(), weights=(), compute_dtype=_out_dtype(ctx))

    return handler


register("HannWindow", since_version=17, formula=f"FLOPs = {HANN}·N")(_window(HANN))
register("HammingWindow", since_version=17, formula=f"FLOPs = {HAMMING}·N")(_window(HAMMING))
register("BlackmanWindow", since_version=17, formula=f"FLOPs = {BLACKMAN}·N")(_window(BLACKMAN))


@register(
    "MelWeightMatrix",
    since_version=17,
    formula=f"FLOPs = {MEL_PER_ELEMENT}·numel(Y) + {MEL_PER_EDGE}·(num_mel_bins + 2)",
)
def mel_weight_matrix(ctx: NodeContext) -> Cost:
    """-> [floor(dft_length/2) + 1, num_mel_bins]."""
    ys = ctx.out_shape()
    return ctx.cost(0, MEL_PER_ELEMENT * prod(ys) + MEL_PER_EDGE * (ys[1] + 2), weights=(), compute_dtype=_out_dtype(ctx))


# --------------------------------------------------------------------------- random generators


def _generator(per: int, reads_input: bool):
    def handler(ctx: NodeContext) -> Cost:
        read = ctx.input(0).nbytes if reads_input and ctx.has_input(0) else 0
        return ctx.cost(0, per * ctx.out_numel(), weights=(), bytes_read=read, bytes_written=written_bytes(ctx),
                        compute_dtype=_out_dtype(ctx))

    return handler


register("RandomUniform", formula=f"FLOPs = {RANDOM_UNIFORM}·numel(Y)")(_generator(RANDOM_UNIFORM, False))
register("RandomUniformLike", formula=f"FLOPs = {RANDOM_UNIFORM}·numel(Y) (input: shape only)")(_generator(RANDOM_UNIFORM, False))
register("RandomNormal", formula=f"FLOPs = {RANDOM_NORMAL}·numel(Y) (Box–Muller)")(_generator(RANDOM_NORMAL, False))
register("RandomNormalLike", formula=f"FLOPs = {RANDOM_NORMAL}·numel(Y) (input: shape only)")(_generator(RANDOM_NORMAL, False))
register("Bernoulli", since_version=15, formula=f"FLOPs = {BERNOULLI}·numel(Y)")(_generator(BERNOULLI, True))


@register(
    "Multinomial",
    since_version=7,
    formula="FLOPs = batch·(2·C (exp, running sum) + sample_size·(2 + C) (draw, scale, linear CDF scan))",
)
def multinomial(ctx: NodeContext) -> Cost:
    """input [batch, C] unnormalised log-probabilities -> [batch, sample_size]."""
    batch, c = ctx.in_shape(0)
    s = ctx.attr("sample_size", 1)
    return ctx.cost(0, batch * (2 * c + s * (2 + c)), weights=(),
                    notes=("CDF scan counted over all classes (worst case)",))


# --------------------------------------------------------------------------- losses


def nll_flops(samples: Any, weighted: bool, reduction: str, ignore: bool) -> Any:
    """Negative log-likelihood over ``samples`` picked log-probabilities.

    Per sample: negate 1 [+ weight multiply 1] [+ ignore_index compare 1];
    reduction sum: + 1 per sample; mean: + 1 per sample [+ 1 per sample summing the
    weights] + 1 division.
    """
    per = 1 + (1 if weighted else 0) + (1 if ignore else 0)
    flops = samples * per
    if reduction == "sum":
        flops += samples
    elif reduction == "mean":
        flops += samples + (samples if weighted else 0) + 1
    return flops


@register(
    "NegativeLogLikelihoodLoss",
    since_version=12,
    formula="FLOPs = n·(1 [+1 weight] [+1 ignore_index]) + sum: n; mean: n [+ n weights] + 1 (n = numel(target))",
)
def nll_loss(ctx: NodeContext) -> Cost:
    """input (N, C, d...), target (N, d...), weight (C)?; reads only the picked log-probabilities."""
    n = ctx.in_numel(1)
    flops = nll_flops(n, ctx.has_input(2), attr_str(ctx.attr("reduction"), "mean"), ctx.attr("ignore_index") is not None)
    read = nbytes(n, ctx.input(0).dtype) + ctx.input(1).nbytes + known_bytes(ctx.input(2))
    return ctx.cost(0, flops, weights=(2,), bytes_read=read)


@register(
    "SoftmaxCrossEntropyLoss",
    since_version=12,
    formula=f"FLOPs = {SOFTMAX}·numel(scores) (log-softmax) + NegativeLogLikelihoodLoss over numel(labels)",
)
def softmax_cross_entropy(ctx: NodeContext) -> Cost:
    """scores (N, C, d...), labels (N, d...), weights (C)? -> loss [, log_prob]."""
    n = ctx.in_numel(1)
    flops = SOFTMAX * ctx.in_numel(0) + nll_flops(
        n, ctx.has_input(2), attr_str(ctx.attr("reduction"), "mean"), ctx.attr("ignore_index") is not None
    )
    return ctx.cost(0, flops, weights=(2,))


# --------------------------------------------------------------------------- text and images


STRING_NOTE = "string tensors: byte sizes unknown, not counted"


def _string_op(ctx: NodeContext) -> Cost:
    """0 FLOPs; bytes of non-string tensors only (string sizes are not known statically)."""
    r, w = ctx.io_bytes()
    return ctx.cost(0, 0, weights=(), bytes_read=r, bytes_written=w, compute_dtype="string", notes=(STRING_NOTE,))


register("StringNormalizer", since_version=10, formula="0 FLOPs; string bytes unknown")(_string_op)
register("StringConcat", since_version=20, formula="0 FLOPs; string bytes unknown")(_string_op)
register("StringSplit", since_version=20, formula="0 FLOPs; string bytes unknown")(_string_op)
register("RegexFullMatch", since_version=20, formula="0 FLOPs; string bytes unknown")(_string_op)


def tfidf_lookups(c: Any, min_n: int, max_n: int, max_skip: int) -> Any:
    """n-gram candidates of one row of length ``c``: 1-grams once, n ≥ 2 once per skip distance."""
    total: Any = 0
    for n in range(max(min_n, 1), max_n + 1):
        distances = [1] if n == 1 else range(1, max_skip + 2)
        for d in distances:
            cand = c - (n - 1) * d
            k = _as_int(cand)
            if k is not None and k < 0:
                cand = 0
            total += cand
    return total


@register(
    "TfIdfVectorizer",
    since_version=9,
    formula="FLOPs = rows·Σ n-gram candidates (1 lookup each) [+ numel(Y) IDF/TFIDF weighting]",
)
def tfidf_vectorizer(ctx: NodeContext) -> Cost:
    """X [C] or [N, C] -> Y [max(ngram_indexes)+1] or [N, ...]."""
    xs = ctx.in_shape(0)
    rows, c = (1, xs[0]) if len(xs) == 1 else (xs[0], xs[1])
    lookups = tfidf_lookups(c, ctx.attr("min_gram_length", 1), ctx.attr("max_gram_length", 1), ctx.attr("max_skip_count", 0))
    flops = rows * lookups
    if attr_str(ctx.attr("mode"), "TF").upper() in ("IDF", "TFIDF"):
        flops += ctx.out_numel()
    notes = (STRING_NOTE,) if ctx.input(0).dtype == "string" else ()
    return ctx.cost(0, flops, weights=(), notes=notes)


@register("ImageDecoder", since_version=20, formula="0 FLOPs (decode work not modelled); bytes = stream + image when known")
def image_decoder(ctx: NodeContext) -> Cost:
    return ctx.cost(0, 0, weights=(), bytes_written=written_bytes(ctx), compute_dtype="uint8",
                    notes=("decoding work not counted; image size known only at run time",))
