"""Whole-model tests of ``onnxstat profile`` against independently known totals."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

import onnxstat
import zoo
from onnxstat.cli import cli

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"


# --------------------------------------------------------------------------- reference architectures

# AlexNet (torchvision) at 1x3x224x224: Conv+Gemm MACs 714,188,480 and 61,100,840 params,
# as thop and ptflops print it (the seeds quote thop's 714.21 M MACs / 61.10 M params).
ALEXNET_MACS = 714_188_480
ALEXNET_PARAMS = 61_100_840
# ResNet-50 (torchvision, BN folded into conv biases by the exporter): 4,089,184,256 MACs.
RESNET50_MACS = 4_089_184_256
# 25,557,032 torchvision params - 2*26,560 BN affine + 26,560 folded conv biases
RESNET50_FOLDED_PARAMS = 25_530_472


def test_alexnet_macs_and_params():
    res = onnxstat.profile(zoo.alexnet())
    assert res.totals.macs == ALEXNET_MACS
    assert res.totals.params == ALEXNET_PARAMS
    assert res.unsupported == []
    # weights are external and absent: still profiles, with a warning naming the file
    assert any("alexnet.weights.bin" in w for w in res.warnings)


def test_alexnet_batch_two_doubles_macs_exactly():
    res = onnxstat.profile(zoo.alexnet(batch=2))
    assert res.totals.macs == 2 * ALEXNET_MACS
    assert res.totals.params == ALEXNET_PARAMS


def test_resnet50_macs():
    res = onnxstat.profile(zoo.resnet50())
    assert res.totals.macs == RESNET50_MACS
    assert res.totals.params == RESNET50_FOLDED_PARAMS
    # dense MACs are all Conv + Gemm
    by = {r.op_type: r.macs for r in res.by_op_type}
    assert by["Conv"] + by["Gemm"] == RESNET50_MACS


# --------------------------------------------------------------------------- sample models


def test_sample_cnn_totals():
    # conv1 3->16 k3 at 64x64: 64*64*16*27 = 1,769,472
    # res block, two 16->16 k3 at 32x32: 2 * 32*32*16*144 = 4,718,592
    # conv2 16->32 k3 s2 -> 16x16: 16*16*32*144 = 1,179,648; fc 32->10 = 320
    # total = 7,668,032 MACs at batch 1, linear in batch
    res = onnxstat.profile(SAMPLES / "cnn.onnx")
    assert res.totals.macs == 7_668_032
    # params: convs 448 + 2*2320 + 4640 = 9728; BN 3 layers * 4 * 16 = 192; fc 330 -> 10,250
    assert res.totals.params == 10_250
    assert res.totals.weight_bytes == 41_000
    assert any("batch=1" in w and "not set, 1 used" in w for w in res.warnings)
    res4 = onnxstat.profile(SAMPLES / "cnn.onnx", dims={"batch": 4})
    assert res4.totals.macs == 4 * 7_668_032
    assert not any("not set, 1 used" in w for w in res4.warnings)


def test_constant_weights_and_external_weights_count_like_initializers():
    base = onnxstat.profile(SAMPLES / "cnn.onnx", dims={"batch": 2}).to_dict()["totals"]
    n_const = sum(1 for n in onnx.load(str(SAMPLES / "cnn_constants.onnx")).graph.node if n.op_type == "Constant")
    for name in ("cnn_constants.onnx", "cnn_external.onnx"):
        other = onnxstat.profile(SAMPLES / name, dims={"batch": 2}).to_dict()["totals"]
        # Constant nodes are listed as (free) nodes; every cost total is identical
        extra = n_const if name == "cnn_constants.onnx" else 0
        assert other.pop("node_count") == base["node_count"] + extra
        assert other == {k: v for k, v in base.items() if k != "node_count"}, name


def test_sample_transformer_quadratic_attention():
    # per block at batch b, seq s, hidden 64, 4 heads of 16, MLP 256:
    # projections q,k,v,o: 4 * s*64*64; MLP: 2 * s*64*256; attention: QK^T and PV 2 * 4*s*s*16
    def macs(b, s):
        return b * (4 * s * 64 * 64 + 2 * s * 64 * 256 + 2 * 4 * s * s * 16)

    for b, s in ((1, 8), (2, 16), (3, 128)):
        res = onnxstat.profile(SAMPLES / "transformer.onnx", dims={"batch": b, "seq": s})
        assert res.totals.macs == macs(b, s), (b, s)
        assert res.unsupported == []
        assert not any(n.error for n in res.nodes)


def test_sample_mlp_and_lstm():
    # MLP: 784*256 + 256*128 + 128*10 = 200704 + 32768 + 1280 = 234,752 MACs
    assert onnxstat.profile(SAMPLES / "mlp.onnx").totals.macs == 234_752
    # LSTM: seq 10, batch 1, input 16, hidden 32: 4*32*(16+32)*10 = 61,440; head 10*32*4 = 1,280
    res = onnxstat.profile(SAMPLES / "lstm.onnx", dims={"seq": 10})
    assert res.totals.macs == 61_440 + 1_280


def test_input_shape_override_and_named_dims():
    res = onnxstat.profile(SAMPLES / "cnn.onnx", input_shapes={"input": "2x3x64x64"})
    assert res.totals.macs == 2 * 7_668_032
    assert res.inputs == [("input", "float32", (2, 3, 64, 64))]


# --------------------------------------------------------------------------- weights


def _model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def test_shared_weight_counted_once():
    # the same 8x8 weight used by two MatMuls: params 64, not 128; MACs 2 * (1*8*8) = 128
    w = numpy_helper.from_array(np.ones((8, 8), np.float32), "w")
    m = _model(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("MatMul", ["h", "w"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w],
    )
    res = onnxstat.profile(m)
    assert res.totals.params == 64
    assert res.totals.weight_bytes == 256
    assert res.totals.macs == 128
    # attributed to the first consumer; the sum over nodes equals the total
    assert [n.params for n in res.nodes] == [64, 0]
    # both reads are real traffic: each node reads x/h (32 B) + w (256 B)
    assert all(n.bytes_read == 32 + 256 for n in res.nodes)


def test_reshape_conflict_names_the_node():
    # Reshape to a fixed 1x48 target, then the input is asked at batch 2 (96 elements)
    shape = numpy_helper.from_array(np.array([1, 48], np.int64), "shape")
    m = _model(
        [helper.make_node("Reshape", ["x", "shape"], ["y"], name="flatten_fixed")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [shape],
    )
    assert onnxstat.profile(m, dims={"b": 1}).nodes[0].outputs[0][2] == (1, 48)
    with pytest.raises(onnxstat.ShapeError, match="flatten_fixed"):
        onnxstat.profile(m, dims={"b": 2})


def test_shape_chain_is_folded():
    # Reshape target computed by Shape -> Gather -> Unsqueeze -> Concat at run time
    idx = numpy_helper.from_array(np.array(0, np.int64), "idx")
    minus1 = numpy_helper.from_array(np.array([-1], np.int64), "m1")
    ax = numpy_helper.from_array(np.array([0], np.int64), "ax")
    m = _model(
        [
            helper.make_node("Shape", ["x"], ["s"]),
            helper.make_node("Gather", ["s", "idx"], ["n"]),
            helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
            helper.make_node("Concat", ["n1", "m1"], ["tgt"], axis=0),
            helper.make_node("Reshape", ["x", "tgt"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["y"]),
        ],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [idx, minus1, ax, numpy_helper.from_array(np.zeros((20, 3), np.float32), "w")],
    )
    res = onnxstat.profile(m, dims={"b": 7})
    mm = [n for n in res.nodes if n.op_type == "MatMul"][0]
    # flat is 7x20; MACs = 7*3*20 = 420
    assert mm.inputs[0][2] == (7, 20)
    assert mm.macs == 420
    # int64 shape constants are not parameters: params = 20*3 = 60
    assert res.totals.params == 60


def test_unsupported_op_is_reported_not_zero():
    m = _model(
        [helper.make_node("MyOp", ["x"], ["y"], domain="custom.domain"), helper.make_node("Relu", ["y"], ["z"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3])],
        [],
    )
    m.opset_import.append(helper.make_opsetid("custom.domain", 1))
    res = onnxstat.profile(m)
    assert res.unsupported == [("custom.domain", "MyOp", 1)]
    assert res.totals.unsupported_nodes == 1
    assert any("unsupported" in w and "MyOp" in w for w in res.warnings)
    d = res.to_dict()
    assert d["unsupported"] == [{"domain": "custom.domain", "op_type": "MyOp", "count": 1}]
    assert d["nodes"][0]["kind"] == "unsupported"


# --------------------------------------------------------------------------- JSON contract and CLI


def test_json_contract_keys_and_exact_integers():
    d = onnxstat.profile(SAMPLES / "cnn.onnx", dims={"batch": 1}).to_dict()
    assert d["schema"] == "onnxstat.profile/1"
    assert set(d["model"]) >= {"path", "ir_version", "opset", "producer"}
    assert d["model"]["opset"] == {"ai.onnx": 17}
    assert d["inputs"] == [{"name": "input", "dtype": "float32", "shape": [1, 3, 64, 64]}]
    for k in ("macs", "flops", "params", "weight_bytes", "bytes_read", "bytes_written", "memory_traffic_bytes"):
        assert isinstance(d["totals"][k], int), k
    assert d["totals"]["memory_traffic_bytes"] == d["totals"]["bytes_read"] + d["totals"]["bytes_written"]
    row = d["by_op_type"][0]
    assert set(row) >= {"domain", "op_type", "count", "macs", "flops", "params", "memory_traffic_bytes"}
    node = d["nodes"][0]
    assert set(node) >= {"name", "domain", "op_type", "compute_dtype", "inputs", "outputs", "macs", "flops",
                         "params", "weight_bytes", "bytes_read", "bytes_written"}
    # totals are the sums of the nodes
    for k in ("macs", "flops", "params", "weight_bytes", "bytes_read", "bytes_written"):
        assert sum(n[k] for n in d["nodes"]) == d["totals"][k], k
    assert sum(r["count"] for r in d["by_op_type"]) == len(d["nodes"])
    assert d["unsupported"] == [] and isinstance(d["warnings"], list)


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_json_to_file(tmp_path):
    out = tmp_path / "cost.json"
    r = run("profile", str(SAMPLES / "cnn.onnx"), "--input-shape", "input=1x3x224x224", "--format", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    # at 224x224 the conv maps are 224², 112², 56²: MACs scale with the spatial area
    # conv1 224*224*16*27 = 21,676,032; block 2*112*112*16*144 = 57,802,752; conv2 56*56*32*144 = 14,450,688; fc 320
    assert d["totals"]["macs"] == 21_676_032 + 57_802_752 + 14_450_688 + 320


def test_cli_formats_carry_unresolved_dim_warning(tmp_path):
    for fmt in ("json", "csv", "markdown", "table"):
        out = tmp_path / f"r.{fmt}"
        r = run("profile", str(SAMPLES / "cnn.onnx"), "--format", fmt, "-o", str(out))
        assert r.exit_code == 0, r.output
        text = out.read_text()
        assert "batch=1" in text and "not set, 1 used" in text, fmt


def test_cli_csv_rows_and_total(tmp_path):
    r = run("profile", str(SAMPLES / "mlp.onnx"), "--format", "csv")
    assert r.exit_code == 0
    rows = list(csv.reader(io.StringIO(r.stdout)))
    header, body = rows[0], [x for x in rows[1:] if x and not x[0].startswith("#")]
    assert header[0] == "path" and "macs" in header
    total = [x for x in body if x[0] == "TOTAL"][0]
    assert int(total[header.index("macs")]) == 234_752


def test_cli_top_sorts_by_macs():
    r = run("profile", str(SAMPLES / "transformer.onnx"), "--dim", "batch=1", "--dim", "seq=8", "--top", "3", "--format", "markdown")
    assert r.exit_code == 0
    assert "Top 3 nodes by MACs" in r.stdout
    section = r.stdout.split("Top 3 nodes by MACs")[1].split("## Unsupported")[0]
    assert section.count("| MatMul |") == 3


def test_cli_table_runs():
    r = run("profile", str(SAMPLES / "lstm.onnx"), "--dim", "seq=4")
    assert r.exit_code == 0
    assert "LSTM" in r.stdout and "MACs" in r.stdout


def test_cli_errors_are_one_line():
    r = CliRunner().invoke(cli, ["profile", "missing.onnx"])
    assert r.exit_code == 2
    assert r.output.strip().startswith("onnxstat: error:") and "missing.onnx" in r.output
    r = CliRunner().invoke(cli, ["profile", str(SAMPLES / "cnn.onnx"), "--input-shape", "nope=1x2"])
    assert r.exit_code == 2 and "nope" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["profile", str(SAMPLES / "cnn.onnx"), "--dim", "batch=zero"])
    assert r.exit_code == 2 and "batch=zero" not in r.output or "zero" in r.output


def test_simplify_reports_before_and_after():
    res = onnxstat.profile(SAMPLES / "transformer.onnx", dims={"batch": 1, "seq": 8}, simplify=True)
    simp = res.extras["simplify"]
    # the Shape/Gather/Unsqueeze/Concat chains fold away: fewer nodes, same MACs
    assert simp["nodes_after"] < simp["nodes_before"]
    assert res.totals.macs == simp["totals_before"]["macs"] == 401_408


def test_simplify_without_weights_says_so():
    res = onnxstat.profile(zoo.alexnet(), simplify=True)
    assert any(w.startswith("simplify skipped") for w in res.warnings)  # read from Python: the argument's name
    assert res.totals.macs == ALEXNET_MACS


def test_ops_command_lists_handlers():
    r = run("ops", "--format", "json")
    ops = json.loads(r.stdout)["ops"]
    keys = {(o["domain"], o["op_type"]) for o in ops}
    assert ("ai.onnx", "Conv") in keys and ("com.microsoft", "MatMulNBits") in keys
    assert all(o["formula"] for o in ops)


def test_model_proto_and_path_agree():
    m = onnx.load(str(SAMPLES / "mlp.onnx"))
    assert onnxstat.profile(m).totals.to_dict() == onnxstat.profile(SAMPLES / "mlp.onnx").totals.to_dict()


def test_contrib_qlinear_add_broadcasts_its_operands():
    # com.microsoft QLinearAdd(A [64] (bias), ..., B [1, 8, 64]) -> [1, 8, 64]; then Reshape to [8, 64]
    u8 = TensorProto.UINT8
    scale = numpy_helper.from_array(np.array(0.1, np.float32), "s")
    zp = numpy_helper.from_array(np.array(128, np.uint8), "z")
    bias = numpy_helper.from_array(np.zeros(64, np.uint8), "bias")
    shape = numpy_helper.from_array(np.array([8, 64], np.int64), "shape")
    nodes = [
        helper.make_node("QLinearAdd", ["bias", "s", "z", "x", "s", "z", "s", "z"], ["y"], domain="com.microsoft"),
        helper.make_node("Reshape", ["y", "shape"], ["r"]),
    ]
    m = _model(nodes, [helper.make_tensor_value_info("x", u8, [1, 8, 64])],
               [helper.make_tensor_value_info("r", u8, None)], [scale, zp, bias, shape])
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    res = onnxstat.profile(m)
    assert res.nodes[0].outputs[0][2] == (1, 8, 64)
    assert res.nodes[1].outputs[0][2] == (8, 64)


def test_cli_profile_with_bench_and_device(tmp_path):
    out = tmp_path / "p.json"
    r = run("profile", str(SAMPLES / "mlp.onnx"), "--bench", "--runs", "5", "--warmup", "1",
            "--peak-tflops", "1", "--bandwidth-gbs", "10", "--format", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["bench"]["schema"] == "onnxstat.bench/1" and d["bench"]["runs"] == 5
    mean_s = d["bench"]["latency_ms"]["mean"] / 1e3
    # efficiency = roofline latency / measured mean latency
    assert d["totals"]["efficiency_pct"] == pytest.approx(100 * d["totals"]["roofline_latency_s"] / mean_s)
    # per-node roofline fields: time = max(FLOPs / 1e12, bytes / 1e10) on the custom device
    n = [x for x in d["nodes"] if x["op_type"] == "Gemm"][0]
    assert n["roofline_time_s"] == pytest.approx(max(n["flops"] / 1e12, n["memory_traffic_bytes"] / 1e10))
    assert n["bound"] == ("compute" if n["flops"] / 1e12 > n["memory_traffic_bytes"] / 1e10 else "memory")


def test_cli_symbolic_json_matches_concrete_profile(tmp_path):
    out = tmp_path / "s.json"
    r = run("profile", str(SAMPLES / "transformer.onnx"), "--symbolic", "--format", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    import sympy

    macs = sympy.sympify(d["totals_symbolic"]["macs"])
    b, s = sympy.symbols("batch seq")
    # 128·b·s² + 49152·b·s (attention QK^T and PV: 2·4 heads·16 = 128; projections and MLP: 49152)
    for bv, sv in ((1, 8), (3, 100)):
        assert int(macs.subs({b: bv, s: sv})) == onnxstat.profile(
            SAMPLES / "transformer.onnx", dims={"batch": bv, "seq": sv}).totals.macs


def test_cli_sweep_rows_and_plot(tmp_path):
    out, png = tmp_path / "sweep.json", tmp_path / "sweep.png"
    r = run("profile", str(SAMPLES / "cnn.onnx"), "--sweep", "batch=1,2,4", "--format", "json", "-o", str(out),
            "--plot", str(png))
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["schema"] == "onnxstat.sweep/1"
    # MACs are linear in batch: 7,668,032 per image
    assert [row["macs"] for row in d["rows"]] == [7_668_032, 2 * 7_668_032, 4 * 7_668_032]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_sweep_with_device_is_a_usage_error():
    r = CliRunner().invoke(cli, ["profile", str(SAMPLES / "cnn.onnx"), "--sweep", "batch=1,2", "--device", "t4"])
    assert r.exit_code == 2 and "--sweep" in r.output


def _sr_model():
    # y = If(sr == 16000, then: MatMul(x, W) [1x8 · 8x8 = 64 MACs], else: Relu(x))
    w = numpy_helper.from_array(np.ones((8, 8), np.float32), "w")
    k = numpy_helper.from_array(np.array(16000, np.int64), "k")
    then = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])
    other = helper.make_graph([helper.make_node("Relu", ["x"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    return _model(
        [helper.make_node("Equal", ["sr", "k"], ["c"]),
         helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8]),
         helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w, k],
    )


def test_input_value_resolves_a_condition():
    m = _sr_model()
    # unknown sr: the costlier branch (MatMul, 64 MACs) is counted, with a warning
    res = onnxstat.profile(m)
    assert res.totals.macs == 64 and any("condition not known statically" in w for w in res.warnings)
    # sr = 16000: the then branch, no warning; sr = 8000: the else branch (Relu, 8 FLOPs, no MACs)
    res = onnxstat.profile(m, input_values={"sr": 16000})
    assert res.totals.macs == 64 and not any("condition" in w for w in res.warnings)
    res = onnxstat.profile(m, input_values={"sr": 8000})
    assert (res.totals.macs, res.totals.flops) == (0, 1 + 8)  # Equal 1 + Relu 8
    assert res.to_dict()["settings"]["input_values"] == {"sr": 8000}


def test_input_value_errors(tmp_path):
    p = tmp_path / "sr.onnx"
    p.write_bytes(_sr_model().SerializeToString())
    r = CliRunner().invoke(cli, ["profile", str(p), "--input-value", "rate=16000"])
    assert r.exit_code == 2 and "'rate', which is not a model input" in r.output
    r = CliRunner().invoke(cli, ["profile", str(p), "--input-value", "sr=fast"])
    assert r.exit_code == 2 and "bad input value 'fast'" in r.output
    r = CliRunner().invoke(cli, ["profile", str(p), "--input-value", "sr=8000", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["totals"]["macs"] == 0
