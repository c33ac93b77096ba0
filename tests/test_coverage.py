"""Operator coverage: every ai.onnx schema is handled or explicitly classified;
``onnxstat ops`` lists them; semantics that changed between opsets are counted
right at both ends; unknown custom domains never crash.

Expected numbers are worked out in the comments.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnx.defs
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from onnxstat.passes.analysis import CONTROL_FLOW
from onnxstat.cli import cli
from op_handlers import REGISTRY
from op_handlers.onnx.data_movement import DATA_MOVEMENT, VIEWS
from onnx_versions import at_opset, needs_opset

F = TensorProto.FLOAT
I64 = TensorProto.INT64


def latest_default_schemas() -> dict[str, onnx.defs.OpSchema]:
    """ai.onnx op name -> its newest schema known to the installed onnx."""
    latest: dict[str, onnx.defs.OpSchema] = {}
    for s in onnx.defs.get_all_schemas_with_history():
        if s.domain not in ("", "ai.onnx"):
            continue
        if s.name not in latest or s.since_version > latest[s.name].since_version:
            latest[s.name] = s
    return latest


def test_schema_list_is_the_full_opset():
    # guard against the walk silently looking at nothing: onnx 1.16+ has well over 180 ai.onnx ops
    schemas = latest_default_schemas()
    assert len(schemas) >= 180
    assert max(s.since_version for s in schemas.values()) <= onnx.defs.onnx_opset_version()


def test_every_default_domain_op_is_handled_or_classified():
    missing, misfiled = [], []
    for name, schema in sorted(latest_default_schemas().items()):
        entry = REGISTRY.lookup("", name, schema.since_version)
        if entry is None:
            if name not in CONTROL_FLOW:
                missing.append(name)
            continue
        if name in CONTROL_FLOW:
            if entry.kind != "control_flow":
                misfiled.append(f"{name}: control flow registered as {entry.kind}")
        elif entry.kind == "data_movement" and name not in DATA_MOVEMENT:
            misfiled.append(f"{name}: data_movement but not in DATA_MOVEMENT")
        elif entry.kind == "view" and name not in VIEWS:
            misfiled.append(f"{name}: view but not in VIEWS")
        elif entry.kind == "compute" and (name in DATA_MOVEMENT or name in VIEWS):
            misfiled.append(f"{name}: listed as data movement but registered as compute")
    assert not missing, f"ai.onnx ops with no handler and no classification: {missing}"
    assert not misfiled, misfiled


def test_control_flow_ops_are_library_control_flow():
    # the analysis walks these itself; each is also listed (kind control_flow) for `onnxstat ops`
    for op in ("If", "Loop", "Scan", "SequenceMap"):
        assert op in CONTROL_FLOW
        assert REGISTRY.kind_of("", op) == "control_flow"


def test_every_handler_has_a_formula():
    empty = [f"{e.domain or 'ai.onnx'}::{e.op_type}" for e in REGISTRY.entries() if not e.formula.strip()]
    assert not empty


def test_ops_command_lists_every_default_domain_schema():
    res = CliRunner().invoke(cli, ["ops", "--format", "json", "--domain", "ai.onnx"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["schema"] == "onnxstat.ops/1"
    listed = {r["op_type"] for r in doc["ops"] if r["domain"] == "ai.onnx"}
    want = set(latest_default_schemas())
    assert not (want - listed), sorted(want - listed)
    kinds = {r["op_type"]: r["kind"] for r in doc["ops"]}
    assert kinds["Loop"] == "control_flow" and kinds["Conv"] == "compute" and kinds["Reshape"] == "view"
    assert all(r["formula"] for r in doc["ops"])


def test_ops_command_markdown_has_a_row_per_entry():
    res = CliRunner().invoke(cli, ["ops", "--format", "markdown"])
    assert res.exit_code == 0
    rows = [line for line in res.output.splitlines() if line.startswith("| ") and not line.startswith("| Domain")]
    assert len(rows) == len(list(REGISTRY.entries()))


# --------------------------------------------------------------------------- one-node models


def profile_one(op, inputs, outputs, attrs=None, *, opset, inits=None, domain="", extra_opsets=()):
    """Profile a one-node model: inputs/outputs are (name, elem_type, shape|None) tuples."""
    node = helper.make_node(op, [i[0] for i in inputs] + [n for n in (inits or {})], [o[0] for o in outputs],
                            domain=domain, **(attrs or {}))
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()],
    )
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    res = onnxstat.profile(model)
    assert not res.unsupported, res.unsupported
    assert not [w for w in res.warnings if "not counted" in w], res.warnings
    return res.nodes[0]


def cost(n):
    return (n.macs, n.flops, n.bytes_read, n.bytes_written)


@pytest.mark.parametrize("opset", [2, 11, 18, at_opset(25)])
def test_pad_attribute_and_input_forms(opset):
    # x (1,3,4,4) f32 = 192 B; pads H, W by 1 each side -> y (1,3,6,6) = 108 el = 432 B
    # data movement: 0 FLOPs; reads only the data input (192 B), writes 432 B
    pads = [0, 0, 1, 1, 0, 0, 1, 1]
    if opset < 11:
        n = profile_one("Pad", [("x", F, [1, 3, 4, 4])], [("y", F, None)], {"pads": pads}, opset=opset)
    else:
        n = profile_one("Pad", [("x", F, [1, 3, 4, 4])], [("y", F, None)], opset=opset,
                        inits={"pads": np.array(pads, np.int64)})
    assert n.outputs[0][2] == (1, 3, 6, 6)
    assert n.kind == "data_movement"
    assert cost(n) == (0, 0, 192, 432)


@pytest.mark.parametrize("opset", [2, 11, 13, 18])
def test_split_attribute_and_input_forms(opset):
    # x (6,4) f32 = 96 B split [2, 4] on axis 0 -> (2,4) + (4,4): reads 96 B, writes 32 + 64 = 96 B
    outs = [("a", F, None), ("b", F, None)]
    if opset < 13:
        n = profile_one("Split", [("x", F, [6, 4])], outs, {"axis": 0, "split": [2, 4]}, opset=opset)
    else:
        n = profile_one("Split", [("x", F, [6, 4])], outs, {"axis": 0}, opset=opset,
                        inits={"split": np.array([2, 4], np.int64)})
    assert [o[2] for o in n.outputs] == [(2, 4), (4, 4)]
    assert cost(n) == (0, 0, 96, 96)


@pytest.mark.parametrize("opset", [11, 13, at_opset(25)])
def test_squeeze_attribute_and_input_forms(opset):
    # a view: (1,3,1,4) -> (3,4) with no FLOPs and no traffic
    if opset < 13:
        n = profile_one("Squeeze", [("x", F, [1, 3, 1, 4])], [("y", F, None)], {"axes": [0, 2]}, opset=opset)
    else:
        n = profile_one("Squeeze", [("x", F, [1, 3, 1, 4])], [("y", F, None)], opset=opset,
                        inits={"axes": np.array([0, 2], np.int64)})
    assert n.outputs[0][2] == (3, 4)
    assert n.kind == "view" and cost(n) == (0, 0, 0, 0)


@pytest.mark.parametrize("op, opset, axes_input, flops", [
    # x (2,3,4) = 24 el reduced over axis 1 -> (2,4) = 8 el
    ("ReduceSum", 11, False, 24),  # numel(X)
    ("ReduceSum", 13, True, 24),
    ("ReduceMean", 13, False, 24 + 8),  # numel(X) + numel(Y) for the division
    ("ReduceMean", 18, True, 24 + 8),
])
def test_reduce_axes_attribute_and_input_forms(op, opset, axes_input, flops):
    # reads only the data (24·4 = 96 B), not the axes; writes 8·4 = 32 B
    if axes_input:
        n = profile_one(op, [("x", F, [2, 3, 4])], [("y", F, None)], {"keepdims": 0}, opset=opset,
                        inits={"axes": np.array([1], np.int64)})
    else:
        n = profile_one(op, [("x", F, [2, 3, 4])], [("y", F, None)], {"axes": [1], "keepdims": 0}, opset=opset)
    assert n.outputs[0][2] == (2, 4)
    assert cost(n) == (0, flops, 96, 32)


@pytest.mark.parametrize("op, opset, mode, flops", [
    # x (1,1,4,4) upsampled 2x in H and W -> (1,1,8,8) = 64 el; r = 2 resized dims
    # linear: 2^2 − 1 = 3 lerps · 3 FLOPs = 9 per element -> 576; nearest: a copy, 0
    ("Upsample", 7, "linear", 576),
    ("Upsample", 9, "linear", 576),
    ("Upsample", 9, "nearest", 0),
    ("Resize", 10, "linear", 576),
    ("Resize", 13, "linear", 576),
    ("Resize", 19, "cubic", 64 * 7 * 5),  # (4^2 − 1)/3 = 5 cubic interps · 7 = 35 per element -> 2240
    ("Resize", 19, "nearest", 0),
])
def test_resize_and_upsample_versions(op, opset, mode, flops):
    # reads X only (64 B: scales/roi are control inputs); writes 64·4 = 256 B
    scales = np.array([1, 1, 2, 2], np.float32)
    if op == "Upsample" and opset < 9:
        n = profile_one(op, [("x", F, [1, 1, 4, 4])], [("y", F, None)], {"mode": mode, "scales": [1.0, 1.0, 2.0, 2.0]}, opset=opset)
    elif opset < 11:
        n = profile_one(op, [("x", F, [1, 1, 4, 4])], [("y", F, None)], {"mode": mode}, opset=opset, inits={"scales": scales})
    else:
        n = profile_one(op, [("x", F, [1, 1, 4, 4])], [("y", F, None)], {"mode": mode}, opset=opset,
                        inits={"roi": np.array([], np.float32), "scales": scales})
    assert n.outputs[0][2] == (1, 1, 8, 8)
    assert cost(n) == (0, flops, 64, 256)


@pytest.mark.parametrize("opset, causal, flops", [
    # Q (1,2,4,8), K, V (1,2,6,8): scores 1·2·4·6 = 48; MACs = 48·(8 + 8) = 768
    # FLOPs = 2·768 + 48·(scale 1 + softmax 5) = 1824; causal mask + 48 -> 1872
    at_opset(23, 0, 1824),
    at_opset(24, 0, 1824),
    at_opset(24, 1, 1872),
])
def test_attention_recent_opsets(opset, causal, flops):
    # read (64 + 96 + 96)·4 = 1024 B; written Y (1,2,4,8) = 256 B
    n = profile_one("Attention", [("q", F, [1, 2, 4, 8]), ("k", F, [1, 2, 6, 8]), ("v", F, [1, 2, 6, 8])],
                    [("y", F, None)], {"is_causal": causal}, opset=opset)
    assert n.outputs[0][2] == (1, 2, 4, 8)
    assert cost(n) == (768, flops, 1024, 256)


@needs_opset(23)
def test_rms_normalization_opset23():
    # x (2,8) = 16 el, scale (8) initializer: 4 FLOPs per element = 64; params 8 (32 B)
    # read 64 + 32 = 96; written 64
    n = profile_one("RMSNormalization", [("x", F, [2, 8])], [("y", F, None)], opset=23,
                    inits={"scale": np.ones(8, np.float32)})
    assert cost(n) == (0, 64, 96, 64)
    assert n.params == 8


@needs_opset(28)
def test_swiglu_opset28_in_a_model():
    # A, B (2,16): 32 el · 6 FLOPs = 192; read 256 B; written 128 B
    n = profile_one("SwiGLU", [("a", F, [2, 16]), ("b", F, [2, 16])], [("y", F, None)], opset=28)
    assert n.outputs[0][2] == (2, 16)
    assert cost(n) == (0, 192, 256, 128)


# --------------------------------------------------------------------------- unknown custom domains


def _custom_model(declare_shape: bool, inside_if: bool = False):
    """x (1,4) -> my.custom::Mystery -> m -> MatMul with W (4,3) -> y."""
    mystery = helper.make_node("Mystery", ["x"], ["m"], domain="my.custom", flavour="strange")
    mm = helper.make_node("MatMul", ["m", "W"], ["y"])
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "W")
    vi = [helper.make_tensor_value_info("m", F, [1, 4])] if declare_shape else []
    if not inside_if:
        graph = helper.make_graph([mystery, mm], "g", [helper.make_tensor_value_info("x", F, [1, 4])],
                                  [helper.make_tensor_value_info("y", F, None)], [w], value_info=vi)
    else:
        branch = helper.make_graph([mystery], "then", [], [helper.make_tensor_value_info("m", F, [1, 4])])
        other = helper.make_graph([helper.make_node("Identity", ["x"], ["m2"])], "else", [],
                                  [helper.make_tensor_value_info("m2", F, [1, 4])])
        cond = numpy_helper.from_array(np.array(True), "cond")
        iff = helper.make_node("If", ["cond"], ["m"], then_branch=branch, else_branch=other)
        graph = helper.make_graph([iff, mm], "g", [helper.make_tensor_value_info("x", F, [1, 4])],
                                  [helper.make_tensor_value_info("y", F, None)], [w, cond])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.custom", 1)])
    model.ir_version = 8
    return model


def test_unknown_custom_op_with_declared_shape():
    res = onnxstat.profile(_custom_model(declare_shape=True))
    mystery, mm = res.nodes
    assert mystery.kind == "unsupported" and mystery.domain == "my.custom"
    assert mystery.outputs[0][2] == (1, 4)  # from the declared value_info
    assert (mystery.macs, mystery.flops) == (0, 0)
    assert mystery.bytes_read == 16 and mystery.bytes_written == 16  # traffic still counted: (1,4) f32 in and out
    # the MatMul after it is counted: MACs = numel(Y)·K = 3·4 = 12
    assert (mm.macs, mm.flops) == (12, 24)
    assert res.unsupported == [("my.custom", "Mystery", 1)]
    assert any("unsupported ops" in w and "my.custom::Mystery" in w for w in res.warnings)
    assert res.totals.unsupported_nodes == 1


def test_unknown_custom_op_without_shape_never_crashes():
    res = onnxstat.profile(_custom_model(declare_shape=False))
    mystery, mm = res.nodes
    assert mystery.kind == "unsupported"
    assert res.unsupported == [("my.custom", "Mystery", 1)]
    assert mystery.outputs[0][2] is None
    # the consumer cannot be counted without the shape; that is a warning naming it, not an exception
    assert mm.macs == 0 and mm.error and "shape" in mm.error
    assert any("MatMul_1" in w and "not counted" in w for w in res.warnings)
    json.dumps(res.to_dict())


def test_unknown_custom_op_inside_a_branch():
    # cond is a constant True: the then-branch (with the custom op) is the one counted
    res = onnxstat.profile(_custom_model(declare_shape=False, inside_if=True))
    paths = [n.path for n in res.nodes]
    assert paths == ["If_0", "If_0/then_branch/Mystery_0", "MatMul_1"]
    assert res.unsupported == [("my.custom", "Mystery", 1)]
    # the branch output's shape comes from the If's declared branch output: MatMul counted, 3·4 = 12 MACs
    assert res.nodes[2].macs == 12


def test_custom_domain_cli_exit_zero(tmp_path):
    path = tmp_path / "custom.onnx"
    onnx.save(_custom_model(declare_shape=True), path)
    out = tmp_path / "report.json"
    res = CliRunner().invoke(cli, ["profile", str(path), "--format", "json", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "my.custom::Mystery" in res.output  # the warning line
    doc = json.loads(out.read_text())
    assert doc["unsupported"] == [{"domain": "my.custom", "op_type": "Mystery", "count": 1}]


def test_every_registered_op_is_documented():
    # docs/conventions.md gives the formula of every handler: each registered op type is named there
    import re
    from pathlib import Path

    import op_handlers

    doc = (Path(__file__).resolve().parent.parent / "docs" / "conventions.md").read_text()
    missing = sorted({e.op_type for e in op_handlers.REGISTRY.entries()
                      if not re.search(r"\b" + re.escape(e.op_type) + r"\b", doc)})
    assert not missing, missing
