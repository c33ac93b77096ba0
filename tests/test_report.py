"""The HTML report (``onnxstat report``): content, exact numbers, self-containment, size, CLI.

The page is parsed with the standard library's HTMLParser; numbers are read from
``data-value`` attributes and the embedded JSON, never from the human strings.
The browser behaviour (sorting, filtering, paging) is in test_report_browser.py.
"""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import onnx
import pytest
from click.testing import CliRunner

import zoo
from onnxstat import profile
from onnxstat.cli import cli
from onnxstat.render.report import (
    _ratio,
    build_report,
    chart_op_rows,
    compare_view,
    js_value,
    node_table,
    op_type_chart_svg,
    render_html,
    script_json,
)

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
CNN = SAMPLES / "cnn.onnx"

# cnn.onnx at batch 1 (input 1x3x64x64), counted by hand from its layers:
#   conv1       3->16, k3, pad 1, out 64x64: 64*64*16*(3*3*3)   = 1,769,472 MACs
#   maxpool 2x2 -> 32x32
#   block.conv1 16->16, k3, pad 1, out 32x32: 32*32*16*(16*9) = 2,359,296 MACs
#   block.conv2 same                                           = 2,359,296 MACs
#   conv2       16->32, k3, s2, out 16x16: 16*16*32*(16*9)    = 1,179,648 MACs
#   fc          Gemm 32->10: 32*10                              =       320 MACs
#   total 1,769,472 + 2*2,359,296 + 1,179,648 + 320             = 7,668,032 MACs
CNN_MACS = 7_668_032
CNN_LARGEST_MACS = 2_359_296  # block.conv1 and block.conv2 tie; graph order puts block.conv1 first
# params: every initializer element (conv weights+biases, BN scale/bias/mean/var, fc):
#   conv1 16*27+16 = 448; bn1 4*16 = 64; block.conv1 16*144+16 = 2,320; block.bn1 64;
#   block.conv2 2,320; block.bn2 64; conv2 32*144+32 = 4,640; fc 32*10+10 = 330
#   448 + 64 + 2,320 + 64 + 2,320 + 64 + 4,640 + 330 = 10,250; float32: 4 bytes each = 41,000
CNN_PARAMS = 10_250
CNN_WEIGHT_BYTES = 41_000


