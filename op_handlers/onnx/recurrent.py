"""Recurrent layers: ai.onnx RNN, GRU, LSTM (com.microsoft DynamicQuantizeLSTM, in
:mod:`op_handlers.microsoft.recurrent`, builds on :func:`recurrent_counts`).

All three ONNX recurrences compute, per time step, per batch row and per direction,
``gates·hidden`` dot products of length ``input + hidden`` (the input projection
``Xt·Wᵀ`` and the recurrent projection ``Ht-1·Rᵀ``), so

    MACs = num_directions · seq_length · batch · gates · hidden · (input + hidden)

with gates = 1 (RNN), 3 (GRU), 4 (LSTM).  FLOPs = 2·MACs plus the per-step
elementwise work of the cell, counted per hidden unit with the per-element costs
below (activations, bias adds, peepholes, gate products, state update).

``sequence_lens`` is not used: the full ``seq_length`` from X's shape is counted
for every batch row (the op's cost when no row is shorter, an upper bound otherwise).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..base import Cost, NodeContext, ShapeUnknown
from ..registry import register
from .elementwise import NAMED_ACTIVATIONS, UNKNOWN_ACTIVATION_FLOPS

# --------------------------------------------------------------------------- per-element costs

#: FLOPs per element of each ONNX RNN activation function (the names of the
#: ``activations`` attribute, matched case-insensitively; the table is shared with the
#: fused Conv/Gemm kernels: elementwise.NAMED_ACTIVATIONS).
ACTIVATION_FLOPS: dict[str, int] = NAMED_ACTIVATIONS
#: ``clip`` attribute: clamp of every activation input (min, max).
CLIP_FLOPS = 2
#: Bias: ``Wb + Rb`` are both added to every gate pre-activation.
BIAS_FLOPS_PER_GATE = 2
#: LSTM peephole ``P ⊙ C``: mul + add, on the i, f and o gates.
PEEPHOLE_FLOPS_PER_GATE = 2
#: LSTM cell update ``Ct = ft ⊙ Ct-1 + it ⊙ ct``: 2 mul, 1 add.
LSTM_CELL_FLOPS = 3
#: LSTM output ``Ht = ot ⊙ h(Ct)``: 1 mul.
LSTM_OUTPUT_FLOPS = 1
#: GRU reset product ``rt ⊙ Ht-1`` (or ``rt ⊙ (Ht-1·Rhᵀ + Rbh)`` with linear_before_reset): 1 mul.
GRU_RESET_FLOPS = 1
#: GRU state update ``Ht = (1 - zt) ⊙ ht + zt ⊙ Ht-1``: sub, 2 mul, add.
GRU_UPDATE_FLOPS = 4

#: Default activations per direction, as in the ONNX spec.
DEFAULT_ACTIVATIONS = {
    "RNN": ("Tanh",),
    "GRU": ("Sigmoid", "Tanh"),
    "LSTM": ("Sigmoid", "Tanh", "Tanh"),
}
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


# --------------------------------------------------------------------------- helpers


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, (bytes, bytearray)) else str(v)


def activation_flops(name: Any) -> int:
    return ACTIVATION_FLOPS.get(_s(name).lower(), UNKNOWN_ACTIVATION_FLOPS)


def _direction_count_attr(ctx: NodeContext) -> int:
    return 2 if _s(ctx.attr("direction", "forward")) == "bidirectional" else 1


def _activations_per_direction(ctx: NodeContext, kind: str, ndirs: int) -> list[tuple[str, ...]]:
    """The activation names of each direction (``activations`` lists forward then reverse)."""
    k = len(DEFAULT_ACTIVATIONS[kind])
    acts = [_s(a) for a in (ctx.attr("activations") or ())]
    out = []
    for d in range(ndirs):
        chunk = tuple(acts[d * k:(d + 1) * k])
        out.append(chunk if len(chunk) == k else DEFAULT_ACTIVATIONS[kind])
    return out


def _cell_flops_per_unit(kind: str, acts: Sequence[str], *, bias: bool, clip: bool,
                         peephole: bool = False) -> int:
    """Elementwise FLOPs per step, per batch row, per hidden unit, for one direction."""
    c = [activation_flops(a) for a in acts]
    g = GATES[kind]
    n_act = 0
    if kind == "RNN":
        flops = c[0]  # Ht = f(...)
        n_act = 1
    elif kind == "GRU":
        # z, r = f(...); ht = g(...); reset product; state update
        flops = 2 * c[0] + c[1] + GRU_RESET_FLOPS + GRU_UPDATE_FLOPS
        n_act = 3
    else:  # LSTM
        # i, f, o = f(...); c = g(...); h(Ct); cell update; output product
        flops = 3 * c[0] + c[1] + c[2] + LSTM_CELL_FLOPS + LSTM_OUTPUT_FLOPS
        n_act = 5
        if peephole:
            flops += 3 * PEEPHOLE_FLOPS_PER_GATE
    if bias:
        flops += g * BIAS_FLOPS_PER_GATE
    if clip:
        flops += n_act * CLIP_FLOPS
    return flops


def _seq_batch(ctx: NodeContext, layout: int) -> tuple[Any, Any, Any]:
    xs = ctx.in_shape(0)
    if len(xs) != 3:
        raise ShapeUnknown(f"X of {ctx.op_type} must be 3-D, got rank {len(xs)}")
    if layout == 1:
        return xs[1], xs[0], xs[2]  # [batch, seq, input]
    return xs[0], xs[1], xs[2]  # [seq, batch, input]


def recurrent_counts(ctx: NodeContext, kind: str, *, transposed_w: bool = False) -> dict[str, Any]:
    """Shared shape bookkeeping; returns the pieces of the count.

    ``transposed_w``: W is [num_directions, input, gates·hidden] and R is
    [num_directions, hidden, gates·hidden] (DynamicQuantizeLSTM) instead of
    ONNX's [num_directions, gates·hidden, input] / [num_directions, gates·hidden, hidden].
    """
    g = GATES[kind]
    layout = ctx.attr("layout", 0) or 0
    seq, batch, input_size = _seq_batch(ctx, layout)
    ws = ctx.in_shape(1)
    ndirs = ws[0]
    hidden = ctx.attr("hidden_size")
    if hidden is None:
        rt = ctx.input(2)
        if rt is not None and rt.shape is not None:
            hidden = rt.shape[1] if transposed_w else rt.shape[2]
        else:
            hidden = (ws[2] if transposed_w else ws[1]) // g
    input_size = ws[1] if transposed_w else ws[2]

    macs = ndirs * seq * batch * g * hidden * (input_size + hidden)

    ndirs_attr = _direction_count_attr(ctx)
    acts = _activations_per_direction(ctx, kind, ndirs_attr)
    kw = dict(bias=ctx.has_input(3), clip=ctx.attr("clip") is not None)
    if kind == "LSTM":
        kw["peephole"] = ctx.has_input(7)
    per_dir = [_cell_flops_per_unit(kind, a, **kw) for a in acts]
    if ndirs_attr == 2:
        unit_flops = sum(per_dir)  # one entry per direction
    else:
        unit_flops = ndirs * per_dir[0]
    elementwise = seq * batch * hidden * unit_flops

    notes = []
    if ctx.has_input(4):
        notes.append("sequence_lens ignored: full seq_length counted for every batch row")
    return dict(macs=macs, elementwise=elementwise, seq=seq, batch=batch,
                input_size=input_size, hidden=hidden, ndirs=ndirs, gates=g, notes=notes)


_RNN_FORMULA = (
    "MACs = D·S·B·G·H·(I+H) (G: RNN 1, GRU 3, LSTM 4); FLOPs = 2·MACs + D·S·B·H·(cell elementwise): "
    "sigmoid 4, tanh 1 per element, bias 2 per gate, LSTM peephole 2 per gate (i,f,o), "
    "LSTM cell 3 + output 1, GRU reset 1 + update 4, clip 2 per activation"
)


@register("RNN", since_version=1, formula=_RNN_FORMULA)
def rnn(ctx: NodeContext) -> Cost:
    """RNN: MACs = D·S·B·H·(I+H); FLOPs = 2·MACs + D·S·B·H·(f [+2 bias] [+2 clip])."""
    r = recurrent_counts(ctx, "RNN")
    return ctx.cost(r["macs"], 2 * r["macs"] + r["elementwise"], weights=(1, 2, 3), notes=r["notes"])


@register("GRU", since_version=1, formula=_RNN_FORMULA)
def gru(ctx: NodeContext) -> Cost:
    """GRU: MACs = D·S·B·3H·(I+H); FLOPs = 2·MACs + D·S·B·H·(2f + g + 1 + 4 [+6 bias] [+6 clip])."""
    r = recurrent_counts(ctx, "GRU")
    return ctx.cost(r["macs"], 2 * r["macs"] + r["elementwise"], weights=(1, 2, 3), notes=r["notes"])


@register("LSTM", since_version=1, formula=_RNN_FORMULA)
def lstm(ctx: NodeContext) -> Cost:
    """LSTM: MACs = D·S·B·4H·(I+H); FLOPs = 2·MACs + D·S·B·H·(3f + g + h + 3 + 1 [+8 bias] [+6 peephole] [+10 clip])."""
    r = recurrent_counts(ctx, "LSTM")
    return ctx.cost(r["macs"], 2 * r["macs"] + r["elementwise"], weights=(1, 2, 3, 7), notes=r["notes"])


__all__ = [
    "ACTIVATION_FLOPS", "CLIP_FLOPS", "BIAS_FLOPS_PER_GATE", "PEEPHOLE_FLOPS_PER_GATE",
    "LSTM_CELL_FLOPS", "LSTM_OUTPUT_FLOPS", "GRU_RESET_FLOPS", "GRU_UPDATE_FLOPS",
    "recurrent_counts", "rnn", "gru", "lstm",
]
