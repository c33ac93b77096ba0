"""Reductions, softmax and sorting: FLOPs only.

Reduce{Sum,Max,Min,Prod}: numel(X) (one accumulate per input element);
ReduceMean: numel(X) + numel(Y); ReduceSumSquare, ReduceL1: 2·numel(X);
ReduceL2: 2·numel(X) + numel(Y); ReduceLogSum: numel(X) + numel(Y);
ReduceLogSumExp: 2·numel(X) + numel(Y); ArgMax/ArgMin: numel(X);
Softmax: 5·numel(Y) (max, subtract, exp, sum, divide); LogSoftmax: 5·numel(Y)
(max, subtract, exp, sum, subtract log); Hardmax: numel(X);
CumSum: numel(X); TopK: numel(X) (a selection pass; the sort of k is not counted).
"""

from __future__ import annotations

from ..base import Cost, NodeContext
from ..registry import register

SOFTMAX = 5

#: op -> (FLOPs per input element, FLOPs per output element)
REDUCE = {
    "ReduceSum": (1, 0),
    "ReduceMax": (1, 0),
    "ReduceMin": (1, 0),
    "ReduceProd": (1, 0),
    "ReduceMean": (1, 1),
    "ReduceSumSquare": (2, 0),
    "ReduceL1": (2, 0),
    "ReduceL2": (2, 1),
    "ReduceLogSum": (1, 1),
    "ReduceLogSumExp": (2, 1),
    "ArgMax": (1, 0),
    "ArgMin": (1, 0),
}


@register(*REDUCE, formula="FLOPs = a·numel(X) + b·numel(Y), (a, b) per op in docs/conventions.md")
def reduce(ctx: NodeContext) -> Cost:
    a, b = REDUCE[ctx.op_type]
    # axes (an input from opset 13/18) are control values, read only the data
    # ReduceSum/Max/Min/Prod and ArgMax/ArgMin need only numel(X): runtime axes do not matter
    out = ctx.out_numel() if b else 0
    return ctx.cost(0, a * ctx.in_numel(0) + b * out, weights=(), bytes_read=ctx.inputs[0].nbytes)


@register("Softmax", "LogSoftmax", formula="FLOPs = 5·numel(Y)")
def softmax(ctx: NodeContext) -> Cost:
    return ctx.cost(0, SOFTMAX * ctx.out_numel())


@register("Hardmax", "CumSum", formula="FLOPs = numel(X)")
def one_pass(ctx: NodeContext) -> Cost:
    return ctx.cost(0, ctx.in_numel(0), weights=(), bytes_read=ctx.inputs[0].nbytes)


@register("TopK", formula="FLOPs = numel(X)")
def topk(ctx: NodeContext) -> Cost:
    return ctx.cost(0, ctx.in_numel(0), weights=(), bytes_read=ctx.inputs[0].nbytes)
