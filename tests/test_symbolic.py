"""Costs as formulas of the symbolic dims (onnxstat.symbolic).

The must-show property: a formula evaluated at a concrete point equals the
concrete profile at that point exactly (every total, every op type), on the
bundled transformer (quadratic in seq), the CNN (linear in batch) and a copy of
the CNN whose height and width are symbolic (quadratic in resolution).  Formulas
are also compared with MAC counts derived by hand from the architectures.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import onnx
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import onnxstat
import zoo
from op_handlers import REGISTRY
from onnxstat.errors import UsageError
from onnxstat.passes.symbolic import (
    MAX_PROBES,
    METRICS,
    TOTAL_METRICS,
    _DimFitter,
    _floor_candidates,
    _floor_expr,
    _poly_fit,
    evaluate,
    exact,
    model_symbols,
    pretty,
    print_symbolic,
    probe_points,
    smooth,
    symbol,
    symbolic_lines,
    symbolic_markdown,
    symbolic_profile,
)
from onnxstat.model.loader import load

SAMPLES = Path(__file__).resolve().parent.parent / "sample_models"
F = TensorProto.FLOAT

B, S, H, W = (symbol(n) for n in ("batch", "seq", "height", "width"))


def concrete_totals(model, point, **kw) -> dict[str, int]:
    res = onnxstat.profile(model, dims=point, **kw)
    t = res.totals
    return {m: getattr(t, m) for m in TOTAL_METRICS}, res


def assert_matches_profile(sym, model, point):
    """Every total and every op-type row of the formulas equals the concrete profile at ``point``."""
    want, res = concrete_totals(model, point)
    assert sym.at(point) == want, point
    rows = {(r.domain, r.op_type): r for r in res.by_op_type}
    assert {(d, o) for d, o, _ in sym.by_op_type} == set(rows)
    for dom, op, costs in sym.by_op_type:
        r = rows[(dom, op)]
        for m in METRICS + ("memory_traffic_bytes",):
            assert evaluate(costs[m], point) == getattr(r, m), (op, m, point)


def symbolic_resolution_cnn() -> onnx.ModelProto:
    """cnn.onnx with input dims 2 and 3 renamed to the symbols height / width."""
    m = onnx.load(str(SAMPLES / "cnn.onnx"))
    dims = m.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 3, 64, 64]
    dims[2].Clear()
    dims[2].dim_param = "height"
    dims[3].Clear()
    dims[3].dim_param = "width"
    return m


def cnn_macs_by_hand(b: int, h: int, w: int) -> int:
    """cnn.onnx MACs at [b, 3, h, w] (README: conv 3->16 k3 same, BN, ReLU, MaxPool 2x2,
    block 2x conv 16->16 k3 same, conv 16->32 k3 s2 p1, GAP, Gemm 32->10)."""
    h2, w2 = h // 2, w // 2  # MaxPool kernel 2 stride 2
    h4, w4 = (h2 + 2 - 3) // 2 + 1, (w2 + 2 - 3) // 2 + 1  # conv k3 s2 p1
    return b * (
        h * w * 16 * 3 * 9  # conv1: out pixels x c_out x c_in x k x k
        + 2 * h2 * w2 * 16 * 16 * 9  # the two block convs
        + h4 * w4 * 32 * 16 * 9  # conv2
        + 32 * 10  # Gemm
    )


@pytest.fixture(scope="module")
def transformer_sym():
    return symbolic_profile(SAMPLES / "transformer.onnx")


@pytest.fixture(scope="module")
def cnn_sym():
    return symbolic_profile(SAMPLES / "cnn.onnx")


@pytest.fixture(scope="module")
def cnn_res_sym():
    return symbolic_profile(symbolic_resolution_cnn())


# --------------------------------------------------------------------------- the transformer: quadratic in seq


def test_transformer_macs_formula_by_hand(transformer_sym):
    # per token: Q, K, V, O projections 4 x 64x64 = 16384, MLP 64x256 + 256x64 = 32768 -> 49152;
    # attention per sequence: Q.K^T 4 heads x seq x seq x 16 = 64 seq^2, P.V the same -> 128 seq^2
    assert transformer_sym.symbols == ["batch", "seq"]
    assert sympy.expand(transformer_sym.totals["macs"] - (128 * B * S**2 + 49152 * B * S)) == 0
    assert exact(transformer_sym.totals["macs"]) == "128*batch*seq**2 + 49152*batch*seq"
    assert pretty(transformer_sym.totals["macs"]) == "128·batch·seq² + 49152·batch·seq"
    # the weights do not depend on the dims
    assert isinstance(transformer_sym.totals["params"], int)
    assert transformer_sym.fallback == {} and transformer_sym.fitted_nodes == []


@pytest.mark.parametrize("batch,seq", [(1, 1), (1, 128), (3, 77), (8, 1000), (2, 4096)])
def test_transformer_formulas_equal_concrete_profile(transformer_sym, batch, seq):
    assert_matches_profile(transformer_sym, SAMPLES / "transformer.onnx", {"batch": batch, "seq": seq})


def test_transformer_attention_matmuls_are_the_seq_squared_part(transformer_sym):
    rows = {op: c for _d, op, c in transformer_sym.by_op_type}
    # MatMul MACs: projections 49152 per token + attention 128 seq^2 (both MatMul in this export)
    assert sympy.expand(rows["MatMul"]["macs"] - (128 * B * S**2 + 49152 * B * S)) == 0
    # Softmax over [batch, 4, seq, seq]: its FLOPs are a multiple of batch*seq^2
    sm = sympy.Poly(rows["Softmax"]["flops"], B, S)
    assert sm.monoms() == [(1, 2)]


# --------------------------------------------------------------------------- the CNN: linear in batch


def test_cnn_linear_in_batch(cnn_sym):
    # 1,769,472 (conv1) + 2 x 2,359,296 (block) + 1,179,648 (conv2) + 320 (Gemm) at 64x64 per image
    assert cnn_macs_by_hand(1, 64, 64) == 7_668_032
    assert cnn_sym.symbols == ["batch"]
    assert exact(cnn_sym.totals["macs"]) == "7668032*batch"
    assert pretty(cnn_sym.totals["macs"]) == "7668032·batch"
    for m in TOTAL_METRICS:
        poly = sympy.Poly(sympy.Integer(0) + cnn_sym.totals[m], B)
        assert poly.degree() <= 1, m


@pytest.mark.parametrize("batch", [1, 2, 7, 64, 1000])
def test_cnn_formulas_equal_concrete_profile(cnn_sym, batch):
    assert_matches_profile(cnn_sym, SAMPLES / "cnn.onnx", {"batch": batch})


# --------------------------------------------------------------------------- the CNN at any resolution


def test_cnn_resolution_formula_by_hand(cnn_res_sym):
    assert cnn_res_sym.symbols == ["batch", "height", "width"]
    assert cnn_res_sym.fallback == {}
    expected = (
        432 * B * H * W  # 16 x 3 x 9 per output pixel
        + 4608 * B * sympy.floor(H / 2) * sympy.floor(W / 2)  # 2 x 16 x 16 x 9 after the pool
        + 4608 * B * sympy.floor((sympy.floor(H / 2) + 1) / 2) * sympy.floor((sympy.floor(W / 2) + 1) / 2)  # 32 x 16 x 9
        + 320 * B
    )
    got = cnn_res_sym.totals["macs"]
    for b, h, w in [(1, 64, 64), (2, 65, 63), (1, 224, 224), (3, 97, 301), (1, 2, 2)]:
        env = {"batch": b, "height": h, "width": w}
        assert evaluate(got, env) == evaluate(expected, env) == cnn_macs_by_hand(b, h, w)


def test_cnn_resolution_is_quadratic(cnn_res_sym):
    # dropping the floors leaves the trend: 432 + 4608/4 + 4608/16 = 1872 MACs per batch*height*width
    trend = sympy.Poly(smooth(cnn_res_sym.totals["macs"]), B, H, W)
    assert trend.coeff_monomial(B * H * W) == 1872
    assert max(sum(m[1:]) for m in trend.monoms()) == 2  # quadratic in the resolution
    assert "≈ 1872·batch·height·width" in symbolic_lines(cnn_res_sym)[0]
    # the exact formula shows the strides as floors of the resolution
    assert "⌊height/2⌋" in pretty(cnn_res_sym.totals["macs"])
    assert "⌊(height + 2)/4⌋" in pretty(cnn_res_sym.totals["macs"])


@pytest.mark.parametrize("batch,height,width", [(1, 64, 64), (2, 33, 17), (1, 224, 224), (4, 101, 64), (1, 2, 3)])
def test_cnn_resolution_formulas_equal_concrete_profile(cnn_res_sym, batch, height, width):
    assert_matches_profile(cnn_res_sym, symbolic_resolution_cnn(), {"batch": batch, "height": height, "width": width})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(b=st.integers(1, 6), h=st.integers(2, 700), w=st.integers(2, 700))
def test_cnn_resolution_any_point(cnn_res_sym, b, h, w):
    point = {"batch": b, "height": h, "width": w}
    want, _ = concrete_totals(symbolic_resolution_cnn(), point)
    assert cnn_res_sym.at(point) == want
    assert want["macs"] == cnn_macs_by_hand(b, h, w)


def test_resnet50_resolution_formula_matches_reference():
    # zoo.resnet50 with symbolic height/width: strides 2..32 become ceil(height/2) ... ceil(height/32)
    m = zoo.resnet50(batch="batch")
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].Clear()
    dims[2].dim_param = "height"
    dims[3].Clear()
    dims[3].dim_param = "width"
    sym = symbolic_profile(m)
    # torchvision figure at 224x224 (tests/zoo.py: RESNET50_224_CONV_GEMM_MACS)
    assert evaluate(sym.totals["macs"], {"batch": 1, "height": 224, "width": 224}) == zoo.RESNET50_224_CONV_GEMM_MACS
    assert "⌈height/32⌉" in pretty(sym.totals["macs"])
    for point in ({"batch": 2, "height": 97, "width": 300}, {"batch": 1, "height": 513, "width": 33}):
        assert sym.at(point) == concrete_totals(m, point)[0]


def _patch_model():
    """[batch, 3, height, width] -> Conv k16 s16 (3->8) -> MaxPool k3 s3 ceil_mode -> Conv k3 valid (8->4) -> GAP."""
    nodes = [
        helper.make_node("Conv", ["x", "W1"], ["a"], kernel_shape=[16, 16], strides=[16, 16]),
        helper.make_node("MaxPool", ["a"], ["b"], kernel_shape=[3, 3], strides=[3, 3], ceil_mode=1),
        helper.make_node("Conv", ["b", "W2"], ["c"], kernel_shape=[3, 3]),
        helper.make_node("GlobalAveragePool", ["c"], ["y"]),
    ]
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", F, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("y", F, None)],
        [numpy_helper.from_array(np.ones((8, 3, 16, 16), np.float32), "W1"),
         numpy_helper.from_array(np.ones((4, 8, 3, 3), np.float32), "W2")],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def patch_macs_by_hand(b, h, w):
    p1h, p1w = h // 16, w // 16  # Conv k16 s16, no padding
    p2h, p2w = -(-(p1h - 3) // 3) + 1, -(-(p1w - 3) // 3) + 1  # MaxPool k3 s3, ceil_mode
    p3h, p3w = p2h - 2, p2w - 2  # Conv k3, no padding
    return b * (p1h * p1w * 8 * 3 * 16 * 16 + p3h * p3w * 4 * 8 * 3 * 3)


@pytest.fixture(scope="module")
def patch_sym():
    return symbolic_profile(_patch_model())


def test_large_and_odd_strides(patch_sym):
    # strides 16 and 3 compose into floor((height + 32)/48): the probes that split such fits are added
    assert patch_sym.fallback == {} and patch_sym.warnings == []
    assert len(patch_sym.probes) <= MAX_PROBES
    assert "⌊(height + 32)/48⌋" in pretty(patch_sym.totals["macs"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(b=st.integers(1, 4), h=st.integers(112, 1500), w=st.integers(112, 1500))
def test_large_and_odd_strides_any_point(patch_sym, b, h, w):
    # smallest valid input: 112 (7 patches -> 3 after the pool -> 1 after the valid conv)
    point = {"batch": b, "height": h, "width": w}
    want, _ = concrete_totals(_patch_model(), point)
    assert patch_sym.at(point) == want
    assert want["macs"] == patch_macs_by_hand(b, h, w)


def test_probes_the_model_cannot_take_are_replaced(monkeypatch):
    import onnxstat.passes.symbolic.probes as symmod  # where the probes resolve shapes
    from onnxstat.errors import ShapeError

    real = symmod.resolve

    def picky(lm, input_shapes, dims, **kw):
        if dims.get("batch", 1000) < 200:
            raise ShapeError("batch too small for this test")
        return real(lm, input_shapes, dims, **kw)

    monkeypatch.setattr(symmod, "resolve", picky)
    sym = symbolic_profile(SAMPLES / "cnn.onnx")
    assert all(p["batch"] >= 200 for p in sym.probes) and len(sym.probes) >= 10
    assert any("replaced" in w for w in sym.warnings)
    assert exact(sym.totals["macs"]) == "7668032*batch"


# --------------------------------------------------------------------------- fixed dims, fallbacks


def test_dims_given_are_not_symbols():
    sym = symbolic_profile(SAMPLES / "transformer.onnx", dims={"batch": 4})
    assert sym.symbols == ["seq"]
    assert sympy.expand(sym.totals["macs"] - (4 * 128 * S**2 + 4 * 49152 * S)) == 0
    lm = load(SAMPLES / "transformer.onnx")
    assert model_symbols(lm, {"x": (2, 5, 64)}, {}) == []


def test_no_symbols_gives_constants():
    sym = symbolic_profile(SAMPLES / "mlp.onnx")
    assert sym.symbols == []
    want, _ = concrete_totals(SAMPLES / "mlp.onnx", {})
    assert sym.totals == want
    assert any("no symbolic input dims" in w for w in sym.warnings)


def _nonzero_model():
    # x [n, 4] -> NonZero [2, nnz] -> Cast -> Transpose [nnz, 2] -> MatMul W [2, 8]; and x @ W2 [4, 3]
    nodes = [
        helper.make_node("NonZero", ["x"], ["nz"]),
        helper.make_node("Cast", ["nz"], ["nzf"], to=F),
        helper.make_node("Transpose", ["nzf"], ["t"], perm=[1, 0]),
        helper.make_node("MatMul", ["t", "W"], ["y"]),
        helper.make_node("MatMul", ["x", "W2"], ["z"]),
    ]
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", F, ["n", 4])],
        [helper.make_tensor_value_info("y", F, None), helper.make_tensor_value_info("z", F, None)],
        [numpy_helper.from_array(np.ones((2, 8), np.float32), "W"), numpy_helper.from_array(np.ones((4, 3), np.float32), "W2")],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_data_dependent_dim_falls_back_to_the_given_value():
    m = _nonzero_model()
    sym = symbolic_profile(m)
    (name,) = sym.fallback  # the NonZero count, named by onnx inference
    assert sym.fallback[name] == 1
    n = symbol("n")
    # MatMul [nnz, 2] x [2, 8] = 16 nnz MACs; [n, 4] x [4, 3] = 12 n
    assert sympy.expand(sym.totals["macs"] - (12 * n + 16 * 1)) == 0
    assert any(name in w for w in sym.warnings)
    sym50 = symbolic_profile(m, dims={name: 50})
    assert sym50.fallback == {name: 50}
    assert sympy.expand(sym50.totals["macs"] - (12 * n + 16 * 50)) == 0
    assert not any("matches no symbolic input dim" in w for w in sym50.warnings)
    assert sym50.at({"n": 9}) == concrete_totals(m, {"n": 9, name: 50})[0]


def _clamp_model():
    # x [seq, 8] -> Slice rows [0, 100) -> MatMul W [8, 16]; also x @ W: min(seq, 100) is not polynomial
    nodes = [helper.make_node("Slice", ["x", "st", "en", "ax"], ["s"]), helper.make_node("MatMul", ["s", "W"], ["y"]),
             helper.make_node("MatMul", ["x", "W"], ["z"])]
    inits = [numpy_helper.from_array(np.ones((8, 16), np.float32), "W"), numpy_helper.from_array(np.array([0]), "st"),
             numpy_helper.from_array(np.array([100]), "en"), numpy_helper.from_array(np.array([0]), "ax")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, ["seq", 8])],
                          [helper.make_tensor_value_info("y", F, None), helper.make_tensor_value_info("z", F, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_dim_that_fits_nothing_is_named_and_falls_back():
    sym = symbolic_profile(_clamp_model())
    assert sym.fallback == {"s[0]": 1, "y[0]": 1}
    assert any("s[0]=1" in w and "not symbolic" in w for w in sym.warnings)
    # z: 8 x 16 = 128 MACs per row of x; y: 128 per row of the slice, whose row count fell back to 1
    assert sympy.expand(sym.totals["macs"] - (128 * S + 128)) == 0
    given_ = symbolic_profile(_clamp_model(), dims={"s[0]": 100, "y[0]": 100})
    assert given_.fallback == {"s[0]": 100, "y[0]": 100}
    assert sympy.expand(given_.totals["macs"] - (128 * S + 128 * 100)) == 0
    # with seq >= 100 the slice really has 100 rows: the fallback formula is then exact
    assert given_.at({"seq": 300})["macs"] == concrete_totals(_clamp_model(), {"seq": 300})[0]["macs"]


def test_model_needing_aligned_dims_is_probed_at_multiples():
    # Reshape [seq, 8] -> [-1, 64, 8] only works when seq is a multiple of 64
    nodes = [helper.make_node("Reshape", ["x", "shp"], ["r"]), helper.make_node("MatMul", ["r", "W"], ["y"])]
    inits = [numpy_helper.from_array(np.ones((8, 16), np.float32), "W"), numpy_helper.from_array(np.array([-1, 64, 8]), "shp")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, ["seq", 8])],
                          [helper.make_tensor_value_info("y", F, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    sym = symbolic_profile(m)
    assert all(p["seq"] % 64 == 0 for p in sym.probes)
    assert any("multiples of 64" in w for w in sym.warnings)
    # (seq/64) x 64 rows x 8 x 16 = 128 seq MACs
    assert sympy.expand(sym.totals["macs"] - 128 * S) == 0
    assert sym.at({"seq": 192}) == concrete_totals(m, {"seq": 192})[0]


@pytest.fixture
def fragile_handler():
    """A test op whose handler needs concrete dims (int() on a dim): cost n^2 MACs."""
    def square(ctx):
        n = int(ctx.in_shape(0)[0])  # fails on a sympy dim
        return ctx.cost(n * n, 2 * n * n)

    REGISTRY.add("SquareCost", square, domain="test.symbolic")
    yield
    REGISTRY._entries.pop(("test.symbolic", "SquareCost"))


def test_handler_failing_on_symbols_is_fitted_from_probes(fragile_handler):
    node = helper.make_node("SquareCost", ["x"], ["y"], domain="test.symbolic")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", F, ["n"])], [helper.make_tensor_value_info("y", F, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("test.symbolic", 1)])
    sym = symbolic_profile(m)
    n = symbol("n")
    assert sym.fitted_nodes == ["SquareCost_0"]
    assert sympy.expand(sym.totals["macs"] - n**2) == 0
    assert sympy.expand(sym.totals["flops"] - 2 * n**2) == 0
    for v in (1, 5, 1000):
        assert sym.at({"n": v})["macs"] == v * v == onnxstat.profile(m, dims={"n": v}).totals.macs


def test_loop_trip_count_from_a_symbol():
    # Loop with trip count seq (Shape -> Gather); body: [1, 8] x [8, 8] MatMul = 64 MACs per iteration;
    # main: [seq, 8] x [8, 8] = 64 seq.  Total 128 seq.
    body = helper.make_graph(
        [helper.make_node("MatMul", ["s_in", "W"], ["s_out"]), helper.make_node("Identity", ["c_in"], ["c_out"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("c_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("s_in", F, [1, 8])],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []), helper.make_tensor_value_info("s_out", F, [1, 8])],
    )
    nodes = [helper.make_node("Shape", ["x"], ["shp"]), helper.make_node("Gather", ["shp", "zero"], ["trip"]),
             helper.make_node("Loop", ["trip", "cond", "s0"], ["sf"], body=body), helper.make_node("MatMul", ["x", "W"], ["z"])]
    inits = [numpy_helper.from_array(np.ones((8, 8), np.float32), "W"), numpy_helper.from_array(np.array(0), "zero"),
             numpy_helper.from_array(np.array(True), "cond"), numpy_helper.from_array(np.ones((1, 8), np.float32), "s0")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", F, ["seq", 8])],
                          [helper.make_tensor_value_info("sf", F, None), helper.make_tensor_value_info("z", F, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    sym = symbolic_profile(m)
    assert sympy.expand(sym.totals["macs"] - 128 * S) == 0
    assert sym.at({"seq": 5}) == concrete_totals(m, {"seq": 5})[0]


# --------------------------------------------------------------------------- fitting primitives


def fit_adaptively(f, n_first=12):
    """Fit x -> f(x) the way symbolic_profile does: a first design, then probes that split ambiguous floors."""
    x = symbol("x")
    probes = probe_points(["x"], n_first)
    rng = np.random.default_rng(1)
    while True:
        fitter = _DimFitter([x], probes)
        e = fitter.fit([f(p["x"]) for p in probes])
        if not fitter.ambiguous or len(probes) >= MAX_PROBES:
            return e, probes, fitter
        probes.append(fitter.next_probe(probes, rng))


@given(a=st.integers(1, 4), b=st.integers(-40, 40), s=st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64]),
       c=st.integers(-5, 5), m=st.integers(1, 9))
@settings(max_examples=60, deadline=None)
def test_floor_affine_fit_recovers_the_function(a, b, s, c, m):
    if s > 8:
        a = 1  # large strides are searched for floor((x + b)/s) only
    e, probes, fitter = fit_adaptively(lambda v: c + m * ((a * v + b) // s))
    assert e is not None and not fitter.ambiguous and len(probes) <= MAX_PROBES
    for v in list(range(1, 300)) + [1000, 4097]:  # also far from the probes
        assert evaluate(e, {"x": v}) == c + m * ((a * v + b) // s)


def test_floor_candidates_lists_every_fit():
    # probes 10, 11, 13: floor((x + b)/4) for b = 0..3 gives [2,2,3], [2,3,3], [3,3,3], [3,3,4];
    # y = [2, 2, 3] is b = 0 (m = 1, c = 0) or b = 3 shifted down (m = 1, c = -1): two fits
    # that differ at x = 12 (3 vs 2), which is what the adaptive probes are for
    u, y = [10, 11, 13], [2, 2, 3]
    fits = [f for f in _floor_candidates(u, y, max_stride=4, max_numer=1) if f[4] == 4]
    assert fits == [(0, 1, 1, 0, 4), (-1, 1, 1, 3, 4)]
    # with s <= 2 only: floor(x/2) = [5, 5, 6] -> y = c + m*g: m = 1, c = -3
    assert (Fraction(-3), Fraction(1), 1, 0, 2) in _floor_candidates(u, y, max_stride=2, max_numer=1)


@given(b1=st.integers(0, 5), s1=st.integers(2, 4), b2=st.integers(-3, 3), s2=st.integers(2, 4), c0=st.integers(-2, 2))
@settings(max_examples=40, deadline=None)
def test_floor_of_floor_collapses_exactly(b1, s1, b2, s2, c0):
    # inner = c0 + floor((x + b1)/s1); outer = floor((inner + b2)/s2)
    x = symbol("x")
    inner = c0 + sympy.floor((x + b1) / s1)
    outer = _floor_expr((Fraction(0), Fraction(1), 1, b2 % s2, s2), inner) + (b2 - b2 % s2) // s2
    assert outer.atoms(sympy.floor) and all(not f.args[0].has(sympy.floor) for f in outer.atoms(sympy.floor))
    for v in range(1, 200):
        assert evaluate(outer, {"x": v}) == (c0 + (v + b1) // s1 + b2) // s2


def test_poly_fit_exact_rational():
    pts = probe_points(["p", "q"], 18)
    p, q = symbol("p"), symbol("q")
    atoms = [(p, np.array([t["p"] for t in pts], dtype=object)), (q, np.array([t["q"] for t in pts], dtype=object))]
    y = np.array([t["p"] * (t["p"] + 1) // 2 + 3 * t["p"] * t["q"] + 7 for t in pts], dtype=object)
    e = _poly_fit(atoms, y, [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)])
    assert sympy.expand(e - (p**2 / 2 + p / 2 + 3 * p * q + 7)) == 0
    # not a polynomial: no fit
    y2 = np.array([t["p"] // 3 for t in pts], dtype=object)
    assert _poly_fit(atoms, y2, [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]) is None


def test_probe_points_deterministic_distinct_and_bounded():
    a = probe_points(["batch", "seq"], 20)
    assert a == probe_points(["batch", "seq"], 20)
    for s in ("batch", "seq"):
        vals = [p[s] for p in a]
        assert len(set(vals)) == 20 and min(vals) >= 64 and max(vals) <= 512


# --------------------------------------------------------------------------- evaluation and strings


def test_evaluate_is_exact():
    big = 10**30 * B + sympy.Rational(1, 3) * S
    assert evaluate(big, {"batch": 3, "seq": 6}) == 3 * 10**30 + 2
    assert evaluate(big, {"batch": 1, "seq": 1}) == 10**30 + Fraction(1, 3)
    assert evaluate(sympy.floor((H + 31) / 32) * W, {"height": 33, "width": 5}) == 2 * 5
    assert evaluate(7, {}) == 7
    # a formula parsed back from its JSON string evaluates the same (symbols matched by name)
    parsed = sympy.sympify("128*batch*seq**2 + floor(seq/2)")
    assert evaluate(parsed, {"batch": 2, "seq": 9}) == 128 * 2 * 81 + 4
    with pytest.raises(UsageError, match="seq"):
        evaluate(B * S, {"batch": 1})


def test_pretty_strings():
    # 3 significant digits for large coefficients, exact below 100000, unicode powers and floors
    # exact: integers and rationals as they are
    assert pretty(4_090_123_457 * B) == "4090123457·batch"
    assert pretty(2_100_001 * S**2 + 940_000_000 * S) == "2100001·seq² + 940000000·seq"
    assert pretty(49152 * B * S + 5) == "49152·batch·seq + 5"
    assert pretty(sympy.floor((H + 31) / 32)) == "⌈height/32⌉"
    assert pretty(sympy.floor((H + 2) / 4)) == "⌊(height + 2)/4⌋"
    assert pretty(-3 * S + 10) == "-3·seq + 10"
    assert pretty(sympy.Rational(1, 2) * S) == "1/2·seq"
    assert exact(7668032 * B) == "7668032*batch"
    assert exact(12) == "12"


def test_to_dict_is_json_and_round_trips(transformer_sym):
    d = transformer_sym.to_dict()
    text = json.dumps(d)
    back = json.loads(text)
    assert set(back["totals_symbolic"]) == set(TOTAL_METRICS)
    assert back["totals_symbolic"]["macs"] == "128*batch*seq**2 + 49152*batch*seq"
    assert back["symbolic"]["symbols"] == ["batch", "seq"]
    point = {"batch": 5, "seq": 33}
    want, res = concrete_totals(SAMPLES / "transformer.onnx", point)
    for m, s in back["totals_symbolic"].items():
        assert evaluate(sympy.sympify(s), point) == want[m]
    ops = {(r["domain"], r["op_type"]) for r in back["by_op_type_symbolic"]}
    assert ops == {(r.domain, r.op_type) for r in res.by_op_type}
    # the profile JSON carries them once the lead merges them into extras
    res.extras.update(d)
    assert json.loads(json.dumps(res.to_dict()))["totals_symbolic"]["macs"] == back["totals_symbolic"]["macs"]


def test_renderers(cnn_res_sym):
    from io import StringIO

    from rich.console import Console

    buf = StringIO()
    print_symbolic(cnn_res_sym, Console(file=buf, width=200, color_system=None))
    out = buf.getvalue()
    assert "batch, height, width" in out and "MACs" in out and "Conv" in out
    md = symbolic_markdown(cnn_res_sym)
    assert md.startswith("## Costs as formulas of batch, height, width")
    assert "`432*batch*height*width" in md or "432*batch*height*width" in md


def test_bad_arguments_are_usage_errors():
    with pytest.raises(UsageError):
        symbolic_profile(SAMPLES / "cnn.onnx", input_shapes={"nope": (1, 3, 8, 8)})
    with pytest.raises(UsageError):
        symbolic_profile(SAMPLES / "cnn.onnx", dims={"batch": -1})
    with pytest.raises(onnxstat.OnnxstatError):
        symbolic_profile(SAMPLES / "does_not_exist.onnx")
