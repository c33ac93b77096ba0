"""The ai.onnx.preview FlexAttention operator, counted as ai.onnx attention
(:func:`op_handlers.onnx.attention.attention_core`); formula in docs/conventions.md.
"""

from __future__ import annotations

from ..base import Cost, NodeContext
from ..onnx.attention import attention_core
from ..registry import register

PREVIEW = "ai.onnx.preview"


@register(
    "FlexAttention",
    domain=PREVIEW,
    formula="as Attention: MACs = B·Hq·L·S·(Dqk+Dv); FLOPs = 2·MACs + B·Hq·L·S·(scale 1 + softmax 5); "
            "score_mod / prob_mod nodes counted on (B, Hq, L, S) below the node",
)
def flex_attention(ctx: NodeContext) -> Cost:
    """Q (B, Hq, L, Dqk), K (B, Hkv, S, Dqk), V (B, Hkv, S, Dv) -> Y (B, Hq, L, Dv)."""
    qs, ks, vs = ctx.in_shape(0), ctx.in_shape(1), ctx.in_shape(2)
    macs, flops = attention_core(qs[0], qs[1], qs[2], ks[2], qs[3], vs[3])
    return ctx.cost(macs, flops, weights=())
