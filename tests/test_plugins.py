"""Custom handlers: register_handler, profile(custom_handlers=...), --plugin FILE.py.

The plugin used here is the worked example of docs/adding-an-op.md, taken from the page
itself, so the page cannot drift from what works.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from helpers import assert_error, run_cli
from op_handlers import REGISTRY

DOC = Path(__file__).resolve().parent.parent / "docs" / "adding-an-op.md"
F = TensorProto.FLOAT
SHAPE_PASS = "needs the shape pass to call Entry.shape_rule"


def doc_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture
def plugin_file(tmp_path, monkeypatch):
    p = tmp_path / "my_attention_plugin.py"
    p.write_text(doc_blocks()[0], encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield p
    sys.modules.pop("my_attention_plugin", None)


def attention_model(tail: bool = True):
    """q (1, 8, 16), k, v (1, 8, 16) -> MyAttention -> y; with ``tail``: y · W (16, 16) -> z.

    MyAttention: MACs 2·1·8·8·16 = 2048, FLOPs 2·2048 + 5·1·8·8 = 4416.
    MatMul y·W: MACs numel(z)·K = 128·16 = 2048, FLOPs 4096; W 256 params."""
    nodes = [helper.make_node("MyAttention", ["q", "k", "v"], ["y"], domain="my.ops", name="attn")]
    inits, out = [], "y"
    if tail:
        nodes.append(helper.make_node("MatMul", ["y", "W"], ["z"], name="proj"))
        inits.append(numpy_helper.from_array(np.ones((16, 16), np.float32), "W"))
        out = "z"
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, F, [1, 8, 16]) for n in "qkv"],
                          [helper.make_tensor_value_info(out, F, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)])
    m.ir_version = 8
    return m


def test_the_pages_one_node_test_passes(plugin_file):
    ns: dict = {}
    exec(compile(doc_blocks()[1], str(DOC), "exec"), ns)  # noqa: S102 - the page's own test
    ns["test_my_attention_one_node"]()


def test_unknown_op_is_unsupported_and_counted_with_the_handler(plugin_file):
    model = attention_model(tail=False)
    res = onnxstat.profile(model)
    assert res.unsupported == [("my.ops", "MyAttention", 1)]
    assert (res.nodes[0].kind, res.nodes[0].macs, res.nodes[0].flops) == ("unsupported", 0, 0)
    from my_attention_plugin import my_attention

    res = onnxstat.profile(model, custom_handlers=[my_attention])
    assert res.unsupported == []
    assert (res.nodes[0].kind, res.nodes[0].macs, res.nodes[0].flops) == ("compute", 2048, 4416)
    assert res.settings["custom_handlers"] == ["my.ops::MyAttention"]
    # registered for that call only: the next profile does not see it
    assert REGISTRY.lookup("my.ops", "MyAttention") is None
    assert onnxstat.profile(model).unsupported == [("my.ops", "MyAttention", 1)]
    # a plugin path works as well as the function
    assert onnxstat.profile(model, custom_handlers=[plugin_file]).totals.macs == 2048


def test_unknown_op_in_the_cli_with_and_without_plugin(plugin_file, tmp_path):
    path = tmp_path / "attn.onnx"
    path.write_bytes(attention_model(tail=False).SerializeToString())
    r = run_cli("profile", path, "--format", "json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["unsupported"] == [{"domain": "my.ops", "op_type": "MyAttention", "count": 1}]
    assert "unsupported ops" in r.stderr
    r = run_cli("profile", path, "--format", "json", "--plugin", plugin_file)
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["unsupported"] == [] and (d["totals"]["macs"], d["totals"]["flops"]) == (2048, 4416)
    assert d["nodes"][0]["kind"] == "compute"


def test_shape_rule_gives_the_nodes_after_the_custom_op_their_shapes(plugin_file, tmp_path):
    from my_attention_plugin import my_attention

    res = onnxstat.profile(attention_model(), custom_handlers=[my_attention])
    proj = res.nodes[1]
    assert proj.outputs[0][2] == (1, 8, 16)
    # attention 2048 MACs + MatMul 2048 MACs; FLOPs 4416 + 4096
    assert (res.totals.macs, res.totals.flops, res.totals.params) == (4096, 8512, 256)
    path = tmp_path / "attn.onnx"
    path.write_bytes(attention_model().SerializeToString())
    r = run_cli("profile", path, "--format", "json", "--plugin", plugin_file)
    assert json.loads(r.stdout)["totals"]["macs"] == 4096


def test_overriding_a_builtin_needs_override_true():
    def my_relu(ctx):
        return ctx.cost(flops=7 * ctx.out_numel())

    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [helper.make_tensor_value_info("x", F, [2, 3])],
                          [helper.make_tensor_value_info("y", F, [2, 3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    builtin = REGISTRY.lookup("", "Relu", 17)
    plain = onnxstat.register_handler("Relu")(my_relu)
    with pytest.raises(onnxstat.UsageError, match=r"Relu: onnxstat already counts this op.*override=True"):
        onnxstat.profile(m, custom_handlers=[plain])
    assert REGISTRY.lookup("", "Relu", 17) == builtin

    def my_relu2(ctx):
        return ctx.cost(flops=7 * ctx.out_numel())

    forced = onnxstat.register_handler("Relu", override=True)(my_relu2)
    res = onnxstat.profile(m, custom_handlers=[forced])
    assert res.totals.flops == 7 * 6  # the custom formula: 7 FLOPs per element
    # the built-in is back afterwards
    assert REGISTRY.lookup("", "Relu", 17) == builtin
    assert onnxstat.profile(m).totals.flops == 6


def test_undeclared_function_is_a_clear_error():
    def not_declared(ctx):
        return ctx.cost()

    with pytest.raises(onnxstat.UsageError, match="not declared with @onnxstat.register_handler"):
        onnxstat.profile(attention_model(False), custom_handlers=[not_declared])


@pytest.mark.parametrize("text,needles", [
    ("raise RuntimeError('boom')\n", ["failed to import (line 1)", "RuntimeError: boom"]),
    ("x = 1\n", ["declares no handler"]),
    ("import onnxstat\n@onnxstat.register_handler('Relu')\ndef h(ctx):\n    return ctx.cost()\n",
     ["already counts this op", "override=True"]),
])
def test_bad_plugins_are_one_line_errors(tmp_path, text, needles):
    p = tmp_path / "bad_plugin.py"
    p.write_text(text)
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [helper.make_tensor_value_info("x", F, [2, 3])],
                          [helper.make_tensor_value_info("y", F, [2, 3])])
    model = tmp_path / "relu.onnx"
    model.write_bytes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    assert_error(run_cli("profile", model, "--plugin", p), 2, *needles)
    assert REGISTRY.lookup("", "Relu", 17).fn.__module__.startswith("op_handlers")


def test_missing_plugin_file(tmp_path):
    assert_error(run_cli("profile", tmp_path / "x.onnx", "--plugin", tmp_path / "nope.py"), 2, "nope.py", "no such file")


def test_annotate_with_a_plugin(plugin_file, tmp_path):
    import onnx

    path, out = tmp_path / "attn.onnx", tmp_path / "attn.costs.onnx"
    path.write_bytes(attention_model(tail=False).SerializeToString())
    r = run_cli("annotate", path, "-o", out, "--plugin", plugin_file)
    assert r.exit_code == 0, r.stderr
    md = {p.key: p.value for p in onnx.load(str(out)).graph.node[0].metadata_props}
    assert (md["onnxstat.macs"], md["onnxstat.flops"]) == ("2048", "4416")


def test_the_shape_rule_is_on_the_registry_entry_while_registered(plugin_file):
    # the interface the shape pass calls: REGISTRY.lookup(domain, op, opset).shape_rule(ctx)
    from my_attention_plugin import my_attention, my_attention_shape
    from op_handlers import NodeContext, TensorInfo
    from onnxstat.plugins import registered

    with registered([my_attention]):
        entry = REGISTRY.lookup("my.ops", "MyAttention", 1)
        assert entry.fn is my_attention and entry.shape_rule is my_attention_shape
        q = TensorInfo("q", "float32", (1, 8, 16))
        ctx = NodeContext("MyAttention", "my.ops", 1, "attn", {}, (q, q, q), ())
        assert entry.shape_rule(ctx) == [("float32", (1, 8, 16))]
    assert REGISTRY.lookup("my.ops", "MyAttention", 1) is None


def test_the_entry_kind_decides_whether_an_if_is_expanded():
    # If(cond) with a MatMul [2,3]x[3,4] in each branch: 2*3*4 = 24 MACs counted for the
    # branch taken (cond is a constant True). Overridden by a plugin as a plain compute op,
    # the If is one node costing what the plugin says (5 FLOPs) and no branch is expanded.
    w = numpy_helper.from_array(np.ones((3, 4), np.float32), "w")

    def branch(name):
        return helper.make_graph([helper.make_node("MatMul", ["x", "w"], [f"{name}_y"], name=f"{name}_mm")], name, [],
                                 [helper.make_tensor_value_info(f"{name}_y", F, [2, 4])])

    cond = numpy_helper.from_array(np.array(True), "cond")
    g = helper.make_graph(
        [helper.make_node("If", ["cond"], ["y"], name="if", then_branch=branch("then"), else_branch=branch("else"))],
        "g", [helper.make_tensor_value_info("x", F, [2, 3])], [helper.make_tensor_value_info("y", F, [2, 4])], [w, cond])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    res = onnxstat.profile(m)
    assert res.totals.macs == 24 and any(n.path.startswith("if/") for n in res.nodes)

    def flat_if(ctx):
        return ctx.cost(flops=5)

    mine = onnxstat.register_handler("If", override=True)(flat_if)
    res = onnxstat.profile(m, custom_handlers=[mine])
    assert (res.totals.macs, res.totals.flops) == (0, 5)
    assert [n.path for n in res.nodes] == ["if"]
    assert onnxstat.profile(m).totals.macs == 24  # the built-in entry is back
