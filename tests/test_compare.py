"""`onnxstat compare` and the precision twins in sample_models/.

Every expected number is worked out in the comments from the networks in
sample_models/build.py and the quantised files' initializers (listed in
sample_models/README.md), never by running the code under test twice.

Byte sizes: float32/int32 4, float16 2, int8/uint8 1.  Conventions
(docs/conventions.md): a quantised weight is a parameter with its
stored dtype; scales and zero points of constant weights and of Quantize/
DequantizeLinear nodes count in weight bytes, not in params; scales/zero points of
activations consumed by QLinear ops are not weights at all.

CNN at batch 1 (BatchNormalization folded into the Conv in the int8 twins):
  conv1        16·3·3·3 ·64·64 = 1,769,472 MACs   weight 432  bias 16
  block.conv1  16·16·3·3·32·32 = 2,359,296        weight 2304 bias 16
  block.conv2  16·16·3·3·32·32 = 2,359,296        weight 2304 bias 16
  conv2        32·16·3·3·16·16 = 1,179,648        weight 4608 bias 32
  fc           10·32           =       320        weight 320  bias 10
  total                          7,668,032 MACs;  weights 9968, biases 90
  fp32 params 9968 + 90 + 3 BN × 4 × 16 (192) = 10,250 -> 41,000 bytes

Transformer at batch 1, seq 8 (d_model 64, 4 heads × 16, MLP 256):
  q, k, v, out projections 4 × 8·64·64 = 131,072 MACs, weights 4 × 4096
  fc1 8·64·256 = 131,072, weights 16384; fc2 8·256·64 = 131,072, weights 16384
  QK^T 4 heads · 8·8 outputs · K 16 = 4096; PV 4·8·16 outputs · K 8 = 4096
  total 393,216 + 8,192 = 401,408 MACs; weights 49,152
  fp32 params: 49,152 + biases 4·64 + 256 + 64 = 576 + LayerNorm 2·2·64 = 256
  + 4 float scalar Constants (1/sqrt scale, sqrt(2), 1.0, 0.5) = 49,988 -> 199,952 bytes
"""

from __future__ import annotations

import csv
import io
import json
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from onnxstat.cli import cli
from onnxstat.errors import ShapeError, UsageError
from onnxstat.multi.compare import Comparison, compare, family, ratio, render_text

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
CNN_DIMS = {"batch": 1}
TF_DIMS = {"batch": 1, "seq": 8}

CNN_MACS = 1769472 + 2 * 2359296 + 1179648 + 320
TF_MACS = 4 * 8 * 64 * 64 + 8 * 64 * 256 + 8 * 256 * 64 + 4 * 8 * 8 * 16 + 4 * 8 * 16 * 8
CNN_FP32_BYTES = 10250 * 4
# 49,984 params (0-d literals excluded) + 4 float32 0-d literals stored = 49,988 stored floats
TF_FP32_BYTES = 49988 * 4


def test_arithmetic_of_the_module_docstring():
    assert CNN_MACS == 7668032
    assert TF_MACS == 401408
    assert 432 + 2304 + 2304 + 4608 + 320 == 9968
    assert 4 * 4096 + 2 * 16384 == 49152
    assert 49152 + 576 + 256 + 4 == 49988


def S(name: str) -> str:
    return str(SAMPLES / name)


@pytest.fixture(scope="module")
def cnn_cmp() -> Comparison:
    return compare(
        [S("cnn.onnx"), S("cnn_fp16.onnx"), S("cnn_int8_dynamic.onnx"), S("cnn_int8_qoperator.onnx"), S("cnn_int8_qdq.onnx")],
        dims=CNN_DIMS,
    )


@pytest.fixture(scope="module")
def tf_cmp() -> Comparison:
    return compare(
        [S("transformer.onnx"), S("transformer_fp16.onnx"), S("transformer_int8_dynamic.onnx"), S("transformer_int8_qdq.onnx")],
        dims=TF_DIMS,
    )


def entry(cmp: Comparison, label: str):
    return next(m for m in cmp.models if m.label == label)


# --------------------------------------------------------------------------- CNN twins


def test_cnn_macs_equal_across_twins(cnn_cmp):
    for m in cnn_cmp.models:
        assert m.totals.macs == CNN_MACS, m.label
    assert cnn_cmp.ratios()["macs"] == [1.0] * 5


