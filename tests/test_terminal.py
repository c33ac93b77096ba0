"""What a person reads: terminal tables that fit 80 and 200 columns without a wrapped
number, text from the model made safe for every format, the format taken from -o's
extension, and the settings that decide the numbers shown before the tables."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from helpers import assert_error, run_cli
from onnxstat.render import layout, formats as render, textsafe, units

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
TRANSFORMER = SAMPLES / "transformer.onnx"
MLP = SAMPLES / "mlp.onnx"


#: a cell boundary: spaces, or the box's vertical rule
S = r"[\s│]"


def rendered(res, width: int, **kw) -> str:
    buf = io.StringIO()
    render.print_table(res, console=render.make_console(file=buf, width=width, color_system=None), **kw)
    return buf.getvalue()


def long_names_model() -> onnx.ModelProto:
    """Deep scope paths, two op types that share a prefix (Constant, ConstantOfShape) and
    large counts: what wraps at 80 columns."""
    nodes, inits = [], []
    x = "x"
    for i in range(4):
        w = f"encoder/layers.{i}/self_attention/query_key_value/weight"
        inits.append(numpy_helper.from_array(np.zeros((1024, 1024), np.float32), w))
        nodes.append(helper.make_node("MatMul", [x, w], [f"h{i}"],
                                      name=f"/encoder/layers.{i}/self_attention/query_key_value/MatMul"))
        x = f"h{i}"
    nodes.append(helper.make_node("Constant", [], ["shp"], name="/encoder/Constant_shape",
                                  value=numpy_helper.from_array(np.array([2, 3], np.int64))))
    nodes.append(helper.make_node("ConstantOfShape", ["shp"], ["z"], name="/encoder/ConstantOfShape_fill"))
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [128, 2048, 1024])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, None),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


# --------------------------------------------------------------------------- width


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("which", ["transformer", "long_names"])
def test_tables_fit_and_no_number_wraps(width, which):
    res = onnxstat.profile(TRANSFORMER if which == "transformer" else long_names_model())
    text = rendered(res, width)
    lines = text.splitlines()
    assert all(layout.cell_len(line.rstrip()) <= width for line in lines), max(len(x) for x in lines)
    # every node is one line holding its numbers and shape whole
    headers, rows = render.node_table(res, None)
    for cells in rows:
        op, shape, macs, flops, traffic = cells[1], cells[3], cells[4], cells[5], cells[7]
        tail = rf"{S}{re.escape(macs)}{S}+{re.escape(flops)}{S}.*{re.escape(traffic)}{S}*$"
        hits = [line for line in lines if re.search(rf"{S}{re.escape(shape)}{S}.*" + tail, line)
                and (op in line or "…" in line)]
        assert hits, (cells, text)
    # the op-type table: one line per op type with every number
    for r in render.op_rows(res):
        assert any(re.search(rf"{S}{re.escape(str(r[1]))}{S}+{re.escape(r[2])}{S}+{re.escape(r[3])}{S}", line)
                   for line in lines), (r, text)
    # summary numbers stay whole on their line
    for value in (units.si(res.totals.flops), units.nbytes(res.totals.memory_traffic_bytes)):
        assert any(value in line for line in lines), value


def test_80_columns_shortens_paths_from_the_left_and_keeps_op_types_apart():
    res = onnxstat.profile(long_names_model())
    text = rendered(res, 80)
    assert "…" in text
    # the end of the path is kept; paths that would then read the same keep where they differ
    shown = [line.split()[0] for line in text.splitlines() if "128x2048x1024" in line and "MatMul" in line]
    assert len(shown) == 4 and len(set(shown)) == 4, shown
    assert all(s.startswith("…") and s.endswith("MatMul") and f"s.{i}/" in s for i, s in enumerate(shown)), shown
    line_c = next(line for line in text.splitlines() if "Constant_shape" in line)
    line_cos = next(line for line in text.splitlines() if "OfShape_fill" in line)
    assert "ConstantOfShape" in line_cos and "ConstantOfShape" not in line_c
    # 200 columns: nothing shortened, boxed table, every column
    wide = rendered(res, 200)
    assert "/encoder/layers.0/self_attention/query_key_value/MatMul" in wide
    assert "Precision" in wide and "not shown" not in wide


def test_narrow_terminal_drops_columns_by_priority_and_says_so():
    res = onnxstat.profile(TRANSFORMER)
    text = rendered(res, 60)
    assert "not shown at 60 columns" in text
    assert all(layout.cell_len(line.rstrip()) <= 60 for line in text.splitlines())
    node_head = text[text.index("Nodes (graph order)"):].splitlines()[1:4]
    assert any("FLOPs" in h for h in node_head)  # FLOPs is kept longest after the names


def test_fit_priorities():
    cols = [layout.Col("Name", "left", 0, shrink=True, min_width=6), layout.Col("A", priority=1),
            layout.Col("B", priority=9)]
    rows = [["abcdefghijklmnop", "1.00 M", "2.00 K"]]
    assert layout.fit(cols, rows, 80).boxed
    f = layout.fit(cols, rows, 26)  # compact: 16 + 6 + 6 + 2 gaps of 2 = 32 > 26 -> Name shrinks to 10
    assert not f.boxed and f.keep == [0, 1, 2] and f.widths[0] == 10
    f = layout.fit(cols, rows, 15)  # even at Name=6 too wide: B goes first
    assert f.keep == [0, 1] and f.dropped == ["B"]
    assert layout.shorten_left("a/b/c/Conv_0", 8) == "…/Conv_0"


def test_wrap_value_never_splits_a_number_from_its_unit():
    lines = layout.wrap_value("226.98 KB (read 214.49 KB, written 12.50 KB)", 20)
    assert lines == ["226.98 KB", "(read 214.49 KB,", "written 12.50 KB)"]


# --------------------------------------------------------------------------- hostile names

FORGED = "onnxstat: error: forged"
EVIL = ("evil\r\x1b[2J\x1b]8;;http://x.invalid/\x1b\\link\x1b]8;;\x1b\\\n" + FORGED + "|a,b\"c\u202e\x9b31m")


def evil_model(tmp_path) -> Path:
    node = helper.make_node("Relu", [EVIL + "in"], [EVIL + "out"], name=EVIL)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info(EVIL + "in", TensorProto.FLOAT, [2, "b\x1b[0m"])],
                          [helper.make_tensor_value_info(EVIL + "out", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="p\x1b[31m\rq")
    p = tmp_path / "evil.onnx"
    onnx.save(m, p)
    return p


def _no_raw_controls(text: str) -> None:
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", text), repr(text)
    assert not any(line.lstrip().startswith("onnxstat: error") for line in text.splitlines())


def test_term_escapes_every_control_character():
    assert textsafe.term("a\rb\nc\td\x1b[31m\x9b\u202e\x00") == "a\\rb\\nc\\td\\x1b[31m\\x9b\\u202e\\x00"
    assert textsafe.term("plain ünïcode → ok") == "plain ünïcode → ok"


def test_terminal_table_escapes_names(tmp_path):
    r = run_cli("profile", evil_model(tmp_path))
    assert r.exit_code == 0, r.stderr
    _no_raw_controls(r.stdout)
    _no_raw_controls(r.stderr)
    assert "\\x1b]8;;http://x.invalid/" in r.stdout or "…" in r.stdout
    assert "p\\x1b[31m\\rq" in r.stdout  # producer metadata


def test_csv_round_trips_names(tmp_path):
    r = run_cli("profile", evil_model(tmp_path), "--format", "csv")
    assert r.exit_code == 0, r.stderr
    rows = [row for row in csv.reader(io.StringIO(r.stdout)) if row and not row[0].startswith("#")]
    assert rows[0][0] == "path" and rows[-1][0] == "TOTAL"
    assert [row[0] for row in rows[1:-1]] == [EVIL]
    assert rows[1][1] == "Relu"
    comments = [line for line in r.stdout.splitlines() if line.startswith("#")]
    for line in comments:
        _no_raw_controls(line)


def test_markdown_cells_stay_cells(tmp_path):
    r = run_cli("profile", evil_model(tmp_path), "--format", "markdown")
    assert r.exit_code == 0, r.stderr
    _no_raw_controls(r.stdout)
    node_section = r.stdout[r.stdout.index("## Nodes"):r.stdout.index("## Unsupported")]
    table = [line for line in node_section.splitlines() if line.startswith("|")]
    assert len(table) == 3  # header, rule, the one node
    # the cell count is right: escaped pipes do not split cells
    assert len(re.split(r"(?<!\\)\|", table[2])) == len(re.split(r"(?<!\\)\|", table[0]))
    assert textsafe.md("a|b*c_d<e>") == "a\\|b\\*c\\_d\\<e\\>"


def test_json_keeps_names_exact(tmp_path):
    r = run_cli("profile", evil_model(tmp_path), "--format", "json")
    assert json.loads(r.stdout)["nodes"][0]["name"] == EVIL


def test_error_line_escapes_control_characters(tmp_path):
    bad = tmp_path / "x\x1b[2Jy.onnx"
    r = run_cli("profile", bad)
    line = assert_error(r, 2)
    assert "\x1b" not in line and "\\x1b[2J" in line


# --------------------------------------------------------------------------- -o extension


@pytest.mark.parametrize("ext, check", [
    ("json", lambda t: json.loads(t)["schema"] == "onnxstat.profile/1"),
    ("csv", lambda t: t.startswith('"path","op_type"')),
    ("md", lambda t: t.startswith("# onnxstat profile")),
    ("html", lambda t: t.lstrip().lower().startswith("<!doctype html")),
    ("txt", lambda t: "By op type" in t),
])
def test_format_follows_the_extension(tmp_path, ext, check):
    out = tmp_path / f"cost.{ext}"
    r = run_cli("profile", MLP, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert check(out.read_text()), out.read_text()[:200]


def test_format_conflicting_with_extension_is_an_error(tmp_path):
    out = tmp_path / "cost.json"
    assert_error(run_cli("profile", MLP, "--format", "csv", "-o", out), 2, "--format csv contradicts", "cost.json")
    assert not out.exists()
    # a command without that format says so
    assert_error(run_cli("ops", "-o", tmp_path / "ops.csv"), 2, "not csv")


def test_explicit_format_matching_extension(tmp_path):
    out = tmp_path / "cost.json"
    assert run_cli("profile", MLP, "--format", "json", "-o", out).exit_code == 0
    assert json.loads(out.read_text())["totals"]["params"] == 235146


# --------------------------------------------------------------------------- settings first


def test_warnings_go_to_stderr_before_the_tables():
    r = run_cli("profile", TRANSFORMER)
    assert r.exit_code == 0
    assert "warning" not in r.stdout
    assert "onnxstat: warning:" in r.stderr


def test_dims_row_names_defaulted_dims():
    res = onnxstat.profile(TRANSFORMER, dims={"seq": 8})
    res.settings["defaulted_dims"] = {"batch": 1}  # what the shape resolution records for dims not set
    rows = dict(render.header_rows(res))
    assert rows["Dims"] == "seq=8, batch=1 (default: not set)"
    names = [k for k, _ in render.header_rows(res)]
    assert names.index("Dims") == names.index("Input") + 1
    text = rendered(res, 80)
    assert "batch=1 (default: not set)" in text


def test_every_command_table_escapes_names(tmp_path):
    # compare and batch build their own tables: the console escapes them too
    a = evil_model(tmp_path)
    b = tmp_path / "evil\x1b[31m2.onnx"
    b.write_bytes(a.read_bytes())
    r = run_cli("compare", a, b)
    assert r.exit_code == 0, r.stderr
    _no_raw_controls(r.stdout)
    r = run_cli("profile", a, b)  # several models: one summary row each
    assert r.exit_code == 0, r.stderr
    _no_raw_controls(r.stdout)
    assert "evil\\x1b[31m2.onnx" in r.stdout


def test_bench_kernel_tables_fit_80_columns():
    pytest.importorskip("onnxruntime")
    from onnxstat import bench as B

    res = onnxstat.bench(str(MLP), runs=3, warmup=1, per_node=True)
    buf = io.StringIO()
    B.print_table(res, None, render.make_console(file=buf, width=80, color_system=None))
    text = buf.getvalue()
    assert all(layout.cell_len(line.rstrip()) <= 80 for line in text.splitlines())
    kernels = text[text.index("Kernels ("):text.index("By op type")]
    for r in B.top_nodes(res, None):
        cells = B._node_cells(r, True)
        # the mean time and the share are whole, on the kernel's one line
        assert any(cells[4] in line and cells[5] in line for line in kernels.splitlines()), (cells, kernels)
    assert "…" not in kernels.replace("(not shown", "")
