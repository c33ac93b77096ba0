"""Elementwise math, activations and comparisons: FLOPs only, no MACs.

Every op here costs ``numel(Y) · c`` FLOPs, with ``c`` from :data:`PER_ELEMENT`.
The table counts basic operations: one add, subtract, multiply, divide, compare,
or one primitive function (exp, log, sqrt, rsqrt, erf, tanh, trigonometric) is 1;
composite activations are expanded into those (Sigmoid = neg, exp, add, div = 4;
Swish/QuickGelu x·sigmoid(αx) = mul by −α, exp, add, reciprocal, mul = 5; …).  Variadic ops (Sum, Max,
Min, Mean) cost (inputs − 1) per element, Mean one more for the division.
"""

from __future__ import annotations

from ..base import Cost, NodeContext
from ..registry import register

SIGMOID = 4  # neg, exp, add, div
TANH = 1  # a primitive function
SOFTPLUS = 3  # exp, add, log
SWISH = 5  # x·sigmoid(αx): mul by −α, exp, add 1, reciprocal, mul x
ERF_GELU = 5  # x/√2, erf, +1, ·x, ·0.5
TANH_GELU = 9  # x³ (2 mul), ·0.044715, +x, ·√(2/π), tanh, +1, ·x, ·0.5

#: op_type -> FLOPs per output element (ai.onnx).
PER_ELEMENT: dict[str, int] = {
    # arithmetic
    "Add": 1, "Sub": 1, "Mul": 1, "Div": 1, "Mod": 1, "Pow": 1, "Neg": 1, "Abs": 1,
    "Reciprocal": 1, "Sqrt": 1, "Exp": 1, "Log": 1, "Erf": 1, "Floor": 1, "Ceil": 1,
    "Round": 1, "Sign": 1,
    "Sin": 1, "Cos": 1, "Tan": 1, "Asin": 1, "Acos": 1, "Atan": 1,
    "Sinh": 1, "Cosh": 1, "Asinh": 1, "Acosh": 1, "Atanh": 1,
    # comparison, logic, bit ops
    "Equal": 1, "Greater": 1, "Less": 1, "GreaterOrEqual": 1, "LessOrEqual": 1,
    "And": 1, "Or": 1, "Xor": 1, "Not": 1, "IsNaN": 1, "IsInf": 1,
    "BitShift": 1, "BitwiseAnd": 1, "BitwiseOr": 1, "BitwiseXor": 1, "BitwiseNot": 1,
    "Where": 1,  # one select
    "Clip": 2,  # max, min
    # activations
    "Relu": 1,  # max(x, 0)
    "LeakyRelu": 2,  # compare, mul
    "PRelu": 2,  # compare, mul
    "ThresholdedRelu": 1,  # compare
    "Elu": 4,  # compare, exp, sub 1, mul alpha
    "Celu": 5,  # compare, div alpha, exp, sub 1, mul alpha
    "Selu": 5,  # compare, exp, mul, sub, mul gamma
    "Sigmoid": SIGMOID,
    "HardSigmoid": 4,  # mul alpha, add beta, max, min
    "HardSwish": 5,  # HardSigmoid(4) · x
    "Tanh": TANH,
    "Softplus": SOFTPLUS,
    "Softsign": 3,  # abs, add 1, div
    "Mish": SOFTPLUS + TANH + 1,  # x · tanh(softplus(x))
    "Swish": SWISH,  # x · sigmoid(alpha·x)
    "Shrink": 2,  # compare, add/sub bias
}

#: Activations named by a string attribute (an RNN's ``activations``, the ``activation``
#: of a fused Conv/Gemm kernel), by lower-case name: FLOPs per element.  Names that are
#: ops cost what the op costs in :data:`PER_ELEMENT`; three are not ops.
NAMED_ACTIVATIONS: dict[str, int] = {
    **{op.lower(): PER_ELEMENT[op] for op in (
        "Relu", "LeakyRelu", "ThresholdedRelu", "Elu", "Celu", "Selu", "Sigmoid", "HardSigmoid",
        "HardSwish", "Tanh", "Softplus", "Softsign", "Mish", "Clip")},
    "affine": 2,  # alpha·x + beta: mul, add
    "scaledtanh": 3,  # alpha·tanh(beta·x): mul, tanh, mul
    "parametricsoftplus": 5,  # alpha·softplus(beta·x): mul, exp, add, log, mul
}
#: cost assumed for an activation name not in :data:`NAMED_ACTIVATIONS`
UNKNOWN_ACTIVATION_FLOPS = 1


def activation_flops(name: str) -> int | None:
    """FLOPs per element of the activation called ``name`` (any case), None if unknown."""
    return NAMED_ACTIVATIONS.get(str(name).lower())


def fused_activation(ctx: NodeContext, n: int) -> tuple[int, tuple[str, ...]]:
    """FLOPs of the ``activation`` attribute of a fused kernel over ``n`` outputs, and a
    note when the name is unknown (then :data:`UNKNOWN_ACTIVATION_FLOPS` per element)."""
    name = ctx.attr("activation")
    if not name:
        return 0, ()
    per = activation_flops(name)
    if per is None:
        return UNKNOWN_ACTIVATION_FLOPS * n, (f"activation {name!r} not in the table: {UNKNOWN_ACTIVATION_FLOPS} FLOP per element",)
    return per * n, ()


#: variadic reductions over inputs: (inputs − 1) per element (+1 for Mean's division)
VARIADIC = {"Sum": 0, "Max": 0, "Min": 0, "Mean": 1}


def _elementwise(ctx: NodeContext) -> Cost:
    per = PER_ELEMENT[ctx.op_type]
    return ctx.cost(0, ctx.out_numel() * per, weights=None)


for _op, _per in PER_ELEMENT.items():
    register(_op, formula=f"FLOPs = {_per}·numel(Y)")(_elementwise)


@register(*VARIADIC, formula="FLOPs = (inputs − 1)·numel(Y) (+numel(Y) for Mean)")
def variadic(ctx: NodeContext) -> Cost:
    n = len(ctx.present_inputs)
    per = max(n - 1, 0) + VARIADIC[ctx.op_type]
    return ctx.cost(0, ctx.out_numel() * per, weights=None)


@register("Gelu", since_version=20, formula=f"FLOPs = {ERF_GELU}·numel(Y) (approximate='none'), {TANH_GELU}·numel(Y) ('tanh')")
def gelu(ctx: NodeContext) -> Cost:
    per = TANH_GELU if ctx.attr("approximate", "none") == "tanh" else ERF_GELU
    return ctx.cost(0, ctx.out_numel() * per, weights=None)


# --------------------------------------------------------------------------- shape rules
# onnx defines these by function bodies; when its inference of the body leaves the
# output open, Y has X's type.

from ..registry import shape_rule  # noqa: E402
from ..shape_rules import same_as_first  # noqa: E402

shape_rule("Gelu", "Mish", "HardSwish", "Swish")(same_as_first)