def test_cnn_fp16(cnn_cmp):
    t = entry(cnn_cmp, "cnn_fp16").totals
    # same 10,250 params in float16: 20,500 bytes, exactly half
    assert t.params_by_dtype == {"float16": 10250}
    assert t.weight_bytes == 20500
    assert t.macs_by_precision == {"float16": CNN_MACS}
    assert cnn_cmp.ratios()["weight_bytes"][1] == 0.5


def test_cnn_qdq(cnn_cmp):
    m = entry(cnn_cmp, "cnn_int8_qdq")
    t = m.totals
    # every Conv/Gemm has int8 inputs from DequantizeLinear: all MACs int8
    assert t.macs_by_precision == {"int8": CNN_MACS}
    assert t.low_precision_mac_share == 1.0
    # params: int8 weights 9968, int32 biases 90; scales/zero points 0 params
    assert t.params_by_dtype == {"int8": 9968, "int32": 90, "float32": 0}
    # weight bytes: 9968 (int8 weights) + 90·4 = 360 (int32 biases)
    # + 5 weights × (float32 scale 4 + int8 zp 1) = 25
    # + 5 biases × (float32 scale 4 + int32 zp 4) = 40
    # + 8 activation Q/DQ pairs (input, relu1_out shared by pool1, block.relu1_out,
    #   block.bn2_out, block.relu2_out, relu2_out, gap_out shared by flatten, logits)
    #   × (float32 scale 4 + int8 zp 1) = 40
    # = 9968 + 360 + 25 + 40 + 40 = 10,433
    assert t.weight_bytes == 10433
    r = 10433 / 41000  # 0.25446
    assert cnn_cmp.ratios()["weight_bytes"][4] == pytest.approx(r)
    assert 0.25 <= r <= 0.30


def test_cnn_qdq_overhead(cnn_cmp):
    q = entry(cnn_cmp, "cnn_int8_qdq").qdq
    # 10 QuantizeLinear + 20 DequantizeLinear (10 activations, 5 weights, 5 biases)
    assert q["count"] == 30
    # activations quantised and dequantised, numel at batch 1:
    #   input 3·64·64 = 12288, relu1_out 16·64·64 = 65536, pool1_out / block.relu1_out /
    #   block.bn2_out / block.relu2_out 16·32·32 = 16384 each, relu2_out 32·16·16 = 8192,
    #   gap_out 32, flatten_out 32, logits 10  -> sum 151,626
    # Q 4·151626 = 606,504; DQ 2·151626 = 303,252; weight DQ 2·9968 = 19,936;
    # bias DQ 2·90 = 180  -> 606504 + 303252 + 19936 + 180 = 929,872
    assert q["flops"] == 929872
    assert entry(cnn_cmp, "cnn").qdq == {"count": 0, "flops": 0, "memory_traffic_bytes": 0}


def test_cnn_qoperator(cnn_cmp):
    t = entry(cnn_cmp, "cnn_int8_qoperator").totals
    # QLinearConv / QGemm with uint8 activations
    assert t.macs_by_precision == {"uint8": CNN_MACS}
    assert t.low_precision_mac_share == 1.0
    assert t.params_by_dtype == {"int8": 9968, "int32": 90, "float32": 0, "uint8": 0}
    # 9968 + 360 (int32 biases; QLinearConv biases carry no scale of their own)
    # + 5 weights × (4 + 1) = 25 + QuantizeLinear(input) and DequantizeLinear(logits)
    # scale 4 + uint8 zp 1 each = 10  -> 10,363
    assert t.weight_bytes == 10363
    assert 0.25 <= 10363 / 41000 <= 0.30  # 0.25276


def test_cnn_dynamic_macs_and_share(cnn_cmp):
    t = entry(cnn_cmp, "cnn_int8_dynamic").totals
    # ConvInteger / MatMulInteger take the uint8 activation from DynamicQuantizeLinear
    assert t.macs_by_precision == {"uint8": CNN_MACS}
    assert t.low_precision_mac_share == 1.0
    assert t.params_by_dtype["int8"] == 9968
    assert entry(cnn_cmp, "cnn_int8_dynamic").qdq["count"] == 5  # one DynamicQuantizeLinear per Conv/Gemm


