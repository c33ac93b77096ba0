"""The JSON writer's fast node records equal what ``json.dumps`` makes of ``to_dict()``.

:func:`onnxstat.render.formats.to_json` formats plain node records itself (see
:func:`onnxstat.result.nodes_json`); the reference here is the straightforward writer:
``json.dumps`` of :meth:`ProfileResult.to_dict`, laid out one node per line below
``JSON_INDENT_MAX_NODES`` nodes. Byte equality on every bundled model, on models with
symbolic counts, roofline extras, notes and errors, and on a graph above the layout limit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from onnxstat.render import formats
from onnxstat.render.formats import JSON_INDENT_MAX_NODES, to_json

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted(p for p in (ROOT / "sample_models").glob("*.onnx"))


def reference_json(res) -> str:
    d = res.to_dict()
    if len(res.nodes) > JSON_INDENT_MAX_NODES:
        return json.dumps(d) + "\n"
    parts = []
    for key, value in d.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            text = "[\n    " + ",\n    ".join(json.dumps(v) for v in value) + "\n  ]"
        else:
            text = json.dumps(value, indent=2).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _dims(path: Path) -> dict:
    m = onnx.load(str(path), load_external_data=False)
    names = {d.dim_param for i in m.graph.input for d in i.type.tensor_type.shape.dim if d.dim_param}
    known = {"batch": 1, "seq": 16, "past_seq": 8, "sequence_length": 4, "past_sequence_length": 5,
             "total_sequence_length": 9}
    return {n: known.get(n, 3) for n in names}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_bundled_models(path):
    res = onnxstat.profile(str(path), dims=_dims(path))
    assert res.nodes
    assert to_json(res) == reference_json(res)


def test_roofline_extras_and_no_nodes():
    res = onnxstat.profile(str(ROOT / "sample_models" / "cnn.onnx"), dims={"batch": 1}, device="a100")
    assert any(res.node_extras)  # per-node roofline fields: the records that take the general path
    assert to_json(res) == reference_json(res)


def _chain(n: int, dim: str | int = 8) -> onnx.ModelProto:
    w = numpy_helper.from_array(np.ones((8, 8), np.float32), "w")
    nodes, prev = [], "x"
    for i in range(n):
        out = "y" if i == n - 1 else f"t{i}"
        op = ("MatMul", [prev, "w"]) if i % 2 == 0 else ("Relu", [prev])
        nodes.append(helper.make_node(op[0], op[1], [out], name=f"n\u00e9{i}\"q"))  # non-ASCII, a quote
        prev = out
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [dim, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [dim, 8])], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_named_dims_and_escapes():
    res = onnxstat.profile(_chain(6, "n"), dims={"n": 4})
    assert to_json(res) == reference_json(res)


def test_above_the_layout_limit(monkeypatch):
    monkeypatch.setattr(formats, "JSON_INDENT_MAX_NODES", 10)
    res = onnxstat.profile(_chain(30))
    # 15 MatMuls [8,8]x[8,8]: 512 MACs each; 15 Relus
    assert res.totals.macs == 15 * 8 * 8 * 8
    text = to_json(res)
    assert text == json.dumps(res.to_dict()) + "\n"
    assert json.loads(text)["nodes"][0]["name"] == "n\u00e90\"q"


def test_unresolved_and_unsupported_records():
    g = helper.make_graph(
        [helper.make_node("NonZero", ["x"], ["nz"], name="nz"),
         helper.make_node("Transpose", ["nz"], ["t"], name="t"),
         helper.make_node("Foo", ["t"], ["y"], name="foo", domain="my.ops")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)])
    res = onnxstat.profile(m)
    assert res.totals.unsupported_nodes == 1
    assert to_json(res) == reference_json(res)
