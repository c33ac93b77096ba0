"""Ops that cost no arithmetic.

Two explicit tables:

* :data:`VIEWS` -- the output is the input seen differently (or a constant the
  runtime already holds): no FLOPs and no memory traffic.
* :data:`DATA_MOVEMENT` -- copies, gathers, layout changes and casts: no FLOPs,
  real memory traffic.  ``DATA_MOVEMENT[op]`` gives the input indices that carry
  data (and so may be parameters when constant, e.g. an embedding table for
  Gather or a class token for Concat) and how the bytes read are counted:
  ``"all"`` (every data input), ``"out"`` (as many bytes as the output, plus the
  index inputs: Gather-like ops read only the rows they pick) or ``"none"``
  (metadata / generators that only write).
"""

from __future__ import annotations

from ..base import Cost, NodeContext
from ..registry import register

VIEWS: tuple[str, ...] = (
    "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Dropout", "Constant",
    "Optional", "OptionalGetElement", "OptionalHasElement", "BitCast",
)

ALL = None  # every input carries data
#: op -> (data input indices or ALL, read mode)
DATA_MOVEMENT: dict[str, tuple[tuple[int, ...] | None, str]] = {
    "Transpose": ((0,), "all"),
    "Concat": (ALL, "all"),
    "Split": ((0,), "all"),
    "Slice": ((0,), "out"),
    "Gather": ((0,), "out"),
    "GatherElements": ((0,), "out"),
    "GatherND": ((0,), "out"),
    "Compress": ((0,), "out"),
    "Scatter": ((0, 2), "all"),
    "ScatterElements": ((0, 2), "all"),
    "ScatterND": ((0, 2), "all"),
    "TensorScatter": ((0, 1), "all"),
    "Tile": ((0,), "all"),
    "Expand": ((0,), "all"),
    "Pad": ((0,), "all"),
    "CenterCropPad": ((0,), "out"),
    "Cast": ((0,), "all"),
    "CastLike": ((0,), "all"),
    "DepthToSpace": ((0,), "all"),
    "SpaceToDepth": ((0,), "all"),
    "ReverseSequence": ((0,), "all"),
    "Trilu": ((0,), "all"),
    "NonZero": ((0,), "all"),
    "Unique": ((0,), "all"),
    "OneHot": ((), "none"),
    "EyeLike": ((), "none"),
    "ConstantOfShape": ((), "none"),
    "Range": ((), "none"),
    "Shape": ((), "none"),
    "Size": ((), "none"),
    "MaxUnpool": ((0,), "all"),
    # sequences: element shapes are generally unknown; counted when known
    "SequenceConstruct": (ALL, "all"),
    "SequenceInsert": ((0, 1), "all"),
    "SequenceAt": ((0,), "out"),
    "SequenceErase": ((0,), "all"),
    "SequenceEmpty": ((), "none"),
    "SequenceLength": ((), "none"),
    "SplitToSequence": ((0,), "all"),
    "ConcatFromSequence": ((0,), "all"),
}


@register(*VIEWS, kind="view", formula="view: 0 FLOPs, 0 bytes")
def view(ctx: NodeContext) -> Cost:
    # a constant seen through a view (a bias reshaped to [1, C, 1, 1]) is still a parameter
    return ctx.cost(0, 0, weights=(0,), bytes_read=0, bytes_written=0, compute_dtype="none")


def _index_bytes(ctx: NodeContext, data: tuple[int, ...] | None):
    data_idx = set(range(len(ctx.inputs)) if data is None else data)
    return sum((t.nbytes for i, t in enumerate(ctx.inputs) if t is not None and i not in data_idx), 0)


def _known_nbytes(t):
    return 0 if t is None or t.shape is None else t.nbytes


@register(*DATA_MOVEMENT, kind="data_movement", formula="0 FLOPs; bytes = data read + output written")
def data_movement(ctx: NodeContext) -> Cost:
    data, mode = DATA_MOVEMENT[ctx.op_type]
    written = sum((_known_nbytes(t) for t in ctx.outputs), 0)
    if mode == "none":
        read = 0
    elif mode == "out":
        read = written + _index_bytes(ctx, data)
    else:
        idx = range(len(ctx.inputs)) if data is None else data
        read = sum((_known_nbytes(ctx.input(i)) for i in idx), 0)
    return ctx.cost(0, 0, weights=data, bytes_read=read, bytes_written=written, compute_dtype="none")
