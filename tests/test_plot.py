"""Roofline plot: PNG and SVG render, roofs per precision, atomic writes, bad paths."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image
import pytest

from onnxstat.errors import UsageError
from onnxstat.passes.analysis import NodeCost
from onnxstat.passes.roofline import get_device
from onnxstat.profiler import profile
from onnxstat.render.plot import plot_roofline, render_roofline
from onnxstat.result import ProfileResult, summarize

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def cnn():
    return profile(str(ROOT / "sample_models" / "cnn.onnx"))


def mixed_result():
    def node(name, op, flops, nbytes, dtype):
        return NodeCost(name=name, path=name, domain="", op_type=op, kind="compute", compute_dtype=dtype,
                        inputs=[], outputs=[], flops=flops, bytes_read=nbytes)

    nodes = [
        node("mm16", "MatMul", 2 * 4096**3, 3 * 4096**2 * 2, "float16"),
        node("mm32", "MatMul", 2 * 512**3, 3 * 512**2 * 4, "float32"),
        node("add", "Add", 1024, 3 * 1024 * 4, "float32"),
        node("t", "Transpose", 0, 4096, "none"),
    ]
    totals, rows = summarize(nodes)
    return ProfileResult("mixed.onnx", 8, {}, "", [], [], nodes, totals, rows, [], [])


def test_png_renders(cnn, tmp_path):
    out = tmp_path / "roofline.png"
    assert plot_roofline(cnn, get_device("t4"), out) == out
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    img = matplotlib.image.imread(str(out))
    # 9 x 6 inches at 110 dpi = 990 x 660 pixels, RGBA
    assert img.shape == (660, 990, 4)
    assert img[..., :3].std() > 0.01  # not a blank canvas
    assert [p.name for p in tmp_path.iterdir()] == ["roofline.png"]  # no temporary file left behind


def test_svg_renders_with_one_roof_per_precision(tmp_path):
    out = tmp_path / "roofline.SVG"
    plot_roofline(mixed_result(), get_device("h100"), out)
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    text = out.read_text()
    # fp16 and fp32 nodes present -> two roofs; no int8 node -> no int8 roof
    assert "fp16 roof" in text and "fp32 roof" in text and "int8 roof" not in text
    # the op types of the nodes with FLOPs are in the legend; the Transpose (0 FLOPs) is not plotted
    assert "MatMul" in text and "Add" in text and "Transpose" not in text
    # the top node is labelled
    assert "mm16" in text


def test_fallback_roof_is_labelled(tmp_path):
    from onnxstat.passes.roofline import Device

    dev = Device("cpu", {"fp32": 1e12, "fp16": None, "int8": None}, 1e11, "test")
    svg = render_roofline(mixed_result(), dev, "svg").decode()
    # mm16 runs at the fp32 peak on a device with no fp16 peak, so only the fp32 roof is drawn
    assert "fp32 roof" in svg and "fp16 roof" not in svg


def test_model_without_flops_still_renders():
    nodes = [NodeCost(name="t", path="t", domain="", op_type="Transpose", kind="data_movement", compute_dtype="none",
                      inputs=[], outputs=[], bytes_read=64, bytes_written=64)]
    totals, rows = summarize(nodes)
    res = ProfileResult(None, 8, {}, "", [], [], nodes, totals, rows, [], [])
    assert render_roofline(res, get_device("a100"), "png")[:8] == PNG_SIGNATURE


def test_bad_paths_are_usage_errors(cnn, tmp_path):
    with pytest.raises(UsageError, match=r"unsupported extension '\.jpg'"):
        plot_roofline(cnn, get_device("t4"), tmp_path / "x.jpg")
    with pytest.raises(UsageError, match="does not exist"):
        plot_roofline(cnn, get_device("t4"), tmp_path / "missing" / "x.png")
    assert list(tmp_path.iterdir()) == []