def test_cnn_dynamic_weight_bytes(cnn_cmp):
    t = entry(cnn_cmp, "cnn_int8_dynamic").totals
    # params: int8 weights 9968; float32 biases 90 (biases stay float in dynamic mode)
    # the 5 0-d weight scales the dynamic quantiser multiplies into the activation scale
    # with a plain Mul are stored literals: weight bytes, not parameters -> float32 90
    assert t.params_by_dtype == {"int8": 9968, "float32": 90}
    # weight bytes: 9968 + 5 int8 zero points 5 + 5 float32 scales 20 + 90·4 = 360 -> 10,353
    assert t.weight_bytes == 10353
    assert 0.25 <= 10353 / 41000 <= 0.30  # 0.25251


def test_cnn_per_op_type_rows(cnn_cmp):
    rows = dict(cnn_cmp.op_rows())
    conv = rows["Conv"]
    assert [c.count for c in conv] == [4, 4, 4, 4, 4]
    assert [dict(c.op_types) for c in conv] == [
        {"Conv": 4}, {"Conv": 4}, {"ConvInteger": 4}, {"QLinearConv": 4}, {"Conv": 4}]
    assert [dict(c.precision) for c in conv] == [
        {"float32": 4}, {"float16": 4}, {"uint8": 4}, {"uint8": 4}, {"int8": 4}]
    # conv MACs = 7,668,032 - 320 (fc) = 7,667,712 in every twin
    assert [c.macs for c in conv] == [7667712] * 5
    # BatchNormalization exists only where it was not folded (fp32, fp16)
    assert [c is not None for c in rows["BatchNormalization"]] == [True, True, False, False, False]
    # Gemm became MatMulInteger (+ Add) in the dynamic twin: same row
    assert [dict(c.op_types) for c in rows["MatMul/Gemm"]] == [
        {"Gemm": 1}, {"Gemm": 1}, {"MatMulInteger": 1}, {"QGemm": 1}, {"Gemm": 1}]


def test_structure_note(cnn_cmp):
    assert not cnn_cmp.same_structure
    assert "differ" in cnn_cmp.structure_note
    same = compare([S("cnn.onnx"), S("cnn_external.onnx")], dims=CNN_DIMS)
    assert same.same_structure
    assert same.structure_note.startswith("same graph structure")
    assert same.ratios()["weight_bytes"] == [1.0, 1.0]


# --------------------------------------------------------------------------- transformer twins


def test_transformer_macs_equal(tf_cmp):
    for m in tf_cmp.models:
        assert m.totals.macs == TF_MACS, m.label


def test_transformer_fp16(tf_cmp):
    t = entry(tf_cmp, "transformer_fp16").totals
    # 49,984 parameters; the 4 0-d literals (√16, √2, 1.0, 0.5) are stored but not parameters
    assert t.params_by_dtype == {"float16": 49984}
    assert t.weight_bytes == 49988 * 2  # 99,976
    assert t.macs_by_precision == {"float16": TF_MACS}


def test_transformer_dynamic(tf_cmp):
    t = entry(tf_cmp, "transformer_int8_dynamic").totals
    # quantize_dynamic quantises the 6 weight MatMuls; QK^T and PV (activation x
    # activation) stay float: 8,192 float32 MACs, 393,216 uint8 MACs
    assert t.macs_by_precision == {"uint8": 393216, "float32": 8192}
    # share = 393216 / 401408 = 0.979592 >= 0.95
    assert t.low_precision_mac_share == pytest.approx(393216 / 401408)
    assert t.low_precision_mac_share >= 0.95
    # weight bytes: int8 weights 49,152 + 6 int8 zp 6 + 6 float32 scales 24
    # + float32 biases 576·4 = 2304 + LayerNorm 256·4 = 1024 + 4 scalar constants 16 = 52,526
    assert t.weight_bytes == 52526
    assert 0.25 <= 52526 / TF_FP32_BYTES <= 0.30  # 0.26269


