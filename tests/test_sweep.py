"""Sweeps over dim values (onnxstat.sweep): rows, exponents, renderers, plot, errors."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import pytest

from onnxstat.errors import UsageError
from onnxstat.multi.sweep import (
    MAX_ROWS,
    SCHEMA,
    fit_exponents,
    parse_sweep,
    plot_format,
    plot_sweep,
    print_sweep,
    render_sweep,
    render_sweep_plot,
    sweep,
    sweep_csv,
    sweep_markdown,
)

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
TRANSFORMER = SAMPLES / "transformer.onnx"


def transformer_macs(batch: int, seq: int) -> int:
    # per token: Q, K, V, O projections 4 x 64 x 64 = 16384 and MLP 64x256 + 256x64 = 32768;
    # attention: Q.K^T and P.V, 4 heads x seq x seq x 16 each = 128 seq^2 per sequence
    return batch * (128 * seq * seq + 49152 * seq)


def slope(xs, ys) -> float:
    """Least-squares slope of ys on xs (by the textbook formula)."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


@pytest.fixture(scope="module")
def tr_sweep():
    return sweep(TRANSFORMER, {"seq": [128, 256, 512, 1024], "batch": [1, 8]})


# --------------------------------------------------------------------------- rows and exponents


def test_rows_one_per_combination_first_dim_slowest(tr_sweep):
    assert tr_sweep.dims == ["seq", "batch"]
    assert [tuple(r["dims"].values()) for r in tr_sweep.rows] == [
        (128, 1), (128, 8), (256, 1), (256, 8), (512, 1), (512, 8), (1024, 1), (1024, 8)
    ]
    for r in tr_sweep.rows:
        assert r["macs"] == transformer_macs(r["dims"]["batch"], r["dims"]["seq"])
        assert r["memory_traffic_bytes"] == r["bytes_read"] + r["bytes_written"]
    assert len({r["params"] for r in tr_sweep.rows}) == 1  # weights do not depend on the dims


def test_peak_activation_is_kept_when_the_profile_has_it(tr_sweep):
    import onnxstat

    res = onnxstat.profile(TRANSFORMER, dims={"batch": 8, "seq": 256})
    row = next(r for r in tr_sweep.rows if r["dims"] == {"seq": 256, "batch": 8})
    if res.totals.peak_activation_bytes is None:
        assert "peak_activation_bytes" not in row
    else:
        assert row["peak_activation_bytes"] == res.totals.peak_activation_bytes
        # the activations grow with the batch (small shape tensors do not)
        row1 = next(r for r in tr_sweep.rows if r["dims"] == {"seq": 256, "batch": 1})
        assert 7 * row1["peak_activation_bytes"] < row["peak_activation_bytes"] <= 8 * row1["peak_activation_bytes"]


def test_exponents_match_a_hand_least_squares(tr_sweep):
    # MACs = batch * f(seq): on a full grid the batch exponent is exactly 1 and the seq exponent is
    # the slope of log f(seq) against log seq
    seqs = [128, 256, 512, 1024]
    want = slope([math.log(s) for s in seqs], [math.log(transformer_macs(1, s)) for s in seqs])
    ex = fit_exponents(tr_sweep.rows, ["seq", "batch"], "macs")
    assert ex["batch"] == pytest.approx(1.0, abs=1e-4)
    assert ex["seq"] == pytest.approx(want, abs=1e-4)
    assert 1.0 < ex["seq"] < 2.0  # between the linear projections and the quadratic attention


def test_counted_metrics_scale_by_their_exact_polynomial(tr_sweep):
    # not one fitted exponent: the polynomial transformer_macs is, 128·batch·seq² + 49152·batch·seq
    import sympy

    f = tr_sweep.formulas["macs"]
    b, s = sympy.symbols("batch seq")
    assert sympy.expand(sympy.sympify(f["exact"]) - (128 * b * s**2 + 49152 * b * s)) == 0
    assert f["pretty"] == "128·batch·seq² + 49152·batch·seq" and f["trend"] == "O(batch·seq²)"
    assert "macs" not in tr_sweep.exponents
    assert tr_sweep.scaling_text("macs") == "= 128·batch·seq² + 49152·batch·seq, O(batch·seq²)"
    # FLOPs: 280·seq² + 101312·seq per sequence (the symbolic suite derives both terms)
    assert tr_sweep.formulas["flops"]["pretty"] == "280·batch·seq² + 101312·batch·seq"


def test_fit_exponents_on_a_pure_power_law():
    # 5 * seq^2 * batch^3 over a 3 x 2 grid: exponents exactly 2 and 3
    rows = [{"dims": {"seq": s, "batch": b}, "m": 5 * s**2 * b**3} for s in (10, 20, 40) for b in (1, 4)]
    ex = fit_exponents(rows, ["seq", "batch"], "m")
    assert ex["seq"] == pytest.approx(2.0, abs=1e-9) and ex["batch"] == pytest.approx(3.0, abs=1e-9)
    # a dim with one value gets no exponent; missing / zero values are left out
    rows2 = [{"dims": {"seq": s, "batch": 1}, "m": s if s != 40 else 0} for s in (10, 20, 40)]
    assert fit_exponents(rows2, ["seq", "batch"], "m") == {"seq": pytest.approx(1.0)}
    rows3 = [{"dims": {"seq": 10}, "m": None}, {"dims": {"seq": 20}, "m": 3}]
    assert fit_exponents(rows3, ["seq"], "m") == {"seq": None}


