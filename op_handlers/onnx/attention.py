"""ai.onnx Attention and RotaryEmbedding, and the attention arithmetic every attention
op shares (the com.microsoft ones in :mod:`op_handlers.microsoft.attention`, ai.onnx.preview
FlexAttention in :mod:`op_handlers.preview.attention`).

The attention core, for every (batch, query head, query position, key position):

    scores  = B · Nq · Sq · T          (T = total key length = past + new)
    MACs    = scores · (head_size_qk + head_size_v)     (Q·Kᵀ, then P·V)
    FLOPs   = 2·MACs + scores · (scale 1 + softmax 5 [+ 1 per mask source] [+ softcap 3])

Grouped-query attention (Nkv < Nq) costs the same as multi-head attention with Nq
heads: every query head does its own Q·Kᵀ and P·V.  Masks never reduce the count
(causal, padding and sliding-window masks are applied to the full score matrix);
sequence-length inputs (``nonpad_kv_seqlen``, ``seqlens_k``, ``mask_index`` in index
form, ``cumulative_sequence_length``) are not read, the full static lengths are counted.
"""

from __future__ import annotations

from typing import Any

from ..base import Cost, NodeContext, ShapeUnknown, nbytes, prod
from ..registry import register

# --------------------------------------------------------------------------- per-element costs

#: Multiply of every score by ``scale`` (1/sqrt(head_size) by default).
SCALE_FLOPS = 1
#: Softmax per score element: max, sub, exp, sum, div.
SOFTMAX_FLOPS = 5
#: Each mask source (attention mask / bias add, causal or window mask) per score element.
MASK_FLOPS = 1
#: ``softcap · tanh(x / softcap)`` per score element: div, tanh, mul.
SOFTCAP_FLOPS = 3
#: Attention sink / smooth softmax: one extra term in every softmax denominator (per row).
SINK_FLOPS_PER_ROW = 1
#: Rotary embedding per rotated element: ``x1·cos - x2·sin`` (2 mul, 1 add/sub).
ROTARY_FLOPS = 3


# --------------------------------------------------------------------------- helpers


def attention_core(batch, heads, q_seq, kv_seq, head_qk, head_v, *, masks: int = 0,
                   softcap: bool = False, sink: bool = False) -> tuple[Any, Any]:
    """(MACs, FLOPs) of scaled dot-product attention on already projected Q, K, V."""
    scores = batch * heads * q_seq * kv_seq
    macs = scores * (head_qk + head_v)
    per_score = SCALE_FLOPS + SOFTMAX_FLOPS + MASK_FLOPS * masks + (SOFTCAP_FLOPS if softcap else 0)
    flops = 2 * macs + scores * per_score
    if sink:
        flops = flops + SINK_FLOPS_PER_ROW * batch * heads * q_seq
    return macs, flops


def input_shape(ctx: NodeContext, i: int) -> tuple[Any, ...] | None:
    t = ctx.input(i)
    return None if t is None else t.shape


def out_bytes_except(ctx: NodeContext, skip: tuple[int, ...]) -> Any:
    return sum((t.nbytes for j, t in enumerate(ctx.outputs) if t is not None and j not in skip), 0)


def gathered_cache_read(ctx: NodeContext, cache_idx: tuple[int, ...], tokens) -> Any:
    """Bytes read with each rotary cache ([max_pos, rot/2]) counted as the rows gathered
    for ``tokens`` positions instead of the whole table."""
    r, _ = ctx.io_bytes()
    for i in cache_idx:
        t = ctx.input(i)
        if t is not None and t.shape is not None:
            r = r - t.nbytes + nbytes(tokens * t.shape[-1], t.dtype)
    return r


def num_heads(ctx: NodeContext, name: str) -> Any:
    n = ctx.attr(name)
    if not n:
        raise ShapeUnknown(f"{ctx.op_type} needs the {name} attribute to split 3-D inputs into heads")
    return n


# --------------------------------------------------------------------------- ai.onnx