def test_transformer_qdq(tf_cmp):
    t = entry(tf_cmp, "transformer_int8_qdq").totals
    # all 8 MatMuls (projections and attention) sit between Q/DQ pairs: all int8
    assert t.macs_by_precision == {"int8": TF_MACS}
    # int8 data: weights 49,152 + linear biases 576 (operands of Add, quantised like
    # activations) + LayerNorm scales 128 = 49,856 (the 0-d GELU constants 1.0 and 0.5 are
    # stored literals, not parameters); int32: LayerNorm biases 128; the two float32 0-d
    # Div constants are literals too (float32: 0)
    assert t.params_by_dtype == {"int8": 49856, "int32": 128, "float32": 0}
    # weight bytes: 49,858 + 128·4 = 512 + 2·4 = 8
    # + 16 int8 constant tensors (6 weights, 6 biases, 2 LN scales, 2 GELU constants)
    #   × (scale 4 + zp 1) = 80
    # + 2 LN biases × (scale 4 + int32 zp 4) = 16
    # + 25 activation Q/DQ pairs × (4 + 1) = 125   (x, ln1_out, q/k/v MatMul_out 3,
    #   q/k/v Add_out 3, qk_matmul_out, scale_out, softmax_out, pv_matmul_out,
    #   out_proj MatMul_out and Add_out, residual1_out, ln2_out, fc1 MatMul_out and
    #   Add_out, gelu erf/add/mul/half outputs 4, fc2 MatMul_out and Add_out, y)
    # = 49858 + 512 + 8 + 80 + 16 + 125 = 50,599
    assert t.weight_bytes == 50599
    assert 0.25 <= 50599 / TF_FP32_BYTES <= 0.30  # 0.25306


def test_transformer_qoperator():
    res = compare([S("transformer.onnx"), S("transformer_int8_qoperator.onnx")], dims=TF_DIMS)
    t = res.models[1].totals
    assert t.macs == TF_MACS
    # all 8 MatMuls are QLinearMatMul with uint8 activations
    assert t.macs_by_precision == {"uint8": TF_MACS}
    # params: int8 weights 49,152; uint8 linear biases 576 (QLinearAdd operands; the 0-d
    # GELU constants 1.0, 0.5 are literals); float32 LayerNorm 256 (LN stays float in
    # QOperator; the 2 0-d Div constants are literals)
    assert t.params_by_dtype == {"int8": 49152, "uint8": 576, "float32": 256}
    # weight bytes: 49,152 + 6 weights × (4 + 1) = 30 + 578 + 8 uint8 constants × (4 + 1)
    # = 40 + 258·4 = 1032 + 9 Quantize/DequantizeLinear scale/zp pairs (QuantizeLinear of x,
    # ln1_out, scale_out, ln2_out, erf_out; DequantizeLinear of qk_matmul_out, residual1_out,
    # fc1.Add_out, y) × (4 + 1) = 45  -> 49152 + 30 + 578 + 40 + 1032 + 45 = 50,877
    assert t.weight_bytes == 50877
    assert 0.25 <= 50877 / TF_FP32_BYTES <= 0.30  # 0.25445


# --------------------------------------------------------------------------- library details


def test_family_and_ratio():
    assert family("QLinearConv") == "Conv" and family("ConvInteger") == "Conv"
    assert family("MatMulNBits") == "MatMul/Gemm" and family("Gemm") == "MatMul/Gemm"
    assert family("DynamicQuantizeLSTM") == "LSTM"
    assert family("Relu") == "Relu"
    assert ratio(1, 4) == 0.25
    assert ratio(3, 0) is None and ratio(None, 2) is None and ratio("n", 2) is None


def test_needs_two_models():
    with pytest.raises(UsageError, match="at least two"):
        compare([S("cnn.onnx")])
    with pytest.raises(UsageError, match="labels"):
        compare([S("cnn.onnx"), S("cnn_fp16.onnx")], labels=["a"])


def test_labels_disambiguate_same_names(tmp_path):
    import shutil

    (tmp_path / "a").mkdir()
    shutil.copy(SAMPLES / "mlp.onnx", tmp_path / "a" / "mlp.onnx")
    res = compare([S("mlp.onnx"), str(tmp_path / "a" / "mlp.onnx")])
    labels = [m.label for m in res.models]
    assert len(set(labels)) == 2 and all(lab.endswith("mlp.onnx") for lab in labels)


def test_input_shape_mismatch_is_reported():
    res = compare([S("cnn.onnx"), S("mlp.onnx")], dims=CNN_DIMS)
    assert any("input shapes" in w and "not comparable" in w for w in res.warnings)


# --------------------------------------------------------------------------- formats


