"""com.microsoft attention: Attention, MultiHeadAttention, GroupQueryAttention,
PackedAttention, QAttention, RotaryEmbedding.

The attention core and its per-score costs are ai.onnx's
(:func:`op_handlers.onnx.attention.attention_core`, formula in that module).  Grouped-query
attention (Nkv < Nq) costs the same as multi-head attention with Nq heads; masks never
reduce the count; sequence-length inputs (``seqlens_k``, ``mask_index`` in index form,
``cumulative_sequence_length``) are not read, the full static lengths are counted.
"""

from __future__ import annotations

from typing import Any

from ..base import Cost, NodeContext, nbytes
from ..onnx.attention import (
    ROTARY_FLOPS,
    attention_core,
    gathered_cache_read,
    input_shape,
    num_heads,
    out_bytes_except,
    rotary,
)
from ..registry import register

# --------------------------------------------------------------------------- per-element costs

#: Bias add, per element.
BIAS_FLOPS = 1
#: RMS normalisation (GroupQueryAttention q_norm_weight / k_norm_weight), per element:
#: square, accumulate, multiply by 1/rms, multiply by weight (as RMSNormalization).
RMSNORM_FLOPS = 4
#: QAttention: dequantising one int32 projection output (multiply by x_scale·w_scale).
DEQUANT_FLOPS = 1
#: Integer ops: subtracting a zero point, per element.
ZERO_POINT_FLOPS = 1


@register(
    "RotaryEmbedding",
    domain="com.microsoft",
    since_version=1,
    formula="FLOPs = 3 per rotated element (B·S·N·rotary_dim); cos/sin read as the B·S gathered rows",
)
def ms_rotary_embedding(ctx: NodeContext) -> Cost:
    """com.microsoft RotaryEmbedding: input, position_ids, cos_cache, sin_cache."""
    return rotary(ctx, x=0, cos=2, position_ids=1)


def _packed_qkv_sizes(ctx: NodeContext, ws: tuple[Any, ...], *, allow_attr: bool = True):
    sizes = ctx.attr("qkv_hidden_sizes") if allow_attr else None
    if sizes:
        hq, hk, hv = (int(v) for v in sizes)
    else:
        hq = hk = hv = ws[1] // 3
    return hq, hk, hv


def _projected_attention(ctx: NodeContext, *, quantized: bool) -> Cost:
    """com.microsoft Attention / QAttention: fused QKV projection + self-attention.

    Attention: input, weights, bias?, mask_index?, past?, attention_bias?, past_sequence_length?
    QAttention: input, weight, bias, input_scale, weight_scale, mask_index?,
                input_zero_point?, weight_zero_point?, past?
    """
    batch, seq, in_hidden = ctx.in_shape(0)
    ws = ctx.in_shape(1)
    hq, hk, hv = _packed_qkv_sizes(ctx, ws, allow_attr=not quantized)
    n = num_heads(ctx, "num_heads")
    dqk, dv = hq // n, hv // n

    proj_out = batch * seq * (hq + hk + hv)
    proj_macs = proj_out * in_hidden
    past_idx, mask_idx = (8, 5) if quantized else (4, 3)
    past = input_shape(ctx, past_idx)  # [2, B, N, P, H]
    share = bool(ctx.attr("past_present_share_buffer", 0)) and past is not None
    if past is None:
        total = seq
    elif share:
        total = past[3]  # max_sequence_length buffer: upper bound of past + new
    else:
        total = past[3] + seq
    masks = int(ctx.has_input(mask_idx)) + int(bool(ctx.attr("unidirectional", 0)))
    if not quantized:
        masks += int(ctx.has_input(5))  # attention_bias
    core_macs, core_flops = attention_core(batch, n, seq, total, dqk, dv, masks=masks)

    flops = 2 * proj_macs + core_flops
    if ctx.has_input(2):
        flops = flops + BIAS_FLOPS * proj_out
    if ctx.attr("do_rotary", 0):
        rot = ctx.attr("rotary_embedding_dim", 0) or dqk
        flops = flops + ROTARY_FLOPS * 2 * batch * seq * n * rot  # Q and K
    if quantized:
        flops = flops + DEQUANT_FLOPS * proj_out
        if ctx.has_input(6):
            flops = flops + ZERO_POINT_FLOPS * ctx.in_numel(0)
        if ctx.has_input(7):
            flops = flops + ZERO_POINT_FLOPS * ctx.in_numel(1)

    written = None
    notes = []
    if share:
        pres = ctx.output(1)
        notes.append("past_present_share_buffer: total length = buffer length (upper bound); present writes new rows only")
        if pres is not None:
            written = out_bytes_except(ctx, (1,)) + nbytes(batch * n * seq * (dqk + dv), pres.dtype)
    if quantized:
        weights: tuple[int, ...] = (1, 2, 4, 7)
        w = ctx.input(1)
        cdt = w.dtype if w is not None and w.dtype != "undefined" else None
    else:
        weights = (1, 2)
        cdt = None
    return ctx.cost(proj_macs + core_macs, flops, weights=weights, bytes_written=written,
                    compute_dtype=cdt, notes=notes)


