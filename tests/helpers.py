"""Small builders for one-node test graphs."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, defs, helper, numpy_helper, shape_inference

import onnxstat
from op_handlers import REGISTRY
from op_handlers.base import NodeContext, TensorInfo, dtype_name

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


def _shape_of(vi):
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else d.dim_param for d in tt.shape.dim)


def ctx_from_model(model: onnx.ModelProto) -> tuple[NodeContext, dict[str, tuple]]:
    """Shape-infer a one-node model with onnx (strict) and build the node's context from it:
    an independent path from onnxstat's shape resolution."""
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    g = inferred.graph
    infos: dict[str, TensorInfo] = {}
    for init in g.initializer:
        infos[init.name] = TensorInfo(init.name, dtype_name(init.data_type), tuple(init.dims), True, True)
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        if vi.name not in infos:
            infos[vi.name] = TensorInfo(vi.name, dtype_name(vi.type.tensor_type.elem_type), _shape_of(vi))
    node = g.node[0]
    opset = {o.domain: o.version for o in inferred.opset_import}[node.domain]
    schema = defs.get_schema(node.op_type, opset, node.domain)
    attrs = {
        n: helper.get_attribute_value(a.default_value)
        for n, a in schema.attributes.items()
        if a.default_value.name
    }
    attrs.update({a.name: helper.get_attribute_value(a) for a in node.attribute})
    ctx = NodeContext(
        op_type=node.op_type, domain=node.domain, opset=opset, name=node.name, attrs=attrs,
        inputs=tuple(infos[n] if n else None for n in node.input),
        outputs=tuple(infos[n] if n else None for n in node.output),
    )
    return ctx, {k: v.shape for k, v in infos.items()}


def run_handler(op, inputs, outputs, attrs=None, domain="", opset=21):
    """Call the registered handler of (domain, op) on a hand-built context."""
    entry = REGISTRY.lookup(domain, op, opset)
    assert entry is not None, f"{domain}::{op} not registered"
    ctx = NodeContext(op, domain, opset, op.lower(), attrs or {}, tuple(inputs), tuple(outputs))
    return entry.fn(ctx)


def check_cost(c, macs, flops, params, weight_bytes, read, written, dtype="float32"):
    assert c.macs == macs
    assert c.flops == flops
    assert c.params == params
    assert c.weight_bytes == weight_bytes
    assert c.bytes_read == read
    assert c.bytes_written == written
    assert c.compute_dtype == dtype


__all__ = ["one_node", "zeros", "F", "onnx", "TensorProto", "ctx_from_model", "run_handler", "check_cost"]
