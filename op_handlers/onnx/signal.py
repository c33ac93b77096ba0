"""ai.onnx signal processing: DFT, STFT, the Hann / Hamming / Blackman windows,
MelWeightMatrix.  Counting rules as in :mod:`.misc`; formulas in docs/conventions.md.
"""

from __future__ import annotations

from typing import Any

from ..base import Cost, NodeContext, ShapeUnknown, prod
from ..registry import register
from .misc import as_int, out_dtype

# --------------------------------------------------------------------------- constants

#: Radix-2 FFT of a complex length-N vector: 5·N·log2(N) real FLOPs (N/2·log2 N
#: butterflies of one complex multiply (6) and two complex adds (2·2)).
FFT_PER_NLOGN = 5
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


def _is_pow2(n: Any) -> bool:
    k = as_int(n)
    return k is not None and k > 0 and (k & (k - 1)) == 0


def fft_flops(n: Any) -> Any:
    """FLOPs of one complex transform of length ``n``.

    Power of two: 5·n·log2(n) (radix-2 Cooley–Tukey).  Otherwise a naive DFT:
    n² complex multiplies (6 FLOPs) + n·(n − 1) complex adds (2 FLOPs) = 8n² − 2n.
    """
    if _is_pow2(n):
        return FFT_PER_NLOGN * n * (as_int(n).bit_length() - 1)
    return 8 * n * n - 2 * n


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
    if as_int(n) is None:
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
        return ctx.cost(0, per * ctx.out_numel(), weights=(), compute_dtype=out_dtype(ctx))

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
    return ctx.cost(0, MEL_PER_ELEMENT * prod(ys) + MEL_PER_EDGE * (ys[1] + 2), weights=(), compute_dtype=out_dtype(ctx))