@register(
    "Attention",
    since_version=23,
    formula=(
        "MACs = B·Nq·Sq·(past+Skv)·(Dqk+Dv); FLOPs = 2·MACs + scores·(scale 1 + softmax 5 "
        "[+1 attn_mask] [+1 causal/window] [+3 softcap])"
    ),
)
def onnx_attention(ctx: NodeContext) -> Cost:
    """ai.onnx Attention (23+): Q, K, V [, attn_mask, past_key, past_value, nonpad_kv_seqlen]."""
    qs, ks, vs = ctx.in_shape(0), ctx.in_shape(1), ctx.in_shape(2)
    if len(qs) == 4:  # [B, Nq, Sq, Dqk]
        batch, nq, sq, dqk = qs
    else:  # [B, Sq, Nq·Dqk]
        nq = num_heads(ctx, "q_num_heads")
        batch, sq, dqk = qs[0], qs[1], qs[2] // nq
    skv = ks[2] if len(ks) == 4 else ks[1]  # [B, Nkv, Skv, D] or [B, Skv, Nkv·D]
    if len(vs) == 4:
        dv = vs[3]
    else:
        dv = vs[2] // num_heads(ctx, "kv_num_heads")
    past = input_shape(ctx, 4)
    total = skv + past[2] if past is not None else skv  # past_key [B, Nkv, P, D]

    window = (ctx.attr("left_window_size", -1) >= 0) or (ctx.attr("right_window_size", -1) >= 0)
    masks = int(ctx.has_input(3)) + int(bool(ctx.attr("is_causal", 0)) or window)
    softcap = (ctx.attr("softcap", 0.0) or 0.0) > 0
    macs, flops = attention_core(batch, nq, sq, total, dqk, dv, masks=masks, softcap=softcap)
    notes = []
    if ctx.has_input(6):
        notes.append("nonpad_kv_seqlen ignored: full key length counted")
    return ctx.cost(macs, flops, weights=(), notes=notes)


def rotary(ctx: NodeContext, x: int, cos: int, position_ids: int | None) -> Cost:
    """RotaryEmbedding, both domains: 3 FLOPs per rotated element."""
    xs = ctx.in_shape(x)
    cs = input_shape(ctx, cos)
    rot_attr = ctx.attr("rotary_embedding_dim", 0) or 0
    if len(xs) == 4:  # [B, N, S, H]
        head = xs[3]
        vectors = xs[0] * xs[1] * xs[2]
        tokens = xs[0] * xs[2]
    else:  # [B, S, N·H] (or packed [T, N·H])
        hidden = xs[-1]
        nh = ctx.attr("num_heads", 0) or 0
        if nh:
            head = hidden // nh
        elif cs is not None:
            head = 2 * cs[-1]
            nh = hidden // head
        else:
            raise ShapeUnknown(f"{ctx.op_type}: 3-D input needs num_heads or a cos_cache shape")
        tokens = prod(xs[:-1])
        vectors = tokens * nh
    rot = rot_attr if rot_attr else head
    flops = ROTARY_FLOPS * vectors * rot
    read = None
    if position_ids is not None and ctx.has_input(position_ids) and cs is not None and len(cs) == 2:
        read = gathered_cache_read(ctx, (cos, cos + 1), tokens)
    return ctx.cost(0, flops, weights=(), bytes_read=read)


@register(
    "RotaryEmbedding",
    since_version=23,
    formula="FLOPs = 3 per rotated element (B·S·N·rotary_dim); cos/sin read as the B·S gathered rows",
)
def onnx_rotary_embedding(ctx: NodeContext) -> Cost:
    """ai.onnx RotaryEmbedding: X, cos_cache, sin_cache [, position_ids]."""
    return rotary(ctx, x=0, cos=1, position_ids=3)


__all__ = [
    "SCALE_FLOPS", "SOFTMAX_FLOPS", "MASK_FLOPS", "SOFTCAP_FLOPS", "SINK_FLOPS_PER_ROW", "ROTARY_FLOPS",
    "attention_core", "input_shape", "out_bytes_except", "gathered_cache_read", "num_heads", "rotary",
    "onnx_attention", "onnx_rotary_embedding",
]
