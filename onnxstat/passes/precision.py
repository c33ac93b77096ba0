"""Compute-precision attribution for quantised graphs (a pass over a ProfileResult).

Handlers give every node the precision its own tensors suggest: float ops their
float dtype, QOperator and integer ops (QLinearConv, ConvInteger, MatMulInteger,
QGemm, ...) their 8-bit input type.  One case needs the graph around a node: in a
QDQ model a float op whose activation and weight inputs both come from
DequantizeLinear of int8/uint8 tensors is fused by onnxruntime on the CPU into its
integer counterpart, so its MACs and FLOPs run in 8 bit.  :func:`attribute_precision`
finds those nodes and rewrites their ``compute_dtype`` to the dtype of the
quantised activation (the DequantizeLinear input feeding input 0), then recomputes
``totals.macs_by_precision`` / ``flops_by_precision`` and the per-op-type dtypes.

Fusion rules follow onnxruntime's CPU QDQ selectors
(``core/optimizer/qdq_transformer/selectors_actions``):

* dense ops (Conv, ConvTranspose, MatMul, Gemm): inputs 0 and 1 from
  DequantizeLinear of int8/uint8; a bias (input 2) may be anything (usually
  DequantizeLinear of int32); a QuantizeLinear after the op is optional (MatMul and
  Gemm then produce float output: MatMulIntegerToFloat / QGemm).
* elementwise / pooling ops onnxruntime has QLinear kernels for (Add, Mul,
  Sigmoid, LeakyRelu, Softmax, AveragePool, GlobalAveragePool, MaxPool, Concat):
  every data input from DequantizeLinear of int8/uint8 and every consumer of the
  output a QuantizeLinear.

Quantize/DequantizeLinear nodes keep their own (elementwise, float) cost.

Weight-only quantisation (DequantizeLinear feeding only the weight of a dense op,
the activation float; MatMulNBits) keeps the activation's float precision: the
weight bytes are already int8/int4 through the DequantizeLinear (or MatMulNBits)
node, and the node gets a note saying so.
"""

from __future__ import annotations

from ..result import ProfileResult, summarize
from .analysis import NodeCost

#: the quantised types onnxruntime's CPU QDQ fusions accept for activations and weights
QDQ_8BIT = frozenset({"int8", "uint8"})
DQ_OPS = frozenset({"DequantizeLinear"})
Q_OPS = frozenset({"QuantizeLinear"})
QDQ_DOMAINS = frozenset({"", "com.microsoft"})

#: op -> (inputs that must come from DequantizeLinear (None: all present inputs),
#:        output QuantizeLinear required)
FUSIONS: dict[str, tuple[tuple[int, ...] | None, bool]] = {
    "Conv": ((0, 1), False),
    "ConvTranspose": ((0, 1), False),
    "MatMul": ((0, 1), False),
    "Gemm": ((0, 1), False),
    "Add": ((0, 1), True),
    "Mul": ((0, 1), True),
    "Sigmoid": ((0,), True),
    "LeakyRelu": ((0,), True),
    "Softmax": ((0,), True),
    "AveragePool": ((0,), True),
    "GlobalAveragePool": ((0,), True),
    "MaxPool": ((0,), True),
    "Concat": (None, True),
}
#: dense ops whose input 1 is the weight (for the weight-only note)
WEIGHT_INPUT = {"Conv": 1, "ConvTranspose": 1, "MatMul": 1, "Gemm": 1}

QDQ_NOTE = "QDQ: inputs dequantized from {dtypes}; onnxruntime fuses the node, counted as {dtype} compute"
WEIGHT_ONLY_NOTE = "weight-only quantisation: {wdtype} weights, {dtype} compute"


def _is_dq(n: NodeCost | None) -> bool:
    return n is not None and n.op_type in DQ_OPS and n.domain in QDQ_DOMAINS


def _dq_source_dtype(n: NodeCost) -> str:
    return n.inputs[0][1] if n.inputs else "undefined"


def _fused_dtype(node: NodeCost, producer: dict[str, NodeCost], consumers: dict[str, list[NodeCost]],
                 graph_outputs: set[str]) -> tuple[str, list[str]] | None:
    """The 8-bit dtype ``node`` runs in after onnxruntime's QDQ fusion, or None."""
    if node.domain != "" or node.op_type not in FUSIONS:
        return None
    idx, needs_q = FUSIONS[node.op_type]
    present = [i for i, (name, _d, _s) in enumerate(node.inputs) if name]
    idx = present if idx is None else idx
    if not idx or any(i >= len(node.inputs) or not node.inputs[i][0] for i in idx):
        return None
    sources = []
    for i in idx:
        p = producer.get(node.inputs[i][0])
        if not _is_dq(p) or _dq_source_dtype(p) not in QDQ_8BIT:
            return None
        sources.append(_dq_source_dtype(p))
    if needs_q:
        for name, _d, _s in node.outputs[:1]:
            users = consumers.get(name, [])
            if name in graph_outputs or not users or any(u.op_type not in Q_OPS or u.domain not in QDQ_DOMAINS for u in users):
                return None
    return sources[0], sources


def _weight_only(node: NodeCost, producer: dict[str, NodeCost]) -> str | None:
    """Weight dtype when ``node`` is a dense op with a dequantized weight and a float activation."""
    w = WEIGHT_INPUT.get(node.op_type)
    if node.domain != "" or w is None or len(node.inputs) <= w or not node.inputs[0][0]:
        return None
    pw = producer.get(node.inputs[w][0])
    if not _is_dq(pw) or _is_dq(producer.get(node.inputs[0][0])):
        return None
    return _dq_source_dtype(pw)


def attribute_precision(res: ProfileResult) -> None:
    """Rewrite ``compute_dtype`` of QDQ-fused nodes and refresh the by-precision totals.

    Idempotent: running it twice gives the same result.
    """
    if not any(n.op_type in DQ_OPS for n in res.nodes):
        return  # both rules start from a DequantizeLinear
    producer: dict[str, NodeCost] = {}
    consumers: dict[str, list[NodeCost]] = {}
    for n in res.nodes:
        for name, _d, _s in n.outputs:
            if name:
                producer[name] = n
        for name, _d, _s in n.inputs:
            if name:
                consumers.setdefault(name, []).append(n)
    graph_outputs = {name for name, _d, _s in res.outputs}
    changed = False
    for n in res.nodes:
        fused = _fused_dtype(n, producer, consumers, graph_outputs)
        if fused is not None:
            dtype, sources = fused
            note = QDQ_NOTE.format(dtypes="/".join(sorted(set(sources))), dtype=dtype)
            if n.compute_dtype != dtype:
                n.compute_dtype = dtype
                changed = True
            if note not in n.notes:
                n.notes.append(note)
            continue
        wdtype = _weight_only(n, producer)
        if wdtype is not None:
            note = WEIGHT_ONLY_NOTE.format(wdtype=wdtype, dtype=n.compute_dtype)
            if note not in n.notes:
                n.notes.append(note)
    if not changed:
        return
    totals, rows = summarize(res.nodes)
    res.totals.macs_by_precision = totals.macs_by_precision
    res.totals.flops_by_precision = totals.flops_by_precision
    dtypes = {(r.domain, r.op_type): r.compute_dtypes for r in rows}
    for r in res.by_op_type:
        if (r.domain, r.op_type) in dtypes:
            r.compute_dtypes = set(dtypes[(r.domain, r.op_type)])


__all__ = ["attribute_precision", "FUSIONS", "QDQ_8BIT"]