def test_json_contract(cnn_cmp):
    d = json.loads(render_text(cnn_cmp, "json"))
    assert d["schema"] == "onnxstat.compare/1"
    assert d["baseline"] == "cnn"
    assert [m["label"] for m in d["models"]] == ["cnn", "cnn_fp16", "cnn_int8_dynamic", "cnn_int8_qoperator", "cnn_int8_qdq"]
    assert all(m["totals"]["macs"] == CNN_MACS for m in d["models"])
    assert d["models"][4]["totals"]["macs_by_precision"] == {"int8": CNN_MACS}
    assert d["models"][4]["qdq_overhead"]["flops"] == 929872
    assert d["models"][0]["bench"] is None
    assert d["ratios"]["macs"] == [1.0] * 5
    assert d["ratios"]["weight_bytes"][1] == 0.5
    assert "latency_p50_ms" not in d["ratios"]
    conv = next(r for r in d["by_op_type"] if r["op_type"] == "Conv")
    assert conv["models"][2]["op_types"] == {"ConvInteger": 4}
    assert conv["models"][2]["macs_by_precision"] == {"uint8": 7667712}
    bn = next(r for r in d["by_op_type"] if r["op_type"] == "BatchNormalization")
    assert bn["models"][2] is None
    assert d["structure"]["same"] is False
    assert d["structure"]["node_counts"][0] == 16  # cnn.onnx has 16 nodes


def test_csv(cnn_cmp):
    rows = [r for r in csv.reader(io.StringIO(render_text(cnn_cmp, "csv"))) if r and not r[0].startswith("#")]
    assert rows[0][:3] == ["section", "key", "metric"] and len(rows[0]) == 8
    macs = next(r for r in rows if r[:3] == ["totals", "", "macs"])
    assert macs[3:] == [str(CNN_MACS)] * 5
    wb = next(r for r in rows if r[:3] == ["totals", "", "weight_bytes"])
    assert wb[3] == "41000" and wb[4] == "20500" and wb[7] == "10433"
    int8 = next(r for r in rows if r[:3] == ["totals", "int8", "macs_by_precision"])
    assert int8[3:] == ["0", "0", "0", "0", str(CNN_MACS)]
    conv_prec = next(r for r in rows if r[:3] == ["op_type", "Conv", "precision"])
    assert conv_prec[3:] == ["float32", "float16", "uint8", "uint8", "int8"]


def test_markdown_and_table(cnn_cmp):
    md = render_text(cnn_cmp, "markdown")
    assert "| Metric | cnn | cnn_fp16 | cnn_int8_dynamic | cnn_int8_qoperator | cnn_int8_qdq |" in md
    assert "| Low-precision MAC share | 0.0% | 0.0% | 100.0% | 100.0% | 100.0% |" in md
    assert "4 x ConvInteger, 7.67 M MACs, uint8" in md
    assert "Graph structures differ" in md
    table = render_text(cnn_cmp, "table", width=250)
    assert "Low-precision MAC share" in table and "cnn_int8_qdq" in table
    assert "4 x QLinearConv, 7.67 M MACs, uint8" in table


# --------------------------------------------------------------------------- bench


def fake_bench_module(latencies: dict[str, float]):
    mod = types.ModuleType("onnxstat.runtime.bench")

    class R:
        def __init__(self, p50):
            self.p50, self.mean = p50 if not isinstance(p50, tuple) else p50[0], p50 if not isinstance(p50, tuple) else p50[1]

        def to_dict(self):  # fps from the mean latency, as bench computes it
            return {"latency_ms": {"p50": self.p50, "p90": 1.5 * self.p50, "mean": self.mean}, "fps": 1000.0 / self.mean}

    def bench(model, input_shapes=None, dims=None, *, runs=100, warmup=10):
        bench.calls.append((Path(str(model)).name, runs, warmup))
        return R(latencies[Path(str(model)).name])

    bench.calls = []
    mod.bench = bench
    return mod


