"""The other views a newcomer meets: devices in 100 columns, ops NAME, report
--input-value and its Settings, the report's nav at 700 px, roofline labels."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from helpers import assert_error, run_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_models"


# --------------------------------------------------------------------------- devices


def test_devices_fit_100_columns_and_sources_are_behind_a_flag():
    r = run_cli("devices")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(x.rstrip()) for x in lines) <= 100
    assert "H100 SXM" in r.stdout and "1,979" in r.stdout  # int8 TOP/s of the H100 preset
    assert "datasheet" not in r.stdout.lower().replace("datasheet sources", "")  # no source paragraphs
    assert "onnxstat devices --sources" in r.stdout
    assert len(lines) < 25
    s = run_cli("devices", "--sources")
    assert s.exit_code == 0 and "NVIDIA H100 Tensor Core GPU datasheet" in s.stdout
    assert max(len(x.rstrip()) for x in s.stdout.splitlines()) <= 100


# --------------------------------------------------------------------------- ops


def test_ops_name_looks_up_one_formula():
    r = run_cli("ops", "conv")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Conv (ai.onnx, since opset 1, compute)")
    assert "MACs = numel(Y)·(C/group)·prod(k)" in r.stdout
    assert "Gemm" not in r.stdout
    r = run_cli("ops", "Attention", "--domain", "com.microsoft")
    assert r.exit_code == 0 and "Attention (com.microsoft" in r.stdout and "ai.onnx" not in r.stdout
    r = run_cli("ops", "com.microsoft::GroupQueryAttention", "--format", "json")
    assert r.exit_code == 0 and '"op_type": "GroupQueryAttention"' in r.stdout
    assert_error(run_cli("ops", "Convv"), 2, "no handler for op 'Convv'", "did you mean Conv")


def test_ops_domain_lists_only_that_domain():
    r = run_cli("ops", "--domain", "com.microsoft", "--format", "json")
    import json

    ops = json.loads(r.stdout)["ops"]
    assert ops and {o["domain"] for o in ops} == {"com.microsoft"}


# --------------------------------------------------------------------------- report


def if_model(tmp_path) -> Path:
    """y = If(sr == 16000, Relu(x) [1 FLOP/elem], Sigmoid(x) [4 FLOPs/elem]) on x: float[8]."""
    then_g = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [8])])
    else_g = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [8])])
    nodes = [
        helper.make_node("Equal", ["sr", "k"], ["cond"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g),
    ]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8]),
                                       helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8])],
                          [numpy_helper.from_array(np.array(16000, np.int64), "k")])
    p = tmp_path / "vad.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
    return p


def test_report_input_value_decides_the_branch(tmp_path):
    m = if_model(tmp_path)
    out = tmp_path / "r.html"
    r = run_cli("report", m, "--input-value", "sr=16000", "-o", out)
    assert r.exit_code == 0, r.stderr
    page = out.read_text()
    text = re.sub(r"<[^>]+>", " ", page)
    assert re.search(r"Input values\s+sr=16000", text), "settings row"
    # the branch taken is counted: Equal 1 + Relu 8 = 9 FLOPs, not the costlier Sigmoid 4·8
    assert '"flops":9' in page.replace(" ", "")
    assert "costlier" not in page


def test_report_settings_have_no_raw_braces(tmp_path):
    out = tmp_path / "r.html"
    assert run_cli("report", SAMPLES / "mlp.onnx", "-o", out).exit_code == 0
    text = re.sub(r"<[^>]+>", " ", out.read_text())
    settings = text[text.index("Settings"):text.index("Settings") + 800]
    assert "{}" not in settings and "[]" not in settings and re.search(r"Input values\s+none", settings)


def test_report_nav_wraps_on_narrow_windows():
    css = (ROOT / "onnxstat" / "render" / "templates" / "report.css").read_text()
    block = css[css.index("@media (max-width: 960px)"):]
    block = block[:block.index("}\n}") + 3]
    assert ".topbar nav { flex-wrap: wrap; overflow: visible; }" in block
    assert "height: auto" in block


# --------------------------------------------------------------------------- roofline plot labels


def test_roofline_labels_stay_inside_and_apart():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from onnxstat.render.plot import _place_labels

    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1, 100)
    ax.set_ylim(1, 100)
    fig.tight_layout()
    # ten long labels on nearly the same spot, at the right edge where text would leave the axes
    labels = [(95 * (1 + i / 1000), 50, f"encoder.layers.{i}.attention.MatMul") for i in range(10)]
    n = _place_labels(ax, fig, labels)
    r = fig.canvas.get_renderer()
    frame = ax.get_window_extent(r)
    boxes = [a.get_window_extent(r) for a in ax.texts]
    assert 1 <= n == len(boxes) < 10  # what cannot be placed is left out
    for b in boxes:
        assert b.x0 >= frame.x0 and b.x1 <= frame.x1 and b.y0 >= frame.y0 and b.y1 <= frame.y1
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
