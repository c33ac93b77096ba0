"""com.microsoft DynamicQuantizeLSTM: an ai.onnx LSTM (counted by
:func:`op_handlers.onnx.recurrent.recurrent_counts`) with int8 W and R and its
activations quantised on the fly.
"""

from __future__ import annotations

from dataclasses import replace

from ..base import Cost, NodeContext, WeightUse
from ..onnx.recurrent import recurrent_counts
from ..registry import register

MS = "com.microsoft"

#: DynamicQuantizeLSTM: quantising one activation element (X, and Ht-1 every step):
#: min, max (range scan), multiply by 1/scale, add zero point.
DYNAMIC_QUANT_FLOPS = 4
#: DynamicQuantizeLSTM: dequantising one int32 GEMM output element (multiply by
#: x_scale·w_scale); the X·W and H·R products are dequantised separately.
DEQUANT_FLOPS = 1


@register(
    "DynamicQuantizeLSTM",
    domain=MS,
    since_version=1,
    formula=(
        "as LSTM (W [D, I, 4H], R [D, H, 4H] int8) + dynamic quantisation 4 per element of X "
        "and of Ht-1 per step, + dequantisation 1 per element of both GEMM outputs (2·D·S·B·4H)"
    ),
)
def dynamic_quantize_lstm(ctx: NodeContext) -> Cost:
    """DynamicQuantizeLSTM: LSTM with int8 W/R and activations quantised on the fly."""
    # inputs: X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?,
    #         W_scale, W_zero_point, R_scale, R_zero_point
    r = recurrent_counts(ctx, "LSTM", transposed_w=True)
    d, s, b, h, i = r["ndirs"], r["seq"], r["batch"], r["hidden"], r["input_size"]
    quant = DYNAMIC_QUANT_FLOPS * (s * b * i + d * s * b * h)
    dequant = DEQUANT_FLOPS * 2 * d * s * b * 4 * h
    w = ctx.input(1)
    cost = ctx.cost(
        r["macs"],
        2 * r["macs"] + r["elementwise"] + quant + dequant,
        weights=(1, 2, 3, 7),
        compute_dtype=w.dtype if w is not None and w.dtype != "undefined" else "int8",
        notes=r["notes"],
    )
    # W/R scales and zero points: weight bytes, not parameters (as every quantized op)
    meta = tuple(WeightUse(t.name, t.dtype, 0, t.nbytes) for t in (ctx.input(i) for i in (8, 9, 10, 11))
                 if t is not None and t.is_weight and t.shape is not None)
    return replace(cost, weights=cost.weights + meta)


__all__ = ["DYNAMIC_QUANT_FLOPS", "DEQUANT_FLOPS", "dynamic_quantize_lstm"]


# --------------------------------------------------------------------------- shape rules (ops onnx's inference does not know)

from ..registry import shape_rule  # noqa: E402
from ..shape_rules import known  # noqa: E402


@shape_rule("DynamicQuantizeLSTM", domain=MS)
def _dynamic_quantize_lstm_shape(ctx):
    """Y [S, D, B, H], Y_h and Y_c [D, B, H]."""
    x, w, hidden = ctx.input(0), ctx.input(1), ctx.attr("hidden_size")
    if not (known(x) and known(w)) or not hidden:
        return [None, None, None]
    d, s, b, h = w.shape[0], x.shape[0], x.shape[1], int(hidden)
    return [(x.dtype, (s, d, b, h)), (x.dtype, (d, b, h)), (x.dtype, (d, b, h))]
