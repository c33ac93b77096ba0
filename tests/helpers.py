"""Small builders for one-node test graphs."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import onnxstat

F = TensorProto.FLOAT


def one_node(
    op: str,
    inputs: dict,
    attrs: dict | None = None,
    *,
    n_outputs: int = 1,
    domain: str = "",
    opset: int = 17,
    weights: dict | None = None,
    consts: dict | None = None,
    input_names: list | None = None,
):
    """Build and profile a one-node model; returns the node's NodeCost.

    ``inputs``: name -> (elem_type, shape) for graph inputs;
    ``weights``: name -> numpy array as initializers (parameters);
    ``input_names``: the node's input order (defaults to inputs then weights).
    """
    weights = weights or {}
    consts = consts or {}
    names = input_names or (list(inputs) + list(weights) + list(consts))
    outs = [f"y{i}" for i in range(n_outputs)]
    node = helper.make_node(op, names, outs, domain=domain, **(attrs or {}))
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in inputs.items()],
        [helper.make_tensor_value_info(o, 0, None) for o in outs],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in {**weights, **consts}.items()],
    )
    opsets = [helper.make_opsetid("", opset)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    model = helper.make_model(graph, opset_imports=opsets)
    res = onnxstat.profile(model)
    assert len(res.nodes) == 1, res.nodes
    return res.nodes[0], res


def zeros(*shape, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


__all__ = ["one_node", "zeros", "F", "onnx", "TensorProto"]
