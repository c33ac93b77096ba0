"""The ai.onnx.preview.training operators met in onnx's node tests: the optimizers
Adagrad, Adam and Momentum (ai.onnx.preview FlexAttention is in :mod:`.attention`).

Counting rules as in op_handlers/onnx/misc.py; formulas in docs/conventions.md.
"""

from __future__ import annotations

from typing import Any

from ..base import Cost, NodeContext
from ..onnx.misc import attr_str, numel_of
from ..registry import register

TRAINING = "ai.onnx.preview.training"

#: FLOPs per optimized element (the scalar learning-rate arithmetic, once per node, is not counted):
#: G_reg = nc·X + G (2); Adagrad: H_new = H + G_reg² (2), sqrt + eps (2), X − r·G_reg / H (3).
ADAGRAD = 9
#: Adam: G_reg 2, V_new = α·V + (1−α)·G_reg 3, H_new = β·H + (1−β)·G_reg² 4, sqrt + eps 2,
#: X − R_adj·V_new / H_sqrt 3 [+ (1 − nc_post)·X_new 1 when norm_coefficient_post ≠ 0].
ADAM = 14
#: Momentum: G_reg 2, V_new = α·V + β·G_reg 3, X − R·V_new 2; Nesterov X − R·(G_reg + α·V_new) 4.
MOMENTUM = 7
NESTEROV = 9


def _optimized_elements(ctx: NodeContext, n_outputs_per_tensor: int) -> Any:
    """Elements of the optimized tensors: outputs hold n_outputs_per_tensor groups of equal size."""
    total = sum((numel_of(t) for t in ctx.present_outputs), 0)
    return total // n_outputs_per_tensor


@register("Adagrad", domain=TRAINING, formula=f"FLOPs = {ADAGRAD} per optimized element")
def adagrad(ctx: NodeContext) -> Cost:
    return ctx.cost(0, ADAGRAD * _optimized_elements(ctx, 2), weights=())


@register("Adam", domain=TRAINING, formula=f"FLOPs = {ADAM} per optimized element (+1 with norm_coefficient_post)")
def adam(ctx: NodeContext) -> Cost:
    per = ADAM + (1 if ctx.attr("norm_coefficient_post", 0.0) else 0)
    return ctx.cost(0, per * _optimized_elements(ctx, 3), weights=())


@register("Momentum", domain=TRAINING, formula=f"FLOPs = {MOMENTUM} per optimized element ({NESTEROV} nesterov)")
def momentum(ctx: NodeContext) -> Cost:
    per = NESTEROV if attr_str(ctx.attr("mode"), "standard") == "nesterov" else MOMENTUM
    return ctx.cost(0, per * _optimized_elements(ctx, 2), weights=())
