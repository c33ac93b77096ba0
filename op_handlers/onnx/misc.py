"""Every remaining ai.onnx operator: losses, random generators, strings, recent ops
(SwiGLU, CausalConvWithState, LinearAttention), CumProd, Det, ImageDecoder; and the small
helpers several families share (:func:`attr_str`, :func:`as_int`, :func:`numel_of`,
...).  Signal processing is in :mod:`.signal`, sampling and detection in :mod:`.spatial`,
the control-flow ops in :mod:`.control_flow`; the ai.onnx.ml ops in :mod:`op_handlers.ml`,
the ai.onnx.preview ones in :mod:`op_handlers.preview`.

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
from .reduction import SOFTMAX

# --------------------------------------------------------------------------- constants

#: SwiGLU per element: Swish(A) (5) then · B (1).
SWIGLU = SWISH + 1
#: SiLU / Swish activation fused into CausalConvWithState: x·sigmoid(x).
SILU = SWISH
#: Random generators per output element.
RANDOM_UNIFORM = 3  # draw, · (high − low), + low
RANDOM_NORMAL = 10  # Box–Muller: 2 draws, ln, ·−2, sqrt, ·2π, cos, mul (8); · scale, + mean (2)
BERNOULLI = 2  # draw, compare with p


def attr_str(v: Any, default: str = "") -> str:
    if v is None:
        return default
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return str(v)


def as_int(x: Any) -> int | None:
    """``x`` as a Python int when it is a concrete integer (int, numpy or sympy Integer)."""
    if isinstance(x, bool):
        return None
    try:
        return operator.index(x)
    except TypeError:
        return None


def numel_of(t) -> Any:
    if t is None or t.shape is None:
        raise ShapeUnknown(f"tensor {getattr(t, 'name', '?')} has no known shape")
    return prod(t.shape)


def known_bytes(t) -> Any:
    return 0 if t is None or t.shape is None else t.nbytes


def written_bytes(ctx: NodeContext) -> Any:
    return sum((known_bytes(t) for t in ctx.outputs), 0)


def out_dtype(ctx: NodeContext) -> str:
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


# --------------------------------------------------------------------------- random generators


def _generator(per: int, reads_input: bool):
    def handler(ctx: NodeContext) -> Cost:
        read = ctx.input(0).nbytes if reads_input and ctx.has_input(0) else 0
        return ctx.cost(0, per * ctx.out_numel(), weights=(), bytes_read=read, bytes_written=written_bytes(ctx),
                        compute_dtype=out_dtype(ctx))

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
            k = as_int(cand)
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
