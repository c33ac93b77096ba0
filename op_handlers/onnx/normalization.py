"""Normalisation layers: FLOPs per element, no MACs.

Per-element costs (documented in docs/conventions.md):
BatchNormalization (inference) 2 (one multiply and one add with the per-channel
scale and shift, which runtimes precompute); Layer/Instance/Group normalisation 8
(mean 1, variance 3, normalise 2, scale 1, shift 1; 7 without a bias);
RMSNormalization 4 (square, accumulate, multiply by the reciprocal root, scale);
LpNormalization 3; MeanVarianceNormalization 7; LRN 2·size + 3.
"""

from __future__ import annotations

from ..base import Cost, NodeContext
from ..registry import register

BATCHNORM = 2
LAYERNORM_NO_AFFINE = 6  # mean 1 + variance 3 + normalise 2
RMSNORM_NO_SCALE = 3  # square, accumulate, multiply by 1/rms


@register("BatchNormalization", formula="FLOPs = 2·numel(Y) (inference; params = scale, B, mean, var)")
def batch_norm(ctx: NodeContext) -> Cost:
    n = ctx.out_numel()
    # training mode (opset 14+ attribute) adds the batch statistics: mean 1 + variance 3 per element
    extra = 4 * n if ctx.attr("training_mode", 0) else 0
    return ctx.cost(0, BATCHNORM * n + extra, weights=(1, 2, 3, 4))


def _affine_norm(ctx: NodeContext, scale: int, bias: int) -> Cost:
    n = ctx.out_numel()
    per = LAYERNORM_NO_AFFINE + (1 if ctx.has_input(scale) else 0) + (1 if ctx.has_input(bias) else 0)
    return ctx.cost(0, per * n, weights=(scale, bias), bytes_written=ctx.output(0).nbytes)


@register("LayerNormalization", since_version=17, formula="FLOPs = 8·numel(Y) (7 without bias)")
def layer_norm(ctx: NodeContext) -> Cost:
    # optional Mean / InvStdDev outputs are tiny; only Y is counted as written
    return _affine_norm(ctx, 1, 2)


@register("InstanceNormalization", formula="FLOPs = 8·numel(Y)")
def instance_norm(ctx: NodeContext) -> Cost:
    return _affine_norm(ctx, 1, 2)


@register("GroupNormalization", since_version=18, formula="FLOPs = 8·numel(Y)")
def group_norm(ctx: NodeContext) -> Cost:
    return _affine_norm(ctx, 1, 2)


@register("RMSNormalization", since_version=23, formula="FLOPs = 4·numel(Y) (3 without scale)")
def rms_norm(ctx: NodeContext) -> Cost:
    per = RMSNORM_NO_SCALE + (1 if ctx.has_input(1) else 0)
    return ctx.cost(0, per * ctx.out_numel(), weights=(1,))


@register("LpNormalization", formula="FLOPs = 3·numel(Y) (|x| or x², accumulate, divide)")
def lp_norm(ctx: NodeContext) -> Cost:
    return ctx.cost(0, 3 * ctx.out_numel(), weights=None)


@register("MeanVarianceNormalization", formula="FLOPs = 7·numel(Y)")
def mvn(ctx: NodeContext) -> Cost:
    return ctx.cost(0, 7 * ctx.out_numel(), weights=None)


@register("LRN", formula="FLOPs = (2·size + 3)·numel(Y)")
def lrn(ctx: NodeContext) -> Cost:
    size = ctx.attr("size", 1)
    return ctx.cost(0, (2 * size + 3) * ctx.out_numel(), weights=None)


# --------------------------------------------------------------------------- shape rules
# onnx defines these by function bodies; when its inference of the body leaves the
# output open, Y has X's type.

from ..registry import shape_rule  # noqa: E402
from ..shape_rules import same_as_first  # noqa: E402

shape_rule("LayerNormalization", "GroupNormalization", "RMSNormalization", "MeanVarianceNormalization")(same_as_first)
