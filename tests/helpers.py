"""Shared test helpers: one-node graphs, handler contexts, CLI error checks."""

from __future__ import annotations

import re

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


# --------------------------------------------------------------------------- CLI


def run_cli(*args):
    """Invoke the onnxstat CLI in-process (stderr kept apart from stdout)."""
    from click.testing import CliRunner

    from onnxstat.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


#: pytest's base temporary folder, set by an autouse fixture in conftest.py
BASETEMP = [""]


def _without_tmp_dirs(line: str) -> str:
    """The line with pytest's temporary folders cut out (they contain the test's name,
    which must not be what makes a needle match)."""
    base = BASETEMP[0]
    return re.sub(re.escape(base) + r"[^\s'\"]*/", "", line) if base else line


def assert_error(res, code: int, *needles: str) -> str:
    """Exit ``code``; stderr is exactly one line 'onnxstat: error: ...' containing every needle."""
    assert res.exit_code == code, (res.exit_code, res.stderr, res.stdout)
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    lines = res.stderr.strip("\n").splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("onnxstat: error: "), line
    short = _without_tmp_dirs(line)
    base = BASETEMP[0]
    for n in needles:
        assert n in (line if base and base in n else short), (n, line)
    return line


__all__ = ["one_node", "zeros", "F", "onnx", "TensorProto", "ctx_from_model", "run_handler", "check_cost",
           "run_cli", "assert_error"]
