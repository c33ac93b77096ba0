"""One vocabulary for units: OP/s for integer precisions, one time unit per table, FPS
and speedup defined once and the same in the terminal, JSON, Markdown and HTML."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

import onnxstat
from onnxstat.multi.compare import compare, render_text
from onnxstat.passes.roofline import attach_roofline, get_device, summary_rows
from onnxstat.render import formats as render
from onnxstat.render import units
from onnxstat.render.report import compare_view

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"


def test_rates_by_precision():
    assert units.rate(989e12, "fp16") == "989.00 TFLOP/s"
    assert units.rate(1979e12, "int8") == "1979.00 TOP/s"
    assert units.rate(130e12, "int8") == "130.00 TOP/s"
    assert units.rate(19.5e12, "fp32") == "19.50 TFLOP/s"


def test_time_unit_and_duration():
    assert units.time_unit([9.262e-7, 2e-7]) == (1e-9, "ns")
    assert units.time_unit([2e-6, 2e-7]) == (1e-6, "µs")
    assert units.time_unit([0.0015, 0.0002]) == (1e-3, "ms")
    assert units.duration(9.262e-7) == "926.2 ns"
    # one unit for a table: the small value in the large value's unit
    tu = units.time_unit([1.5e-3, 2e-6])
    assert units.duration(2e-6, tu) == "0.002 ms" and units.duration(1.5e-3, tu) == "1.5 ms"


def test_fps_and_speedup_definitions():
    assert units.fps(4, 2.0) == 2000.0  # 4 samples * 1000 / 2 ms
    assert units.fps_text(12945.2) == "12,945.2 FPS"
    assert units.speedup(2.4, 0.8) == pytest.approx(3.0)  # baseline mean / model mean
    assert units.speedup_text(3.0) == "3.00×"
    assert units.speedup(None, 1.0) is None and units.speedup_text(None) == "-"


def test_roofline_summary_int8_peak_in_ops_and_one_time_unit():
    res = onnxstat.profile(str(SAMPLES / "cnn_int8_qoperator.onnx"), dims={"batch": 1})
    rl = attach_roofline(res, get_device("h100"), measured_latency_s=2.5e-3)
    rows = dict(summary_rows(rl))
    assert "int8 1979.00 TOP/s" in rows["Device"] and "int8 1.98 PFLOP/s" not in rows["Device"]
    assert "fp32" in rows["Device"] and "TFLOP/s" in rows["Device"]
    lat_unit = rows["Roofline latency"].split(" (")[0].split()[1]
    measured_unit = rows["Roofline efficiency"].rsplit(" ", 1)[1].rstrip(")")
    assert lat_unit == measured_unit == "ms"  # 2.5 ms measured sets the unit for both


def test_node_table_roofline_column_has_one_unit():
    res = onnxstat.profile(str(SAMPLES / "cnn.onnx"), dims={"batch": 1}, device="h100")
    headers, rows = render.node_table(res, None)
    col = headers.index("Roofline")
    used = {r[col].split()[1] for r in rows if r[col] != "-"}
    assert len(used) == 1, used


def fake_bench(latencies):
    mod = types.ModuleType("onnxstat.runtime.bench")

    class R:
        def __init__(self, p50, mean):
            self.p50, self.mean = p50, mean

        def to_dict(self):
            return {"latency_ms": {"p50": self.p50, "p90": 1.5 * self.p50, "mean": self.mean},
                    "fps": units.fps(1, self.mean), "batch": 1}

    def bench(model, input_shapes=None, dims=None, *, runs=100, warmup=10):
        return R(*latencies[Path(str(model)).name])

    mod.bench = bench
    return mod


def test_speedup_is_the_same_number_in_every_format(monkeypatch):
    # p50 and mean disagree on purpose: speedup follows the means, 2.4 / 0.8 = 3.00
    monkeypatch.setitem(sys.modules, "onnxstat.runtime.bench",
                        fake_bench({"cnn.onnx": (2.0, 2.4), "cnn_int8_qdq.onnx": (2.2, 0.8)}))
    cmp = compare([str(SAMPLES / "cnn.onnx"), str(SAMPLES / "cnn_int8_qdq.onnx")], dims={"batch": 1}, bench=True)
    expected = 2.4 / 0.8
    doc = json.loads(render_text(cmp, "json"))
    assert doc["ratios"]["speedup"][1] == pytest.approx(expected)
    assert doc["ratios"]["fps"][1] == pytest.approx(expected)  # FPS ratio: the same definition
    table = render_text(cmp, "table", width=200)
    line = next(x for x in table.splitlines() if "Speedup" in x)
    assert "3.00×" in line
    md = render_text(cmp, "markdown")
    assert "| Speedup (baseline mean / mean) | 1.00× | 3.00× |" in md
    view = compare_view(doc)
    row = next(r for r in view["rows"] if r["key"] == "speedup")
    assert [c["human"] for c in row["cells"]] == ["1.00×", "3.00×"]
    assert float(row["cells"][1]["value"]) == pytest.approx(expected)
