"""--symbolic as a person reads it: formulas first, exact coefficients, a trend, and a
defined combination with --sweep."""

from __future__ import annotations

import json
from pathlib import Path

import sympy

import onnxstat
from helpers import assert_error, run_cli
from onnxstat.passes.symbolic import pretty, trend

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
TRANSFORMER = SAMPLES / "transformer.onnx"


def test_exact_coefficients_of_the_transformer():
    sym = onnxstat.symbolic(TRANSFORMER)
    # FLOPs per token (seq terms): MatMul projections 4 x 2·64·64 = 32768 and MLP 2·(64·256 + 256·64)
    # = 65536 -> 98304; LayerNorm 2 x 8·64 = 1024; Add 960 (biases 3·64 + 64 + 256 + 64, residuals 2·64,
    # GELU +1 256); Mul 512 (GELU ·x, ·0.5); Erf 256; Div 256 (GELU x/√2) -> 101312.
    # seq² terms: QKᵀ and PV 2 x 2·4·16 = 256, Softmax 5·4 = 20, scale Div 4 -> 280.
    assert pretty(sym.totals["flops"]) == "280·batch·seq² + 101312·batch·seq"
    assert pretty(sym.totals["macs"]) == "128·batch·seq² + 49152·batch·seq"
    assert pretty(sym.totals["params"]) == "49984"  # no rounding (was 5e4-style with 3 digits)
    assert trend(sym.totals["flops"]) == "O(batch·seq²)" and trend(sym.totals["params"]) == "O(1)"
    d = sym.to_dict()
    assert d["symbolic"]["trend"]["macs"] == "O(batch·seq²)"
    assert d["symbolic"]["pretty"]["flops"] == "280·batch·seq² + 101312·batch·seq"


def test_trend_and_rationals():
    b, s, h = sympy.symbols("batch seq height")
    assert trend(3 * b * s + 7 * s**3 + 5) == "O(seq³)"
    assert trend(3 * b * s**2 + 7 * s**3) == "O(batch·seq² + seq³)"  # same total degree: both
    assert trend(2 * b * s + 3 * h * s + 1) == "O(batch·seq + height·seq)"
    assert trend(sympy.floor((h + 1) / 2) * 4) == "O(height)"
    assert pretty(sympy.Rational(3, 4) * s + sympy.Rational(1, 3)) == "3/4·seq + 1/3"


def test_cli_prints_the_formulas_first_and_no_default_warning():
    r = run_cli("profile", TRANSFORMER, "--symbolic", "--no-nodes")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert out.index("Costs as formulas of batch, seq") < out.index("By op type")
    assert "280·batch·seq² + 101312·batch·seq" in out and "O(batch·seq²)" in out
    assert "The tables below are the profile at batch=1, seq=1" in out
    assert "unresolved dims set to 1" not in r.stderr  # the formulas cover those dims


def test_markdown_puts_the_formulas_first():
    r = run_cli("profile", TRANSFORMER, "--symbolic", "--format", "markdown")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.index("## Costs as formulas") < r.stdout.index("## Totals")
    assert "| FLOPs | O(batch·seq²) | 280·batch·seq² + 101312·batch·seq |" in r.stdout


def test_symbolic_with_sweep_is_defined():
    r = run_cli("profile", TRANSFORMER, "--dim", "batch=2", "--sweep", "seq=8,16", "--symbolic", "--format", "json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    # the sweep's own polynomial in seq (batch fixed at 2) and the full formulas
    assert d["formulas"]["macs"]["pretty"] == "256·seq² + 98304·seq"
    assert [row["macs"] for row in d["rows"]] == [256 * 64 + 98304 * 8, 256 * 256 + 98304 * 16]
    assert "totals_symbolic" in d and d["symbolic"]["symbols"] == ["seq"]
    t = run_cli("profile", TRANSFORMER, "--dim", "batch=2", "--sweep", "seq=8,16", "--symbolic")
    assert t.exit_code == 0 and "MACs = 256·seq² + 98304·seq, O(seq²)" in t.stdout and "Costs as formulas" in t.stdout
    assert_error(run_cli("profile", TRANSFORMER, "--sweep", "seq=8,16", "--symbolic", "--format", "csv"), 2,
                 "--symbolic with --sweep")