_PROJ_FORMULA = (
    "MACs = B·S·I·(hq+hk+hv) + B·N·S·(past+S)·(hq+hv)/N; FLOPs = 2·MACs + bias B·S·(hq+hk+hv) "
    "+ scores·(scale 1 + softmax 5 [+1 per mask_index / unidirectional / attention_bias]) "
    "[+ rotary 3·2·B·S·N·rot]"
)


@register("Attention", domain="com.microsoft", since_version=1, formula=_PROJ_FORMULA)
def ms_attention(ctx: NodeContext) -> Cost:
    """com.microsoft Attention: packed QKV projection (weights [I, hq+hk+hv]) + attention."""
    return _projected_attention(ctx, quantized=False)


@register(
    "QAttention",
    domain="com.microsoft",
    since_version=1,
    formula=_PROJ_FORMULA + " + dequant 1 per projection output [+1 per input/weight element per zero point]; int8",
)
def q_attention(ctx: NodeContext) -> Cost:
    """com.microsoft QAttention: int8 QKV projection (dequantised) + float attention."""
    return _projected_attention(ctx, quantized=True)


@register(
    "MultiHeadAttention",
    domain="com.microsoft",
    since_version=1,
    formula=(
        "MACs = B·N·S·T·(Dqk+Dv), T = past + Skv; FLOPs = 2·MACs + scores·(scale 1 + softmax 5 "
        "[+1 per key_padding_mask / attention_bias / unidirectional]) [+ bias on Q, K, V]"
    ),
)
def multi_head_attention(ctx: NodeContext) -> Cost:
    """com.microsoft MultiHeadAttention (projections done outside; optional bias added here).

    Inputs: query, key?, value?, bias?, key_padding_mask?, attention_bias?, past_key?,
    past_value?, past_sequence_length?, cache_indirection?
    """
    qs = ctx.in_shape(0)
    n = num_heads(ctx, "num_heads")
    kv_bnsh = False
    if len(qs) == 5:  # packed QKV [B, S, N, 3, H]
        batch, seq, _, _, dqk = qs
        dv, skv = dqk, seq
    else:  # [B, S, N·Dqk]
        batch, seq, dqk = qs[0], qs[1], qs[2] // n
        ks, vs = ctx.in_shape(1), input_shape(ctx, 2)
        if len(ks) == 5:  # packed KV [B, Skv, N, 2, H]
            skv, dv = ks[1], ks[4]
        elif len(ks) == 4:  # [B, N, Skv, H]: already projected (cross-attention cache)
            kv_bnsh = True
            skv = ks[2]
            dv = vs[3] if vs is not None else ks[3]
        else:  # [B, Skv, N·Dqk], value [B, Skv, N·Dv]
            skv = ks[1]
            dv = vs[2] // n if vs is not None else dqk
    past = input_shape(ctx, 6)  # [B, N, P, H]
    share = past is not None and ctx.has_input(8)
    if past is None or kv_bnsh:
        total = skv
    elif share:
        total = past[2]
    else:
        total = past[2] + skv
    masks = int(ctx.has_input(4)) + int(ctx.has_input(5)) + int(bool(ctx.attr("unidirectional", 0)))
    macs, flops = attention_core(batch, n, seq, total, dqk, dv, masks=masks)
    if ctx.has_input(3):
        bias = batch * seq * n * dqk
        if not kv_bnsh:
            bias = bias + batch * skv * n * (dqk + dv)
        flops = flops + BIAS_FLOPS * bias
    written = None
    notes = []
    if share:
        notes.append("past/present share a buffer: total length = buffer length (upper bound); present writes new rows only")
        pk, pv = ctx.output(1), ctx.output(2)
        if pk is not None or pv is not None:
            written = out_bytes_except(ctx, (1, 2))
            if pk is not None:
                written = written + nbytes(batch * n * skv * dqk, pk.dtype)
            if pv is not None:
                written = written + nbytes(batch * n * skv * dv, pv.dtype)
    return ctx.cost(macs, flops, weights=(3,), bytes_written=written, notes=notes)


