"""Shape-pass edges: sparse initializers, Range with delta 0, --dim names that match
nothing, data-dependent sizes named and settable, --shape-source auto."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from helpers import assert_error, run_cli

F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, inits=(), sparse=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits), sparse_initializer=list(sparse))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _sparse_matmul():
    # W is a 4x4 sparse initializer holding 3 values at flat positions 0, 5, 10
    vals = numpy_helper.from_array(np.array([1.0, 2.0, 3.0], np.float32), "w")
    idx = numpy_helper.from_array(np.array([0, 5, 10], np.int64), "w_idx")
    return _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                  [helper.make_tensor_value_info("x", F, [2, 4])], [helper.make_tensor_value_info("y", F, None)],
                  sparse=[helper.make_sparse_tensor(vals, idx, [4, 4])])


def test_sparse_initializer_counts_dense_params_and_stored_bytes(tmp_path):
    m = _sparse_matmul()
    path = tmp_path / "sparse.onnx"
    path.write_bytes(m.SerializeToString())
    y = ort.InferenceSession(str(path)).run(None, {"x": np.ones((2, 4), np.float32)})[0]
    assert y.shape == (2, 4)  # onnxruntime runs it
    res = onnxstat.profile(str(path))
    # MatMul [2,4] x [4,4]: 2·4·4 = 32 MACs; params = the dense 4·4 = 16 elements;
    # weight bytes = what is stored: 3 float32 values (12) + 3 int64 indices (24) = 36
    assert (res.totals.macs, res.totals.params, res.totals.weight_bytes) == (32, 16, 36)
    assert res.nodes[0].outputs[0][2] == (2, 4)


def test_range_with_delta_zero_is_an_error_naming_the_node():
    inits = [numpy_helper.from_array(np.array(v, np.int64), n) for v, n in ((0, "a"), (5, "b"), (0, "d"))]
    m = _model([helper.make_node("Range", ["a", "b", "d"], ["r"], name="rng")], [],
               [helper.make_tensor_value_info("r", TensorProto.INT64, None)], inits)
    with pytest.raises(onnxstat.ShapeError, match=r"node 'rng' \(Range\): Range with delta 0"):
        onnxstat.profile(m)


def test_unknown_dim_name_is_an_error_naming_the_dims(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(_model([helper.make_node("Relu", ["x"], ["y"])], [helper.make_tensor_value_info("x", F, ["batch", 4])],
                            [helper.make_tensor_value_info("y", F, None)]).SerializeToString())
    with pytest.raises(onnxstat.UsageError, match=r"dim 'batchx' is no dim of the model \(its dims: batch\)"):
        onnxstat.profile(str(path), dims={"batchx": 2})
    assert_error(run_cli("profile", str(path), "--dim", "batchx=2"), 2, "dim 'batchx' is no dim of the model (its dims: batch)")
    # several models profiled with one set of dims: a warning, not an error
    res = onnxstat.profile(str(path), dims={"batchx": 2}, strict_dims=False)
    assert any("batchx matches no symbolic input dim" in w for w in res.warnings)


def _nonzero_then_matmul():
    # x [3, 4] -> NonZero [2, nnz] -> Cast -> Transpose [nnz, 2] -> MatMul W [2, 8]
    nodes = [helper.make_node("NonZero", ["x"], ["nz"]), helper.make_node("Cast", ["nz"], ["nzf"], to=F),
             helper.make_node("Transpose", ["nzf"], ["t"], perm=[1, 0]), helper.make_node("MatMul", ["t", "W"], ["y"], name="mm")]
    return _model(nodes, [helper.make_tensor_value_info("x", F, [3, 4])], [helper.make_tensor_value_info("y", F, None)],
                  [numpy_helper.from_array(np.ones((2, 8), np.float32), "W")])


def test_data_dependent_size_is_one_name_and_can_be_given():
    res = onnxstat.profile(_nonzero_then_matmul())
    # the NonZero count is one unknown: the MatMul is not counted and the totals say so
    assert not res.totals.complete and res.totals.unresolved_nodes == 1 and res.totals.macs == 0
    assert any("nz[1]" in w for w in res.warnings)
    # given as --dim 'nz[1]=5': MatMul [5, 2] x [2, 8] = 80 MACs, complete
    res5 = onnxstat.profile(_nonzero_then_matmul(), dims={"nz[1]": 5})
    assert res5.totals.complete and res5.totals.macs == 5 * 2 * 8
    d = res5.to_dict()["totals"]
    assert d["complete"] is True and d["unresolved_nodes"] == 0


def test_shape_source_auto_fills_what_the_pass_leaves_unknown(tmp_path):
    path = tmp_path / "nz.onnx"
    path.write_bytes(_nonzero_then_matmul().SerializeToString())
    res = onnxstat.profile(str(path), shape_source="auto")
    # generated inputs are random and non-zero almost surely: nnz = 12 of the 3x4 elements,
    # MatMul [12, 2] x [2, 8] = 192 MACs
    assert res.totals.complete and res.totals.macs == 12 * 2 * 8
    assert any("shape_source auto" in w for w in res.warnings)  # read from Python: the argument's name
    r = run_cli("profile", str(path), "--shape-source", "auto", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["totals"]["macs"] == 192


def test_incomplete_totals_are_said_first_in_the_terminal(tmp_path):
    path = tmp_path / "nz.onnx"
    path.write_bytes(_nonzero_then_matmul().SerializeToString())
    r = run_cli("profile", str(path))
    assert r.exit_code == 0
    first_rows = "\n".join(r.stdout.splitlines()[:12])
    assert "INCOMPLETE" in first_rows and "1 node(s) with unknown shapes" in first_rows


def test_bench_feeds_an_empty_kv_cache(tmp_path):
    import shape_models as sm

    path = tmp_path / "dec.onnx"
    path.write_bytes(sm.decoder_step().SerializeToString())
    # past_key / past_value [1, 4, 0, 16]: zero-size tensors generated and run
    r = run_cli("bench", str(path), "--dim", "past=0", "--dim", "seq=8", "--runs", "3", "--warmup", "1", "--format", "json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["latency_ms"]["mean"] > 0
    shapes = {i["name"]: i["shape"] for i in d["inputs"]}
    assert shapes["past_key"] == [1, 4, 0, 16]


def test_loop_whose_condition_stays_true_runs_to_m():
    # Loop M = 10**18, the condition a constant true handed back unchanged: M iterations of
    # MatMul [1, 4] x [4, 4] = 16 MACs each, counted statically (never run)
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]), helper.make_node("MatMul", ["x", "W"], ["y"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("c_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []), helper.make_tensor_value_info("y", F, [1, 4])])
    inits = [numpy_helper.from_array(np.array(10**18, np.int64), "M"), numpy_helper.from_array(np.array(True), "c"),
             numpy_helper.from_array(np.ones((4, 4), np.float32), "W")]
    m = _model([helper.make_node("Loop", ["M", "c"], ["ys"], body=body)], [helper.make_tensor_value_info("x", F, [1, 4])],
               [helper.make_tensor_value_info("ys", F, None)], inits)
    res = onnxstat.profile(m)
    loop = next(n for n in res.nodes if n.op_type == "Loop")
    assert loop.repeat == 10**18 and res.totals.macs == 16 * 10**18 and res.totals.complete
    assert loop.outputs[0][2] == (10**18, 1, 4)  # the stacked scan output