class Page(HTMLParser):
    """Start tags with their attributes, text of elements with an id, script blocks by id."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: dict[str, str] = {}
        self._script: tuple[str, list] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "script":
            self._script = (a.get("id", f"#{len(self.scripts)}"), [])

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            sid, parts = self._script
            self.scripts[sid] = "".join(parts)
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)

    def find(self, tag=None, **attrs) -> list[dict]:
        out = []
        for t, a in self.tags:
            if tag is not None and t != tag:
                continue
            if all(a.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(a)
        return out

    def card(self, key: str) -> dict:
        found = [a for t, a in self.tags if t == "div" and "card" in (a.get("class") or "").split() and a.get("data-key") == key]
        assert len(found) == 1, f"card {key}: {len(found)} found"
        return found[0]

    def json(self, sid: str):
        return json.loads(self.scripts[sid])


@pytest.fixture(scope="module")
def cnn_res():
    return profile(str(CNN), dims={"batch": 1})


@pytest.fixture(scope="module")
def cnn_page(cnn_res):
    page, messages = build_report(cnn_res, device="h100")
    return page, messages


# --------------------------------------------------------------------------- content


def test_summary_cards_carry_exact_totals(cnn_page, cnn_res):
    page = Page(cnn_page[0])
    assert int(page.card("macs")["data-value"]) == CNN_MACS
    assert int(page.card("params")["data-value"]) == CNN_PARAMS
    assert int(page.card("weight_bytes")["data-value"]) == CNN_WEIGHT_BYTES
    t = cnn_res.totals
    # FLOPs, traffic and peak memory are the profiler's own figures: the page must carry them unchanged
    assert int(page.card("flops")["data-value"]) == t.flops
    assert int(page.card("memory_traffic_bytes")["data-value"]) == t.bytes_read + t.bytes_written
    assert t.peak_activation_bytes is not None
    assert int(page.card("peak_activation_bytes")["data-value"]) == t.peak_activation_bytes
    # the machine-readable summary holds the same totals
    summary = page.json("onnxstat-summary")
    assert summary["totals"]["macs"] == CNN_MACS
    assert summary["totals"]["params"] == CNN_PARAMS


def test_header_inputs_outputs_and_settings(cnn_page):
    text = cnn_page[0]
    assert "<title>cnn.onnx · onnxstat report</title>" in text
    assert "ai.onnx 17" in text
    assert "onnxstat-samples 1" in text
    assert "[1x3x64x64]" in text  # input after --dim batch=1
    assert "[1x10]" in text  # logits
    assert "batch=1" in text  # settings used
    assert "H100 SXM" in text


def test_node_data_is_embedded_once_with_exact_values(cnn_page, cnn_res):
    page = Page(cnn_page[0])
    data = page.json("onnxstat-nodes")
    keys = [c["key"] for c in data["columns"]]
    assert len(data["rows"]) == len(cnn_res.nodes) == 16
    i_path, i_macs, i_flops = keys.index("path"), keys.index("macs"), keys.index("flops")
    assert [r[i_path] for r in data["rows"]] == [n.path for n in cnn_res.nodes]
    assert [r[i_macs] for r in data["rows"]] == [n.macs for n in cnn_res.nodes]
    assert [r[i_flops] for r in data["rows"]] == [n.flops for n in cnn_res.nodes]
    assert sum(r[i_macs] for r in data["rows"]) == CNN_MACS
    assert max(r[i_macs] for r in data["rows"]) == CNN_LARGEST_MACS
    # with --device the roofline columns are there, aligned with the nodes
    assert {"intensity", "bound", "roofline_time_s"} <= set(keys)
    # the node data appears once: one JSON block, and the node table body is empty until the script fills it
    assert cnn_page[0].count('id="onnxstat-nodes"') == 1
    assert not [a for t, a in page.tags if t == "tr" and "data-index" in a]


def test_sortable_headers_for_every_column(cnn_page):
    page = Page(cnn_page[0])
    heads = [a for t, a in page.tags if t == "th" and a.get("data-key")]
    keys = [a["data-key"] for a in heads]
    data = page.json("onnxstat-nodes")
    assert keys[: len(data["columns"])] == [c["key"] for c in data["columns"]]
    assert {a["data-type"] for a in heads if a["data-key"] in ("macs", "flops", "params")} == {"count"}


def test_op_type_table_and_chart(cnn_page, cnn_res):
    page = Page(cnn_page[0])
    rows = page.find("tr", data_op="Conv")
    assert len(rows) == 1
    conv = next(r for r in cnn_res.by_op_type if r.op_type == "Conv")
    # 4 Conv nodes: 1,769,472 + 2*2,359,296 + 1,179,648 = 7,667,712 MACs
    assert conv.macs == 7_667_712
    tds = [a for t, a in page.tags if t == "td" and a.get("data-value") == "7667712"]
    assert tds, "Conv MACs not in the op-type table"
    assert '<svg class="chart"' in cnn_page[0]


def test_roofline_from_a_profile_made_with_a_device():
    res = profile(str(CNN), dims={"batch": 1}, device="t4")
    page = build_report(res)[0]  # no device argument: the profile's own roofline is used
    p = Page(page)
    assert 'id="roofline"' in page and res.roofline.device.name in page
    assert float(p.card("roofline_latency_s")["data-value"]) == res.roofline.latency_s


def test_roofline_section_with_inline_svg(cnn_page):
    text = cnn_page[0]
    assert 'id="roofline"' in text
    assert text.count("<svg") >= 2  # op-type chart + matplotlib roofline
    assert "Roofline latency" in text
    page = Page(text)
    lat = page.find("td", data_key="roofline_latency_s")
    assert lat and float(lat[0]["data-value"]) > 0


def test_unsupported_and_warning_lists():
    # a node of an unknown domain/op: listed as unsupported; the warning list names it too
    g = onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["x"], ["a"], name="r"),
         onnx.helper.make_node("Frobnicate", ["a"], ["y"], name="f", domain="com.example")],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 8])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 8])],
    )
    m = onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 17), onnx.helper.make_opsetid("com.example", 1)])
    page, _ = build_report(m)
    p = Page(page)
    assert p.find("li", data_op="Frobnicate")
    assert "com.example::Frobnicate</code> × 1" in page
    assert 'id="warning-list"' in page and "unsupported ops" in page


# --------------------------------------------------------------------------- self-contained, safe, small


def _external_refs(text: str) -> list[str]:
    bad = []
    bad += re.findall(r"<link\b[^>]*>", text)
    bad += re.findall(r"<(?:script|img|iframe|source|video|audio|embed|object)\b[^>]*\bsrc\s*=", text)
    bad += re.findall(r"@import", text)
    bad += re.findall(r"url\(\s*['\"]?(?!#|data:)[^)]*\)", text)
    bad += re.findall(r"\bhref\s*=\s*['\"](?!#)[^'\"]*['\"]", text)
    bad += re.findall(r"xlink:href\s*=\s*['\"](?!#)[^'\"]*['\"]", text)
    return bad


def test_page_is_self_contained(cnn_page):
    text = cnn_page[0]
    assert _external_refs(text) == []
    assert "cdn" not in text.lower()
    assert "fonts.googleapis" not in text
    # exactly three script blocks: two JSON data blocks and the inline script
    scripts = re.findall(r"<script\b[^>]*>", text)
    assert scripts == ['<script type="application/json" id="onnxstat-summary">',
                       '<script type="application/json" id="onnxstat-nodes">', "<script>"]


def test_hostile_names_are_escaped():
    evil = '</script><script>alert("x")</script><b>&amp;'
    prof = {
        "schema": "onnxstat.profile/1",
        "model": {"path": f"/tmp/{evil}.onnx", "ir_version": 8, "opset": {"ai.onnx": 17}, "producer": evil, "file_size": 10},
        "settings": {"dims": {}, "input_shapes": {}, "shape_source": "onnx"},
        "inputs": [{"name": evil, "dtype": "float32", "shape": [1]}],
        "outputs": [{"name": "y", "dtype": "float32", "shape": [1]}],
        "totals": {"macs": 0, "flops": 1, "params": 0, "weight_bytes": 0, "bytes_read": 4, "bytes_written": 4,
                   "memory_traffic_bytes": 8, "node_count": 1},
        "by_op_type": [{"domain": "", "op_type": "Relu", "count": 1, "macs": 0, "flops": 1, "params": 0,
                        "weight_bytes": 0, "memory_traffic_bytes": 8}],
        "nodes": [{"name": evil, "path": evil, "domain": "", "op_type": "Relu", "kind": "compute",
                   "compute_dtype": "float32", "inputs": [], "outputs": [{"name": "y", "dtype": "float32", "shape": [1]}],
                   "macs": 0, "flops": 1, "params": 0, "weight_bytes": 0, "bytes_read": 4, "bytes_written": 4,
                   "memory_traffic_bytes": 8, "notes": [evil]}],
        "unsupported": [], "warnings": [evil],
    }
    page = render_html(prof)
    assert "<script>alert" not in page
    assert page.count("</script>") == 3  # only the page's own three script blocks close
    p = Page(page)
    data = p.json("onnxstat-nodes")
    assert data["rows"][0][1] == evil  # the JSON round-trips the exact name
    assert data["details"][0][3] == evil


def test_script_json_escapes_markup():
    s = script_json({"a": "</script><!--", "b": "\u2028"})
    assert "<" not in s and ">" not in s and "\u2028" not in s
    assert json.loads(s) == {"a": "</script><!--", "b": "\u2028"}


def test_size_of_a_500_node_model_is_small():
    res = profile(zoo.synthetic_chain(500))
    page, _ = build_report(res)
    size = len(page.encode("utf-8"))
    assert size < 2_000_000, size
    data = Page(page).json("onnxstat-nodes")
    assert len(data["rows"]) == 500


def test_size_of_resnet50_with_roofline_is_small():
    res = profile(zoo.resnet50())
    page, _ = build_report(res, device="h100")
    assert len(page.encode("utf-8")) < 2_000_000
    assert int(Page(page).card("macs")["data-value"]) == zoo.RESNET50_224_CONV_GEMM_MACS + _resnet_other_macs(res)


def _resnet_other_macs(res) -> int:
    # the profile counts Conv/Gemm MACs (4,089,184,256, the thop figure) plus MACs of other ops, if any
    return sum(n.macs for n in res.nodes if n.op_type not in ("Conv", "Gemm"))


# --------------------------------------------------------------------------- exact integers beyond 2**53


def test_big_integers_stay_exact():
    big = 2**53 + 1  # 9,007,199,254,740,993: not representable as a JS number
    assert js_value(big) == "9007199254740993"
    assert js_value(2**53 - 1) == 9007199254740991  # largest exact JS integer stays a number
    prof = {"nodes": [{"path": "a", "op_type": "MatMul", "macs": big, "flops": 2 * big, "outputs": []}]}
    t = node_table(prof)
    keys = [c["key"] for c in t["columns"]]
    assert t["rows"][0][keys.index("macs")] == "9007199254740993"
    assert t["rows"][0][keys.index("flops")] == "18014398509481986"  # 2 * 9,007,199,254,740,993


# --------------------------------------------------------------------------- op-type chart


def _rows(*specs):
    return [{"domain": "", "op_type": op, "count": 1, "macs": m, "flops": f, "params": 0, "memory_traffic_bytes": b}
            for op, m, f, b in specs]


def test_chart_bar_widths_are_shares_of_the_total():
    rows = _rows(("Conv", 750, 1500, 100), ("Relu", 0, 250, 300), ("Add", 250, 250, 600))
    totals = {"macs": 1000, "flops": 2000, "memory_traffic_bytes": 1000}
    svg = op_type_chart_svg(rows, totals)
    widths = [float(w) for w in re.findall(r'<rect x="140" y="\d+" width="([\d.]+)" height="9"', svg)]
    # bar area 340 px: Conv MACs 750/1000 -> 255.0, FLOPs 1500/2000 -> 255.0, traffic 100/1000 -> 34.0
    #                  Relu 0 -> 0.0, 250/2000 -> 42.5, 300/1000 -> 102.0
    #                  Add 250/1000 -> 85.0, 250/2000 -> 42.5, 600/1000 -> 204.0
    assert widths == [255.0, 255.0, 34.0, 0.0, 42.5, 102.0, 85.0, 42.5, 204.0]
    assert ">75.0%<" in svg and ">12.5%<" in svg and ">60.0%<" in svg


def test_chart_folds_the_tail_into_one_exact_row():
    specs = [(f"Op{i}", 0, 100 - i, 1) for i in range(15)]  # FLOPs 100, 99, ..., 86; traffic 1 each
    rows = chart_op_rows(_rows(*specs), limit=12)
    assert len(rows) == 12
    other = rows[-1]
    # kept: the 11 largest by FLOPs (Op0..Op10); folded: Op11..Op14 -> FLOPs 89+88+87+86 = 350, traffic 4, count 4
    assert [r["label"] for r in rows[:11]] == [f"Op{i}" for i in range(11)]
    assert other["label"] == "4 other op types"
    assert (other["flops"], other["memory_traffic_bytes"], other["count"]) == (350, 4, 4)


def test_chart_leaves_out_op_types_without_cost():
    rows = _rows(("Conv", 10, 20, 30), ("Shape", 0, 0, 0))
    svg = op_type_chart_svg(rows, {"macs": 10, "flops": 20, "memory_traffic_bytes": 30})
    assert ">Conv<" in svg and ">Shape<" not in svg


# --------------------------------------------------------------------------- comparison


def test_compare_view_ratios_and_direction():
    cmp = {
        "models": [
            {"label": "fp32", "file_size": 4000, "totals": {"macs": 200, "weight_bytes": 4000}, "bench": {"latency_ms": {"p50": 2.0}, "fps": 100.0}},
            {"label": "int8", "file_size": 1000, "totals": {"macs": 200, "weight_bytes": 1010}, "bench": {"latency_ms": {"p50": 1.0}, "fps": 150.0}},
        ],
        "by_op_type": [{"op_type": "Conv", "models": [
            {"count": 4, "macs": 200, "flops": 400, "op_types": {"Conv": 4}, "precision": {"float32": 4}},
            {"count": 4, "macs": 200, "flops": 400, "op_types": {"QLinearConv": 4}, "precision": {"uint8": 4}}]}],
        "structure": {"note": "same graph structure"},
    }
    v = compare_view(cmp)
    rows = {r["key"]: r["cells"][1] for r in v["rows"]}
    assert (rows["file_size"]["ratio"], rows["file_size"]["cls"]) == ("0.25×", "better")  # 1000/4000
    assert (rows["weight_bytes"]["ratio"], rows["weight_bytes"]["cls"]) == ("0.253×", "better")  # 1010/4000 = 0.2525
    assert (rows["macs"]["ratio"], rows["macs"]["cls"]) == ("=", "same")  # 200/200
    assert (rows["latency_p50_ms"]["ratio"], rows["latency_p50_ms"]["cls"]) == ("0.5×", "better")  # 1.0/2.0
    assert (rows["fps"]["ratio"], rows["fps"]["cls"]) == ("1.5×", "better")  # 150/100: higher is better
    assert v["op_rows"][0]["cells"][1]["ops"] == "QLinearConv ×4"
    assert v["op_rows"][0]["cells"][1]["work"] == "4 nodes · 200 MACs"
    assert v["op_rows"][0]["cells"][1]["low"] is True


def test_ratio_text_never_hides_a_difference():
    # 1.0007 rounds to "1" at 3 significant digits, so 4 are shown; within 0.05% counts as the same
    assert _ratio(1.0007, 1, "lower") == ("1.001×", "worse")
    assert _ratio(1.0004, 1, "lower") == ("=", "same")
    assert _ratio(3, 0, "lower") == ("new", "")
    assert _ratio(None, 1, "lower") == ("-", "")


def test_report_with_compare(tmp_path):
    page, _ = build_report(str(CNN), dims={"batch": 1}, compare=[str(SAMPLES / "cnn_constants.onnx")])
    p = Page(page)
    assert 'id="compare-table"' in page
    macs = p.find("tr", data_key="macs")
    assert macs
    # same network as constants: equal MACs on both sides
    cells = [a for t, a in p.tags if t == "td" and a.get("data-value") == str(CNN_MACS)]
    assert len(cells) >= 2


# --------------------------------------------------------------------------- missing modules


def test_missing_modules_leave_a_note(monkeypatch, cnn_res):
    from importlib import import_module

    # a None entry in sys.modules (and no attribute on the package) makes "from . import X" raise ImportError
    for mod in ("runtime.bench", "passes.roofline", "render.plot", "multi.compare"):
        monkeypatch.setitem(sys.modules, f"onnxstat.{mod}", None)
        package, _, name = f"onnxstat.{mod}".rpartition(".")
        monkeypatch.delattr(import_module(package), name, raising=False)
    page, messages = build_report(str(CNN), dims={"batch": 1}, bench=True, device="h100",
                                  compare=[str(SAMPLES / "cnn_constants.onnx")])
    p = Page(page)
    assert p.find("p", data_note="bench") and p.find("p", data_note="roofline") and p.find("p", data_note="compare")
    assert any("onnxstat.bench" in m for m in messages)
    assert any("onnxstat.roofline" in m for m in messages)
    # the comparison falls back to the totals of each profile
    assert 'id="compare-table"' in page
    assert int(p.card("macs")["data-value"]) == CNN_MACS


# --------------------------------------------------------------------------- CLI


def test_cli_writes_the_report(tmp_path):
    out = tmp_path / "cnn_report.html"
    r = CliRunner().invoke(cli, ["report", str(CNN), "--dim", "batch=1", "-o", str(out)])
    assert r.exit_code == 0, r.output
    p = Page(out.read_text(encoding="utf-8"))
    assert int(p.card("macs")["data-value"]) == CNN_MACS
    assert [x.name for x in tmp_path.iterdir()] == ["cnn_report.html"]  # no temp file left behind


def test_cli_custom_device(tmp_path):
    # 10 TFLOP/s and 100 GB/s: ridge point 10e12 / 100e9 = 100 FLOPs/byte
    out = tmp_path / "r.html"
    r = CliRunner().invoke(cli, ["report", str(CNN), "--dim", "batch=1", "--peak-tflops", "10", "--bandwidth-gbs", "100",
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert "Ridge point (fp32)</td><td>100.0 FLOPs/byte" in page
    assert "Memory bandwidth</td><td>100.00 GB/s" in page


@pytest.mark.parametrize("args, code, words", [
    (["report", "missing.onnx"], 2, "missing.onnx"),
    (["report", str(CNN), "-o", "/nonexistent-dir/x.html"], 2, "does not exist"),
    (["report", str(CNN), "--runs", "3"], 2, "--bench"),
    (["report", str(CNN), "--device", "no-such-gpu"], 2, "no-such-gpu"),
    (["report", str(CNN), "--dim", "batch=zero"], 2, "zero"),
    (["report", str(CNN), "--peak-tflops", "10"], 2, "--bandwidth-gbs"),
    (["report", str(CNN), "-o", "/tmp/x.html", "--device", "h100", "--peak-tflops", "1", "--bandwidth-gbs", "1"], 2, "not both"),
])
def test_cli_errors_are_one_line(args, code, words):
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == code, r.output
    err = r.stderr if hasattr(r, "stderr") else r.output
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("onnxstat: error:"), err
    assert words in lines[0]
    assert "Traceback" not in r.output


# --------------------------------------------------------------------------- bench


def test_bench_carried_by_the_profile_is_shown():
    res = profile(str(CNN), dims={"batch": 1})
    res.extras["bench"] = {"latency_ms": {"mean": 2.5, "p50": 2.0, "p90": 3.0}, "fps": 400.0, "runs": 7, "warmup": 1}
    p = Page(build_report(res)[0])
    assert float(p.card("latency_ms")["data-value"]) == 2.0  # the median
    assert float(p.card("fps")["data-value"]) == 400.0  # 1000 ms / 2.5 ms mean


def test_report_with_bench_shows_latency_and_fps():
    page, messages = build_report(str(CNN), dims={"batch": 1}, bench=True, runs=5, warmup=1, device="h100")
    assert messages == []
    p = Page(page)
    summary = p.json("onnxstat-summary")
    lat = summary["bench"]["latency_ms"]
    assert summary["bench"]["runs"] == 5 and summary["bench"]["warmup"] == 1
    # the cards carry the bench numbers unchanged (repr of the float)
    assert float(p.card("latency_ms")["data-value"]) == lat["p50"]  # the median is the headline
    assert float(p.card("fps")["data-value"]) == summary["bench"]["fps"]
    # fps = batch / mean latency: 1 / (mean ms / 1000)
    assert summary["bench"]["fps"] == pytest.approx(1000.0 / lat["mean"], rel=1e-9)
    for k in ("p50", "p90", "p99"):
        assert float(p.find("td", data_key=f"latency_{k}")[0]["data-value"]) == lat[k]
    # the roofline section reports its efficiency against the measured mean, as profile --bench --device does
    eff = p.find("td", data_key="efficiency_pct")
    rl = p.find("td", data_key="roofline_latency_s")
    assert eff and rl
    # efficiency % = 100 * roofline latency (s) / measured mean (s)
    assert float(eff[0]["data-value"]) == pytest.approx(100 * float(rl[0]["data-value"]) / (lat["mean"] / 1e3), rel=1e-9)


# --------------------------------------------------------------------------- odd profiles


def _bare_profile(nodes, totals):
    return {"schema": "onnxstat.profile/1", "model": {"path": None, "ir_version": 8, "opset": {"ai.onnx": 17}},
            "settings": {}, "inputs": [], "outputs": [], "totals": totals, "by_op_type": [], "nodes": nodes,
            "unsupported": [], "warnings": []}


def test_symbolic_values_render_as_text():
    node = {"path": "mm", "op_type": "MatMul", "domain": "", "kind": "compute", "compute_dtype": "float32",
            "outputs": [{"name": "y", "dtype": "float32", "shape": ["batch", 64]}],
            "macs": "4096*batch", "flops": "8192*batch", "params": 4096, "weight_bytes": 16384,
            "bytes_read": "256*batch + 16384", "bytes_written": "256*batch", "memory_traffic_bytes": "512*batch + 16384"}
    page = render_html(_bare_profile([node], {"macs": "4096*batch", "flops": "8192*batch", "params": 4096,
                                              "weight_bytes": 16384, "memory_traffic_bytes": "512*batch + 16384"}))
    p = Page(page)
    assert p.card("macs")["data-value"] == "4096*batch"
    assert int(p.card("params")["data-value"]) == 4096
    row = p.json("onnxstat-nodes")["rows"][0]
    assert "4096*batch" in row and "batchx64" in row


def test_model_without_nodes_renders():
    page = render_html(_bare_profile([], {"macs": 0, "flops": 0, "params": 0, "weight_bytes": 0, "memory_traffic_bytes": 0}))
    p = Page(page)
    assert p.json("onnxstat-nodes")["rows"] == []
    assert int(p.card("macs")["data-value"]) == 0
    assert "(in memory)" in page


def test_cli_output_is_a_directory(tmp_path):
    r = CliRunner().invoke(cli, ["report", str(CNN), "-o", str(tmp_path)])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "is a directory" in lines[0]