def test_sweep_with_bench_measures_latency():
    res = sweep(SAMPLES / "cnn.onnx", {"batch": [1, 4]}, bench=True, bench_options={"warmup": 1, "runs": 3})
    for r in res.rows:
        assert r["latency_ms"] > 0 and r["latency_p50_ms"] > 0
    assert "latency_ms" in res.exponents and res.exponents["latency_ms"]["batch"] is not None
    assert res.settings["bench"] is True


# --------------------------------------------------------------------------- formats


def test_json_contract(tr_sweep):
    d = json.loads(json.dumps(tr_sweep.to_dict()))
    assert d["schema"] == SCHEMA == "onnxstat.sweep/1"
    assert d["dims"] == ["seq", "batch"]
    assert d["rows"][0]["dims"] == {"seq": 128, "batch": 1}
    assert d["rows"][0]["macs"] == transformer_macs(1, 128)
    assert d["formulas"]["macs"]["trend"] == "O(batch·seq²)" and "macs" not in d["exponents"]
    assert d["settings"]["grid"] == {"seq": [128, 256, 512, 1024], "batch": [1, 8]}


def test_csv_has_exact_integers(tr_sweep):
    rows = list(csv.DictReader(io.StringIO(sweep_csv(tr_sweep))))
    assert len(rows) == 8
    assert list(rows[0])[:4] == ["seq", "batch", "macs", "flops"]
    assert int(rows[-1]["macs"]) == transformer_macs(8, 1024)


def test_markdown_and_table(tr_sweep):
    md = sweep_markdown(tr_sweep)
    assert "| seq | batch | MACs |" in md and "- MACs = 128·batch·seq² + 49152·batch·seq, O(batch·seq²)" in md
    assert "Peak activations ∝ seq^" in md  # no formula for the liveness peak: fitted
    assert md.count("\n| 1024 |") == 2
    text = render_sweep(tr_sweep, "table")
    assert "Sweep over seq, batch" in text and "1.48 G" in text  # 1,476,395,008 MACs at seq 1024, batch 8
    assert render_sweep(tr_sweep, "json").startswith("{")
    with pytest.raises(UsageError):
        render_sweep(tr_sweep, "yaml")


def test_plot_png_and_svg(tr_sweep, tmp_path):
    png = tmp_path / "sweep.png"
    svg = tmp_path / "sweep.svg"
    plot_sweep(tr_sweep, png)
    plot_sweep(tr_sweep, svg)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.read_text()
    assert "<svg" in text and "O(batch·seq²)" in text  # the trend is in the titles
    assert "transformer.onnx: cost against seq" in text  # a figure title
    # axes in the report's units (M, MB), not powers of ten
    assert "MB" in text and "10^{" not in text and "1e7" not in text
    assert sorted(os.listdir(tmp_path)) == ["sweep.png", "sweep.svg"]  # no temporary files left
    with pytest.raises(UsageError, match="extension"):
        plot_format(tmp_path / "sweep.pdf")
    with pytest.raises(UsageError):
        plot_format(tmp_path / "missing_dir" / "x.png")
    with pytest.raises(UsageError):
        render_sweep_plot(tr_sweep, "png", x="nope")


# --------------------------------------------------------------------------- bad input


def test_parse_sweep():
    assert parse_sweep(["seq=128,256, 512", "batch=1,8,1"]) == {"seq": [128, 256, 512], "batch": [1, 8]}
    for bad, msg in [
        (["seq"], "NAME=V1"),
        (["=1,2"], "empty dim name"),
        (["seq="], "no values"),
        (["seq=1,,2"], "empty value"),
        (["seq=1,x"], "not an integer"),
        (["seq=0,4"], "positive"),
        (["seq=1", "seq=2"], "twice"),
    ]:
        with pytest.raises(UsageError, match=msg):
            parse_sweep(bad)


def test_bad_grids_are_usage_errors():
    with pytest.raises(UsageError, match="not a symbolic input dim"):
        sweep(TRANSFORMER, {"tokens": [1, 2]})
    with pytest.raises(UsageError, match="both"):
        sweep(TRANSFORMER, {"seq": [1, 2]}, dims={"seq": 4})
    with pytest.raises(UsageError, match="fixed by input_shapes"):
        sweep(TRANSFORMER, {"seq": [1, 2]}, input_shapes={"x": (1, 4, 64)})
    with pytest.raises(UsageError, match="at least one"):
        sweep(TRANSFORMER, {})
    with pytest.raises(UsageError, match="positive"):
        sweep(TRANSFORMER, {"seq": [0]})
    with pytest.raises(UsageError, match="positive"):
        sweep(TRANSFORMER, {"seq": [True]})
    with pytest.raises(UsageError, match=f"at most {MAX_ROWS}"):
        sweep(TRANSFORMER, {"seq": list(range(1, 101)), "batch": list(range(1, 12))})


def test_print_sweep_to_console(tr_sweep):
    from rich.console import Console

    buf = io.StringIO()
    print_sweep(tr_sweep, Console(file=buf, width=200, color_system=None))
    assert "MACs = 128·batch·seq² + 49152·batch·seq, O(batch·seq²)" in buf.getvalue()
