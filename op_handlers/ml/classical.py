"""The ai.onnx.ml operators met in onnx's node tests: ArrayFeatureExtractor, Binarizer,
LabelEncoder, TreeEnsemble.

Counting rules as in op_handlers/onnx/misc.py; formulas in docs/conventions.md.
"""

from __future__ import annotations

from ..base import Cost, NodeContext, ShapeUnknown
from ..onnx.elementwise import SIGMOID
from ..onnx.misc import STRING_NOTE, known_bytes, written_bytes
from ..onnx.reduction import SOFTMAX
from ..registry import register

ML = "ai.onnx.ml"


@register("ArrayFeatureExtractor", domain=ML, kind="data_movement", formula="0 FLOPs; reads the selected elements + indices")
def array_feature_extractor(ctx: NodeContext) -> Cost:
    written = written_bytes(ctx)
    return ctx.cost(0, 0, weights=(0,), bytes_read=written + known_bytes(ctx.input(1)), bytes_written=written,
                    compute_dtype="none")


@register("Binarizer", domain=ML, formula="FLOPs = numel(Y) (one compare)")
def binarizer(ctx: NodeContext) -> Cost:
    return ctx.cost(0, ctx.out_numel(), weights=())


@register("LabelEncoder", domain=ML, formula="FLOPs = numel(X) (one table lookup per element)")
def label_encoder(ctx: NodeContext) -> Cost:
    notes = (STRING_NOTE,) if "string" in (ctx.input(0).dtype, ctx.output(0).dtype) else ()
    return ctx.cost(0, ctx.in_numel(0), weights=(), notes=notes)


def tree_depths(roots, true_ids, false_ids, true_leaf, false_leaf) -> list[int]:
    """Comparisons on the longest root-to-leaf path of every tree (TreeEnsemble encoding)."""
    memo: dict[int, int] = {}

    def depth(i: int, guard: int = 0) -> int:
        if i in memo:
            return memo[i]
        if guard > len(true_ids):
            raise ShapeUnknown("TreeEnsemble: cyclic tree")
        t = 0 if true_leaf[i] else depth(true_ids[i], guard + 1)
        f = 0 if false_leaf[i] else depth(false_ids[i], guard + 1)
        memo[i] = 1 + max(t, f)
        return memo[i]

    return [depth(r) for r in roots]


@register(
    "TreeEnsemble",
    domain=ML,
    since_version=5,
    formula="FLOPs = N·(Σ_trees depth (one compare per level, longest path) + trees (leaf accumulate)) [+ post_transform]",
)
def tree_ensemble(ctx: NodeContext) -> Cost:
    """X [N, F] -> Y [N, n_targets]."""
    a = ctx.attrs
    try:
        depths = tree_depths(
            list(a["tree_roots"]), list(a["nodes_truenodeids"]), list(a["nodes_falsenodeids"]),
            list(a.get("nodes_trueleafs") or [0] * len(a["nodes_truenodeids"])),
            list(a.get("nodes_falseleafs") or [0] * len(a["nodes_falsenodeids"])),
        )
    except (KeyError, IndexError, TypeError) as exc:
        raise ShapeUnknown(f"TreeEnsemble: tree attributes incomplete ({exc})") from None
    n = ctx.in_shape(0)[0]
    flops = n * (sum(depths) + len(depths))
    post = int(ctx.attr("post_transform", 0) or 0)
    if post in (1, 3):  # softmax over targets
        flops += SOFTMAX * ctx.out_numel()
    elif post in (2, 4):  # logistic / probit per output
        flops += SIGMOID * ctx.out_numel()
    return ctx.cost(0, flops, weights=(), notes=("longest path of every tree counted (worst case)",))