@register(
    "GroupQueryAttention",
    domain="com.microsoft",
    since_version=1,
    formula=(
        "MACs = B·Nq·S·T·2H, T = past + S (or the shared buffer length); FLOPs = 2·MACs + scores·"
        "(scale 1 + softmax 5 [+1 causal] [+1 attention_bias] [+3 softcap]) [+1 per row sink] "
        "[+ rotary 3·B·S·(Nq+Nkv)·rot] [+ RMS norm 4 per Q/K element]"
    ),
)
def group_query_attention(ctx: NodeContext) -> Cost:
    """com.microsoft GroupQueryAttention.

    Inputs: query, key?, value?, past_key?, past_value?, seqlens_k, total_sequence_length,
    cos_cache?, sin_cache?, position_ids?, attention_bias?, head_sink?, k_scale?, v_scale?,
    q_norm_weight?, k_norm_weight?, query_seqlens?
    """
    qs = ctx.in_shape(0)
    nq = num_heads(ctx, "num_heads")
    nkv = num_heads(ctx, "kv_num_heads")
    batch, seq, d = qs[0], qs[1], qs[2]
    if ctx.has_input(1):
        head = d // nq
        skv = ctx.in_shape(1)[1]
    else:  # packed QKV [B, S, (Nq + 2·Nkv)·H]
        head = d // (nq + 2 * nkv)
        skv = seq
    past = input_shape(ctx, 3)  # [B, Nkv, P, H]
    pres = ctx.output(1)
    share = (
        past is not None and pres is not None and pres.shape is not None
        and len(pres.shape) == 4 and pres.shape[2] == past[2]
    )
    if past is None:
        total = skv
    elif share:
        total = past[2]
    else:
        total = past[2] + skv

    masks = int(bool(ctx.attr("causal", 1))) + int(ctx.has_input(10))
    softcap = (ctx.attr("softcap", 0.0) or 0.0) > 0
    sink = ctx.has_input(11) or ctx.attr("smooth_softmax", -1) == 1
    macs, flops = attention_core(batch, nq, seq, total, head, head, masks=masks, softcap=softcap, sink=sink)

    read = None
    if ctx.attr("do_rotary", 0):
        cs = input_shape(ctx, 7)
        rot = 2 * cs[-1] if cs is not None else head
        flops = flops + ROTARY_FLOPS * rot * (batch * seq * nq + batch * skv * nkv)
        if cs is not None:
            read = gathered_cache_read(ctx, (7, 8), batch * seq)
    if ctx.has_input(14):
        flops = flops + RMSNORM_FLOPS * batch * seq * nq * head
    if ctx.has_input(15):
        flops = flops + RMSNORM_FLOPS * batch * skv * nkv * head

    written = None
    notes = ["seqlens_k / total_sequence_length not read: key length taken from static shapes"]
    if share:
        notes.append("past/present share a buffer: total length = buffer length (upper bound); present writes new rows only")
        written = out_bytes_except(ctx, (1, 2))
        for j in (1, 2):
            t = ctx.output(j)
            if t is not None:
                written = written + nbytes(batch * nkv * skv * head, t.dtype)
    if ctx.has_input(12) or ctx.has_input(13):
        notes.append("quantised KV cache: (de)quantisation FLOPs not counted")
    return ctx.cost(macs, flops, weights=(11, 14, 15), bytes_read=read, bytes_written=written, notes=notes)


