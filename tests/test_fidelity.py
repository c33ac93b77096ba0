"""`onnxstat compare --fidelity / --localize / --variants` (onnxstat.fidelity, onnxstat.variants).

The metric formulas are checked on arrays small enough to work out by hand; the
model-level numbers against onnxruntime run directly in the test on the same
arrays (never by running the code under test twice).  Expected MACs come from
tests/test_compare.py (worked out there from sample_models/build.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

from onnxstat.cli import cli
from onnxstat.errors import UsageError
from onnxstat.runtime.fidelity import (
    cosine,
    generated_samples,
    is_classification,
    load_samples,
    match_tensors,
    output_metrics,
    snr_db,
    top1_agreement,
)
from onnxstat.runtime.variants import compare_models, parse_variants

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
CNN_MACS = 1769472 + 2 * 2359296 + 1179648 + 320  # 7,668,032 (tests/test_compare.py)
TF_MACS = 4 * 8 * 64 * 64 + 8 * 64 * 256 + 8 * 256 * 64 + 4 * 8 * 8 * 16 + 4 * 8 * 16 * 8  # 401,408
CNN_SIG = [("input", "float32", ("batch", 3, 64, 64))]


def S(name: str) -> str:
    return str(SAMPLES / name)


def run(*args):
    return CliRunner().invoke(cli, ["compare", *args])


def ort_run(path, feeds: list[dict]) -> list[list[np.ndarray]]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return [sess.run(None, f) for f in feeds]


# --------------------------------------------------------------------------- metrics by hand


def test_snr_by_hand():
    # r = [1, 2, 2], y = [1, 2, 3]: signal 1 + 4 + 4 = 9, noise (2 - 3)^2 = 1 -> 10·log10(9) = 9.5424 dB
    assert snr_db(np.array([1.0, 2, 2]), np.array([1.0, 2, 3])) == pytest.approx(10 * math.log10(9))
    # y = r / 2: noise = signal / 4 -> 10·log10(4) = 6.0206 dB
    r = np.array([3.0, -4.0])
    assert snr_db(r, r / 2) == pytest.approx(6.0206, abs=1e-4)
    assert snr_db(r, r) is None  # exact: no noise
    assert snr_db(np.zeros(2), np.ones(2)) == -math.inf


def test_cosine_by_hand():
    assert cosine(np.array([1.0, 0]), np.array([0.0, 1])) == 0.0
    assert cosine(np.array([1.0, 2, 2]), np.array([2.0, 4, 4])) == pytest.approx(1.0)
    # [1, 0]·[1, 1] = 1; |r| = 1, |y| = √2 -> 1/√2
    assert cosine(np.array([1.0, 0]), np.array([1.0, 1])) == pytest.approx(1 / math.sqrt(2))
    assert cosine(np.zeros(3), np.zeros(3)) == 1.0
    assert cosine(np.zeros(3), np.ones(3)) == 0.0


def test_top1_and_output_metrics_by_hand():
    ref = np.array([[0.1, 0.9], [0.8, 0.2]], dtype=np.float32)
    out = np.array([[0.2, 0.7], [0.3, 0.6]], dtype=np.float32)
    # arg-max [1, 0] vs [1, 1]: one row of two agrees
    assert top1_agreement([ref], [out]) == 0.5
    m = output_metrics("logits", [ref], [out])
    # |y - r| = [0.1, 0.2, 0.5, 0.4]: max 0.5, mean 1.2 / 4 = 0.3
    assert m["max_abs_err"] == pytest.approx(0.5)
    assert m["mean_abs_err"] == pytest.approx(0.3)
    # signal 0.01 + 0.81 + 0.64 + 0.04 = 1.5, noise 0.01 + 0.04 + 0.25 + 0.16 = 0.46
    assert m["snr_db"] == pytest.approx(10 * math.log10(1.5 / 0.46), rel=1e-6)
    assert m["top1_agreement"] == 0.5
    exact = output_metrics("y", [ref], [ref.copy()])
    assert exact["snr_db"] is None and exact["exact"] is True and exact["max_abs_err"] == 0.0


def test_classification_shapes():
    assert is_classification("logits", (1, 10)) and is_classification("out", (4, 2))
    assert not is_classification("y", (1, 8, 64))  # a hidden state, not classes
    assert is_classification("lm_logits", (1, 8, 100))
    assert not is_classification("score", (4, 1)) and not is_classification("v", (10,))


def test_generated_samples_are_seeded_per_sample():
    s = generated_samples([("x", "float32", (2, 3))], 3, seed=7)
    assert len(s.feeds) == 3 and s.describe() == {"source": "generated", "samples": 3, "seed": 7}
    # sample i is what onnxstat.inputs makes with seed 7 + i (bench's rule for one sample)
    rng = np.random.default_rng(8)
    np.testing.assert_array_equal(s.feeds[1]["x"], rng.standard_normal((2, 3)).astype(np.float32))


def test_parse_variants():
    assert parse_variants("fp16, int8_qdq,fp16") == ["fp16", "int8-qdq"]
    with pytest.raises(UsageError, match="unknown variant 'int3'"):
        parse_variants("fp16,int3")


# --------------------------------------------------------------------------- sample folders


def test_load_samples_layouts(tmp_path):
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((1, 3, 64, 64)).astype(np.float32) for _ in range(3)]
    npz = tmp_path / "npz"
    npz.mkdir()
    for i, x in enumerate(xs):
        np.savez(npz / f"{i}.npz", input=x)
    s = load_samples(npz, CNN_SIG)
    assert len(s.feeds) == 3 and s.files == ["0.npz", "1.npz", "2.npz"]
    np.testing.assert_array_equal(s.feeds[2]["input"], xs[2])
    assert len(load_samples(npz, CNN_SIG, n=2).feeds) == 2
    # a sub-folder per sample with <input>.npy
    sub = tmp_path / "sub"
    for i, x in enumerate(xs[:2]):
        (sub / f"s{i}").mkdir(parents=True)
        np.save(sub / f"s{i}" / "input.npy", x)
    assert len(load_samples(sub, CNN_SIG).feeds) == 2
    # single-input model: every .npy is a sample
    flat = tmp_path / "flat"
    flat.mkdir()
    for i, x in enumerate(xs):
        np.save(flat / f"{i:03d}.npy", x)
    assert [f for f in load_samples(flat, CNN_SIG).files] == ["000.npy", "001.npy", "002.npy"]


@pytest.mark.parametrize("setup, msg", [
    (lambda d: (d / "bad.npz").write_bytes(b"not a zip archive"), "bad.npz is not a readable .npz archive"),
    (lambda d: np.savez(d / "a.npz", input=np.zeros((1, 3, 32, 32), np.float32)),
     "does not match input 'input' of shape batchx3x64x64 (dim 2 must be 64)"),
    (lambda d: np.savez(d / "a.npz", input=np.zeros((1, 3, 64, 64))), "dtype float64 does not match input 'input'"),
    (lambda d: np.savez(d / "a.npz", x=np.zeros((1, 3, 64, 64), np.float32), y=np.zeros(2)), "holds 'x', 'y'"),
    (lambda d: (d / "notes.txt").write_text("x"), "no samples found"),
])
def test_load_samples_errors(tmp_path, setup, msg):
    setup(tmp_path)
    with pytest.raises(UsageError) as e:
        load_samples(tmp_path, CNN_SIG, what="--calibration-dir")
    assert msg in str(e.value) and "\n" not in str(e.value) and str(e.value).startswith("--calibration-dir")


def test_load_samples_missing_folder(tmp_path):
    with pytest.raises(UsageError, match="no such folder"):
        load_samples(tmp_path / "nope", CNN_SIG)


# --------------------------------------------------------------------------- variants end to end


@pytest.fixture(scope="module")
def cnn_variants():
    return compare_models([S("cnn.onnx")], dims={"batch": 1}, variants="fp16,int8-dynamic,int8-qdq,int4-weight",
                          fidelity=True, samples=3)


@pytest.fixture(scope="module")
def tf_variants():
    return compare_models([S("transformer.onnx")], dims={"batch": 1, "seq": 8},
                          variants="fp16,int8-dynamic,int8-qdq", fidelity=True, samples=3)


def _fid_checks(cmp, macs):
    d = json.loads(json.dumps(cmp.to_dict()))  # the JSON contract, round-tripped
    labels = [m["label"] for m in d["models"]]
    assert labels[1:4] == ["fp16", "int8-dynamic", "int8-qdq"]
    assert "fidelity" not in d["models"][0]  # the baseline's own entry is absent
    # MACs of every variant equal the fp32 model's
    assert [m["totals"]["macs"] for m in d["models"]] == [macs] * len(labels)
    fids = {m["label"]: m["fidelity"] for m in d["models"][1:]}
    for f in fids.values():
        assert f["samples"] == 3
        assert [o["name"] for o in f["outputs"]] == [n for n, _d, _s in cmp.baseline.result.outputs]
    # fp16: cosine >= 0.999 on every output
    assert all(o["cosine"] >= 0.999 for o in fids["fp16"]["outputs"])
    # an int8 variant reports lower SNR than fp16 (per output)
    for k, o16 in enumerate(fids["fp16"]["outputs"]):
        assert min(fids[v]["outputs"][k]["snr_db"] for v in ("int8-dynamic", "int8-qdq")) < o16["snr_db"]
    return d


def test_cnn_variants_end_to_end(cnn_variants):
    d = _fid_checks(cnn_variants, CNN_MACS)
    fp16, qdq = d["models"][1], d["models"][3]
    assert fp16["totals"]["macs_by_precision"] == {"float16": CNN_MACS}
    assert qdq["totals"]["macs_by_precision"] == {"int8": CNN_MACS}
    # logits [1, 10] is classification-shaped: top-1 agreement is a share
    assert 0.0 <= qdq["fidelity"]["outputs"][0]["top1_agreement"] <= 1.0
    # recipes: tool, version, options; static calibration labelled generated
    rec = qdq["variant"]
    assert rec["tool"] == "onnxruntime.quantization.quantize_static"
    assert rec["version"].startswith("onnxruntime ")
    assert rec["options"]["quant_format"] == "QDQ" and rec["options"]["activation_type"] == "QInt8"
    assert rec["calibration"]["source"] == "generated" and rec["calibration"]["samples"] == 8
    assert fp16["variant"]["options"] == {"keep_io_types": True}
    assert fp16["path"] is None and fp16["variant"]["file"] is None  # temporary files are gone
    # int4-weight cannot be made from a CNN (no MatMul): a row with its reason, the others went on
    v4 = next(v for v in d["variants"] if v["variant"] == "int4-weight")
    assert v4["file"] is None and ("MatMul" in v4["error"] or "onnx-ir" in v4["error"])
    assert any(w.startswith("variant int4-weight not made:") for w in d["warnings"])
    assert any("generated samples" in w for w in d["warnings"])
    assert d["settings"]["fidelity"] == {"source": "generated", "samples": 3, "seed": 0, "localize": False,
                                         "snr_threshold_db": None}


def test_transformer_variants_end_to_end(tf_variants):
    d = _fid_checks(tf_variants, TF_MACS)
    assert d["models"][3]["totals"]["macs_by_precision"] == {"int8": TF_MACS}
    # y [1, 8, 64] is a hidden state: no top-1 agreement
    assert d["models"][1]["fidelity"]["outputs"][0]["top1_agreement"] is None


def test_int4_weight_on_the_transformer():
    pytest.importorskip("onnx_ir")
    cmp = compare_models([S("transformer.onnx")], dims={"batch": 1, "seq": 8}, variants="int4-weight",
                         fidelity=True, samples=2)
    m = cmp.models[1]
    assert m.variant["options"]["bits"] == 4 and m.variant["error"] is None
    # the 6 weight MatMuls become MatMulNBits; QK^T and PV stay MatMul; MACs unchanged
    ops = dict(dict(cmp.op_rows())["MatMul/Gemm"][1].op_types)
    assert ops == {"MatMul": 2, "MatMulNBits": 6}
    assert m.totals.macs == TF_MACS
    assert m.totals.weight_bytes_by_dtype.get("uint4", 0) > 0
    assert m.fidelity["outputs"][0]["cosine"] > 0.9


def test_rendered_tables(cnn_variants):
    from onnxstat.multi.compare import render_text

    md = render_text(cnn_variants, "markdown")
    assert "## Candidates" in md and "## Variants (recipes)" in md
    assert "| fp16 | onnxruntime.transformers.float16.convert_float_to_float16" in md
    assert "| SNR | baseline |" in md
    table = render_text(cnn_variants, "table", width=200)
    assert "Candidates" in table and "int4-weight" in table
    csv_text = render_text(cnn_variants, "csv")
    assert '"fidelity","logits","snr_db",' in csv_text


def test_report_html_shows_fidelity(tmp_path):
    from onnxstat.render.report import build_report

    page, _ = build_report(S("cnn.onnx"), dims={"batch": 1}, compare=[S("cnn_int8_qdq.onnx")],
                           compare_options={"fidelity": True, "samples": 1})
    assert 'id="compare-candidates"' in page and "SNR" in page and "Top-1 agreement" in page


# --------------------------------------------------------------------------- real data


def test_inputs_dir_real_samples(tmp_path):
    rng = np.random.default_rng(11)
    # batch 2: the counts use the samples' shapes (2 x 7,668,032 MACs)
    xs = [(rng.standard_normal((2, 3, 64, 64)) * 2).astype(np.float32) for _ in range(3)]
    for i, x in enumerate(xs):
        np.savez(tmp_path / f"{i}.npz", input=x)
    out = tmp_path / "cmp.json"
    r = run(S("cnn.onnx"), S("cnn_int8_qdq.onnx"), "--fidelity", "--inputs-dir", str(tmp_path), "--format", "json",
            "-o", str(out))
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert d["models"][0]["totals"]["macs"] == 2 * CNN_MACS
    assert d["settings"]["fidelity"]["source"] == "folder" and d["settings"]["fidelity"]["samples"] == 3
    got = d["models"][1]["fidelity"]["outputs"][0]
    # the same numbers from onnxruntime run here on the same arrays
    feeds = [{"input": x} for x in xs]
    ref = np.concatenate([o[0].ravel() for o in ort_run(S("cnn.onnx"), feeds)]).astype(np.float64)
    y = np.concatenate([o[0].ravel() for o in ort_run(S("cnn_int8_qdq.onnx"), feeds)]).astype(np.float64)
    assert got["snr_db"] == pytest.approx(10 * math.log10(np.sum(ref**2) / np.sum((ref - y) ** 2)), rel=1e-9)
    assert got["max_abs_err"] == pytest.approx(np.max(np.abs(ref - y)), rel=1e-9)
    rows_r, rows_y = ref.reshape(-1, 10).argmax(1), y.reshape(-1, 10).argmax(1)
    assert got["top1_agreement"] == pytest.approx(np.mean(rows_r == rows_y))


def test_calibration_dir(tmp_path):
    rng = np.random.default_rng(5)
    # calibration data far from the standard normal: mean 1, std 3
    xs = [(rng.standard_normal((1, 3, 64, 64)) * 3 + 1).astype(np.float32) for _ in range(3)]
    cal = tmp_path / "cal"
    cal.mkdir()
    for i, x in enumerate(xs):
        np.save(cal / f"{i}.npy", x)
    saved = tmp_path / "variants"
    out = tmp_path / "cmp.json"
    r = run(S("cnn.onnx"), "--dim", "batch=1", "--variants", "int8-qdq", "--calibration-dir", str(cal),
            "--save-variants", str(saved), "--format", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    rec = d["models"][1]["variant"]
    assert rec["calibration"] == {"source": "folder", "folder": str(cal), "samples": 3}
    assert rec["file"] == str(saved / "cnn_int8_qdq.onnx") == d["models"][1]["path"]
    assert not any("generated samples" in w for w in d["warnings"])
    # MinMax calibration, int8 asymmetric: the input's scale is (max(rmax, 0) - min(rmin, 0)) / 255
    # over the 3 calibration arrays -- it comes from these files, not from generated data
    a = np.concatenate([x.ravel() for x in xs])
    m = onnx.load(saved / "cnn_int8_qdq.onnx")
    scale = next(numpy_helper.to_array(t) for t in m.graph.initializer if t.name == "input_scale")
    assert float(scale) == pytest.approx((max(a.max(), 0) - min(a.min(), 0)) / 255, rel=1e-6)


# --------------------------------------------------------------------------- localize


def _wrong_scale_qdq(tmp_path, tensor: str, factor: float) -> Path:
    """cnn_int8_qdq.onnx with the Q/DQ scale of ``tensor`` multiplied by ``factor``."""
    m = onnx.load(S("cnn_int8_qdq.onnx"))
    name = f"{tensor}_scale"
    init = next(t for t in m.graph.initializer if t.name == name)
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(factor), name))
    p = tmp_path / "bad_qdq.onnx"
    onnx.save(m, p)
    return p


@pytest.mark.parametrize("factor", [40.0, 1 / 40.0])  # too coarse, and saturating
def test_localize_names_the_layer_with_the_wrong_scale(tmp_path, factor):
    bad = _wrong_scale_qdq(tmp_path, "block.relu1_out", factor)
    out = tmp_path / "loc.json"
    r = run(S("cnn.onnx"), str(bad), "--dim", "batch=1", "--localize", "--samples", "2", "--format", "json",
            "-o", str(out))
    assert r.exit_code == 0, r.output
    f = json.loads(out.read_text())["models"][1]["fidelity"]
    assert f["localize"]["first_below"] == "block.relu1_out"
    layers = f["layers"]
    first = next(x for x in layers if x["below"])
    assert first["tensor"] == "block.relu1_out" and first["node"] == "block.relu1"
    # in the QDQ model the value is computed by the fused conv and read after its Q/DQ pair
    assert first["node_in_model"] == "block.conv1"
    assert first["compared_with"] == "block.relu1_out_DequantizeLinear_Output"
    # the layers before it are fine: the threshold separates them
    before = layers[:layers.index(first)]
    assert [x["tensor"] for x in before] == ["relu1_out", "pool1_out"]
    assert all(x["snr_db"] > 25 for x in before) and first["snr_db"] < 20


def test_localize_unmodified_qdq_has_no_layer_below():
    cmp = compare_models([S("cnn.onnx"), S("cnn_int8_qdq.onnx")], dims={"batch": 1}, localize=True, samples=2)
    f = cmp.models[1].fidelity
    assert f["localize"]["first_below"] is None and f["localize"]["threshold_db"] == 20.0
    assert [x["tensor"] for x in f["layers"]] == [
        "relu1_out", "pool1_out", "block.relu1_out", "block.bn2_out", "block.relu2_out", "relu2_out", "gap_out",
        "flatten_out", "logits"]  # graph order; BN-folded tensors absent from the QDQ graph are skipped
    # a higher threshold flags the first layers
    cmp = compare_models([S("cnn.onnx"), S("cnn_int8_qdq.onnx")], dims={"batch": 1}, localize=True, samples=2,
                         snr_threshold=200)
    assert cmp.models[1].fidelity["localize"]["first_below"] == "relu1_out"


def test_match_tensors_plain_names():
    base, fp16 = onnx.load(S("cnn.onnx")), onnx.load(S("cnn_fp16.onnx"))
    pairs = match_tensors(base, fp16)
    assert [p[0] for p in pairs][:3] == ["conv1_out", "bn1_out", "relu1_out"]
    assert all(t == o for t, o, _n, _m in pairs)


# --------------------------------------------------------------------------- bad input


def _renamed_output(tmp_path) -> Path:
    m = onnx.load(S("cnn.onnx"))
    for n in m.graph.node:
        n.output[:] = ["scores" if o == "logits" else o for o in n.output]
    m.graph.output[0].name = "scores"
    p = tmp_path / "renamed.onnx"
    onnx.save(m, p)
    return p


@pytest.mark.parametrize("case", ["outputs", "calibration-shape", "bad-npz", "unknown-variant", "calib-without-static"])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, case):
    out = tmp_path / "out.json"
    saved = tmp_path / "saved"
    data = tmp_path / "data"
    data.mkdir()
    common = ["--dim", "batch=1", "--format", "json", "-o", str(out)]
    if case == "outputs":
        args, msg = [S("cnn.onnx"), str(_renamed_output(tmp_path)), "--fidelity"], "outputs differ"
    elif case == "calibration-shape":
        np.save(data / "0.npy", np.zeros((1, 3, 32, 32), np.float32))
        args = [S("cnn.onnx"), "--variants", "int8-qdq", "--calibration-dir", str(data), "--save-variants", str(saved)]
        msg = "(dim 2 must be 64)"
    elif case == "bad-npz":
        (data / "0.npz").write_bytes(b"\x00garbage")
        args = [S("cnn.onnx"), S("cnn_fp16.onnx"), "--fidelity", "--inputs-dir", str(data)]
        msg = "0.npz is not a readable .npz archive"
    elif case == "unknown-variant":
        args, msg = [S("cnn.onnx"), "--variants", "fp8", "--save-variants", str(saved)], "unknown variant 'fp8'"
    else:
        args, msg = [S("cnn.onnx"), "--variants", "fp16", "--calibration-dir", str(data)], "--calibration-dir applies"
    r = run(*args, *common)
    assert r.exit_code == 2, r.output
    err = r.stderr.strip()
    assert err.startswith("onnxstat: error:") and msg in err and "\n" not in err, err
    assert not out.exists() and not saved.exists()


def test_renamed_output_error_names_them(tmp_path):
    with pytest.raises(UsageError) as e:
        compare_models([S("cnn.onnx"), str(_renamed_output(tmp_path))], dims={"batch": 1}, fidelity=True, samples=1)
    assert "renamed has scores" in str(e.value) and "renamed lacks logits" in str(e.value)


def test_options_need_their_mode():
    with pytest.raises(UsageError, match="--inputs-dir"):
        compare_models([S("cnn.onnx"), S("cnn_fp16.onnx")], inputs_dir="x")
    with pytest.raises(UsageError, match="at least two models"):
        compare_models([S("cnn.onnx")], fidelity=True)
    with pytest.raises(UsageError, match="fp16-io"):
        compare_models([S("cnn.onnx")], variants="fp16", fidelity=True, fp16_keep_io=False)


def test_string_output_is_compared_for_equality():
    a = np.array(["cat", "dog"], dtype=object)
    m = output_metrics("label", [a], [np.array(["cat", "cow"], dtype=object)])
    assert m["exact"] is False and m["snr_db"] is None and m["cosine"] is None
    assert output_metrics("label", [a], [a.copy()])["exact"] is True


def test_variant_label_does_not_collide_with_a_model_named_like_it(tmp_path):
    import shutil

    shutil.copy(S("cnn_fp16.onnx"), tmp_path / "fp16.onnx")
    cmp = compare_models([S("cnn.onnx"), str(tmp_path / "fp16.onnx")], dims={"batch": 1}, variants="fp16")
    assert [m.label for m in cmp.models] == ["cnn", "fp16", "fp16 (variant)"]
    assert cmp.models[2].variant["variant"] == "fp16" and cmp.models[1].variant is None


def test_a_variant_its_tool_refuses_is_a_row_and_the_others_go_on(monkeypatch):
    import onnxruntime.quantization as q
    import onnxruntime.quantization.shape_inference as si

    def refuse(*a, **k):
        raise RuntimeError("op Foo is not supported\nsecond line")

    def no_pre(*a, **k):
        raise ValueError("symbolic shape inference failed")

    monkeypatch.setattr(q, "quantize_dynamic", refuse)
    monkeypatch.setattr(si, "quant_pre_process", no_pre)
    cmp = compare_models([S("cnn.onnx")], dims={"batch": 1}, variants="int8-dynamic,int8-qdq,fp16")
    assert [m.label for m in cmp.models] == ["cnn", "int8-qdq", "fp16"]
    dyn = next(v for v in cmp.variants if v["variant"] == "int8-dynamic")
    assert dyn["error"] == "quantize_dynamic failed: RuntimeError: op Foo is not supported second line"
    # quant_pre_process failed: int8-qdq was made from the model as it is (BatchNormalization not folded)
    qdq = cmp.models[1]
    assert qdq.variant["preprocess"].startswith("skipped: quant_pre_process failed (ValueError: symbolic")
    assert qdq.totals.macs == CNN_MACS


def test_report_cli_variants_and_fidelity(tmp_path):
    out = tmp_path / "r.html"
    r = CliRunner().invoke(cli, ["report", S("cnn.onnx"), "--dim", "batch=1", "--fidelity", "-o", str(out)])
    assert r.exit_code == 2 and "need --compare MODEL or --variants" in r.stderr and not out.exists()
    r = CliRunner().invoke(cli, ["report", S("cnn.onnx"), "--dim", "batch=1", "--variants", "fp16", "--localize",
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert 'id="compare-candidates"' in page and "Variants (recipes)" in page and "Layers of fp16" in page


def test_output_dtype_and_shape_mismatches_are_one_line(tmp_path):
    from onnx import helper
    from onnxruntime.transformers.float16 import convert_float_to_float16

    # float16 inputs and outputs: the dtypes differ from the baseline's
    half = tmp_path / "half.onnx"
    onnx.save(convert_float_to_float16(onnx.load(S("mlp.onnx")), keep_io_types=False), half)
    with pytest.raises(UsageError) as e:
        compare_models([S("mlp.onnx"), str(half)], fidelity=True, samples=1)
    assert str(e.value) == "--fidelity: input dtypes differ: x is float16 in half but float32 in mlp"
    # same names and dtypes, logits reshaped from [1, 10] to [10, 1]
    m = onnx.load(S("cnn.onnx"))
    for n in m.graph.node:
        n.output[:] = ["logits_pre" if o == "logits" else o for o in n.output]
    m.graph.initializer.append(numpy_helper.from_array(np.array([10, 1], np.int64), "to_10x1"))
    m.graph.node.append(helper.make_node("Reshape", ["logits_pre", "to_10x1"], ["logits"], name="to_column"))
    del m.graph.output[0].type.tensor_type.shape.dim[:]
    column = tmp_path / "column.onnx"
    onnx.save(m, column)
    r = run(S("cnn.onnx"), str(column), "--dim", "batch=1", "--fidelity", "--samples", "1")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("onnxstat: error: --fidelity: output logits has shape 10x1 in column "
                                "but 1x10 in cnn (sample 1)")