def test_bench_ratios_and_speedup(monkeypatch):
    # (p50, mean) in ms: the means differ from the medians, so the definition shows
    mod = fake_bench_module({"cnn.onnx": (2.0, 2.4), "cnn_int8_qdq.onnx": (0.5, 0.8)})
    monkeypatch.setitem(sys.modules, "onnxstat.runtime.bench", mod)
    res = compare([S("cnn.onnx"), S("cnn_int8_qdq.onnx")], dims=CNN_DIMS, bench=True, runs=7, warmup=2)
    assert mod.bench.calls == [("cnn.onnx", 7, 2), ("cnn_int8_qdq.onnx", 7, 2)]
    r = res.ratios()
    # p50 2.0 -> 0.5 ms: latency ratio 0.25; speedup = baseline mean / model mean = 2.4 / 0.8 = 3;
    # fps 1000/2.4 -> 1000/0.8: x3, the same number
    assert r["latency_p50_ms"] == [1.0, 0.25]
    assert r["latency_p90_ms"] == [1.0, 0.25]
    assert r["speedup"] == pytest.approx([1.0, 3.0])
    assert r["fps"] == pytest.approx([1.0, 3.0])
    d = res.to_dict()
    assert d["models"][1]["bench"]["latency_ms"]["p50"] == 0.5
    md = render_text(res, "markdown")
    assert "| Speedup (baseline mean / mean) | 1.00× | 3.00× |" in md


def test_bench_unavailable_is_a_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxstat.runtime.bench", None)  # import raises ImportError
    with pytest.raises(UsageError, match="bench"):
        compare([S("cnn.onnx"), S("cnn_int8_qdq.onnx")], dims=CNN_DIMS, bench=True)


def test_bench_real():
    pytest.importorskip("onnxstat.runtime.bench")
    res = compare([S("cnn.onnx"), S("cnn_int8_qdq.onnx")], dims=CNN_DIMS, bench=True, runs=3, warmup=1)
    for m in res.models:
        lat = m.bench["latency_ms"]
        assert lat["p50"] > 0 and lat["p90"] >= lat["p50"]
        assert m.bench["fps"] > 0
    sp = res.ratios()["speedup"]
    assert sp[0] == 1.0 and sp[1] > 0


# --------------------------------------------------------------------------- CLI


def run(*args):
    return CliRunner().invoke(cli, ["compare", *args])


def test_cli_json_to_file(tmp_path):
    out = tmp_path / "cmp.json"
    r = run(S("cnn.onnx"), S("cnn_int8_qdq.onnx"), "--dim", "batch=1", "--format", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["schema"] == "onnxstat.compare/1"
    assert d["ratios"]["macs"] == [1.0, 1.0]
    # weight bytes 10433 / 41000
    assert d["ratios"]["weight_bytes"][1] == pytest.approx(10433 / 41000)


def test_cli_table_stdout():
    r = run(S("cnn.onnx"), S("cnn_fp16.onnx"), "--dim", "batch=1")
    assert r.exit_code == 0, r.output
    assert "Baseline" in r.output and "cnn_fp16" in r.output


@pytest.mark.parametrize("args, code, msg", [
    ((S("cnn.onnx"),), 2, "at least two"),
    ((S("cnn.onnx"), "missing.onnx"), 2, "missing.onnx: no such file"),
    ((S("cnn.onnx"), S("cnn_fp16.onnx"), "--dim", "batch=zero"), 2, "'zero'"),
    ((S("cnn.onnx"), S("cnn_fp16.onnx"), "--runs", "3"), 2, "--bench"),
    ((S("cnn.onnx"), S("cnn_fp16.onnx"), "-o", "/nonexistent/dir/x.json"), 2, "does not exist"),
])
def test_cli_errors_are_one_line(args, code, msg):
    r = run(*args)
    assert r.exit_code == code, r.output
    err = r.stderr.strip()
    assert err.startswith("onnxstat: error:") and msg in err and "\n" not in err
    assert "Traceback" not in r.output


def test_model_errors_name_the_model(tmp_path):
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper, save

    # x [2, 3] (6 elements) reshaped to [4]: a shape conflict in the second model
    g = helper.make_graph(
        [helper.make_node("Reshape", ["x", "s"], ["y"], name="bad")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array([4], dtype=np.int64), "s")],
    )
    bad = tmp_path / "bad.onnx"
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(bad))
    # the error names the model's file (profile prefixes shape errors with the path)
    with pytest.raises(ShapeError, match=r"bad\.onnx: shape conflict at node 'bad'"):
        compare([S("mlp.onnx"), str(bad)])
    r = run(S("mlp.onnx"), str(bad))
    assert r.exit_code == 1 and r.stderr.startswith("onnxstat: error: ") and "bad.onnx: shape conflict" in r.stderr