@register(
    "PackedAttention",
    domain="com.microsoft",
    since_version=1,
    formula=(
        "MACs = T·I·(hq+hk+hv) + B·N·S·S·(hq+hv)/N (token_offset [B, S], padded); FLOPs = 2·MACs "
        "+ bias T·(hq+hk+hv) + scores·(scale 1 + softmax 5 + padding mask 1 [+1 attention_bias])"
    ),
)
def packed_attention(ctx: NodeContext) -> Cost:
    """com.microsoft PackedAttention: input [T, I] (T real tokens), weights, bias,
    token_offset [B, S], cumulative_sequence_length [B+1], attention_bias?"""
    tokens, in_hidden = ctx.in_shape(0)
    ws = ctx.in_shape(1)
    hq, hk, hv = _packed_qkv_sizes(ctx, ws)
    n = num_heads(ctx, "num_heads")
    batch, seq = ctx.in_shape(3)
    proj_out = tokens * (hq + hk + hv)
    proj_macs = proj_out * in_hidden
    masks = 1 + int(ctx.has_input(5))  # padding mask from cumulative_sequence_length
    core_macs, core_flops = attention_core(batch, n, seq, seq, hq // n, hv // n, masks=masks)
    flops = 2 * proj_macs + core_flops
    if ctx.has_input(2):
        flops = flops + BIAS_FLOPS * proj_out
    return ctx.cost(
        proj_macs + core_macs, flops, weights=(1, 2),
        notes=["attention counted on the padded B·S grid (upper bound of the per-sequence sum of len²)"],
    )


__all__ = [
    "BIAS_FLOPS", "RMSNORM_FLOPS", "DEQUANT_FLOPS", "ZERO_POINT_FLOPS",
    "ms_rotary_embedding", "ms_attention", "q_attention", "multi_head_attention",
    "group_query_attention", "packed_attention",
]


# --------------------------------------------------------------------------- shape rules (ops onnx's inference does not know)

from ..registry import shape_rule  # noqa: E402
from ..shape_rules import known, past_len, same_as_first  # noqa: E402

shape_rule("RotaryEmbedding", domain="com.microsoft")(same_as_first)


@shape_rule("Attention", "QAttention", domain="com.microsoft")
def _ms_attention_shape(ctx: NodeContext):
    """output [B, S, v_hidden]; present [2, B, N, past + S, head] (past: [2, B, N, P, H])."""
    x, w = ctx.input(0), ctx.input(1)
    if not (known(x) and known(w)):
        return [None, None]
    heads = int(ctx.attr("num_heads", 1))
    sizes = ctx.attr("qkv_hidden_sizes")
    v_hidden = int(sizes[2]) if sizes else w.shape[1] // 3
    b, s = x.shape[0], x.shape[1]
    head = (int(sizes[1]) if sizes else w.shape[1] // 3) // heads
    return [(x.dtype, (b, s, v_hidden)), (x.dtype, (2, b, heads, past_len(ctx.input(4), 3) + s, head))]


@shape_rule("MultiHeadAttention", domain="com.microsoft")
def _multi_head_attention_shape(ctx: NodeContext):
    """output [B, S, v_hidden]; present_key / present_value [B, N, past + kv_len, head]."""
    q = ctx.input(0)
    if not known(q) or len(q.shape) != 3:
        return [None, None, None]
    heads = int(ctx.attr("num_heads", 1))
    k, v = ctx.input(1), ctx.input(2)
    b, s, d = q.shape
    if known(v) and len(v.shape) == 3:
        v_hidden = v.shape[2]
    elif known(v) and len(v.shape) == 4:
        v_hidden = v.shape[1] * v.shape[3]
    else:
        v_hidden = d
    head, v_head = d // heads, v_hidden // heads
    if known(k) and len(k.shape) == 3:
        kv_len = k.shape[1]
    elif known(k) and len(k.shape) == 4:
        kv_len = k.shape[2]
    else:
        kv_len = s
    total = past_len(ctx.input(6), 2) + kv_len
    return [(q.dtype, (b, s, v_hidden)), (q.dtype, (b, heads, total, head)), (q.dtype, (b, heads, total, v_head))]


@shape_rule("GroupQueryAttention", domain="com.microsoft")
def _group_query_attention_shape(ctx: NodeContext):
    """output [B, S, Nq·H]; present_key / present_value [B, Nkv, past + S, H] (a shared
    past/present buffer is not detectable from shapes alone)."""
    q = ctx.input(0)
    if not known(q) or len(q.shape) != 3:
        return [None, None, None]
    heads = int(ctx.attr("num_heads", 1))
    kv_heads = int(ctx.attr("kv_num_heads", heads))
    b, s, d = q.shape
    head = d // (heads + 2 * kv_heads) if not known(ctx.input(1)) else d // heads
    total = past_len(ctx.input(3), 2) + s
    present = (q.dtype, (b, kv_heads, total, head))
    return [(q.dtype, (b, s, heads * head)), present, present]
