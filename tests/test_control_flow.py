"""Control flow: If, Loop, Scan, SequenceMap and nested subgraphs, profiled end to end.

Building block used throughout: x float32 (2, 4) times W float32 (4, 3):
MatMul MACs = numel(Y)·K = 6·4 = 24, FLOPs 48, reads x 32 B + W 48 B = 80 B, writes 24 B;
W is 12 parameters (48 B).  Relu on (2, 3): 6 FLOPs, reads 24 B, writes 24 B.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from onnx_versions import needs_opset

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
MM_MACS, MM_FLOPS, MM_READ, MM_WRITE = 24, 48, 80, 24
RELU_FLOPS = 6


def init(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(value, dtype), name)


def W(name="W", shape=(4, 3)):
    return init(name, np.ones(shape))


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def model(nodes, inputs, outputs, inits=(), opset=17, value_info=()):
    g = helper.make_graph(nodes, "main", inputs, outputs, list(inits), value_info=list(value_info))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def x_in(shape=(2, 4)):
    return vi("x", F, list(shape))


def branch(name, nodes, out, shape=(2, 3), inits=()):
    return helper.make_graph(nodes, name, [], [vi(out, F, list(shape))], list(inits))


def then_mm(out="t"):
    return branch("then", [helper.make_node("MatMul", ["x", "W"], [out])], out)


def else_mm_relu(out="e"):
    return branch("else", [helper.make_node("MatMul", ["x", "W"], ["e_mm"]), helper.make_node("Relu", ["e_mm"], [out])], out)


def loop_body(nodes, outputs, extra_inputs=(), p=""):
    """Loop body: (iter, cond_in, *extra) -> (cond_out, *outputs); cond passes through.
    ``p`` prefixes the body's own names (nested bodies must not reuse outer names)."""
    return helper.make_graph(
        [helper.make_node("Identity", [p + "cond_in"], [p + "cond_out"])] + nodes,
        "body",
        [vi(p + "iter", I64, []), vi(p + "cond_in", B, [])] + list(extra_inputs),
        [vi(p + "cond_out", B, [])] + outputs,
    )


def mm_body(out="y_i", a="x", w="W", p=""):
    return loop_body([helper.make_node("MatMul", [a, w], [out])], [vi(out, F, ["r", 3])], p=p)


def by_path(res):
    return {n.path: n for n in res.nodes}


def totals(res):
    t = res.totals
    return (t.macs, t.flops, t.params, t.bytes_read, t.bytes_written)


# --------------------------------------------------------------------------- If


@pytest.mark.parametrize("cond, expect_path", [(True, "If_0/then_branch/MatMul_0"), (False, "If_0/else_branch/Relu_1")])
def test_if_constant_condition_counts_the_branch_taken(cond, expect_path):
    m = model(
        [helper.make_node("If", ["c"], ["y"], then_branch=then_mm(), else_branch=else_mm_relu())],
        [x_in()], [vi("y", F, [2, 3])], [W(), init("c", cond, np.bool_)],
    )
    res = onnxstat.profile(m)
    paths = by_path(res)
    assert expect_path in paths
    # then: MatMul only; else: MatMul + Relu (6 FLOPs, 24 B read, 24 B written)
    extra = 0 if cond else 1
    assert totals(res) == (MM_MACS, MM_FLOPS + extra * RELU_FLOPS, 12, MM_READ + extra * 24, MM_WRITE + extra * 24)
    assert not [w for w in res.warnings if "If" in w]
    assert "statically" in " ".join(paths["If_0"].notes)


def test_if_condition_computed_from_shapes():
    # cond = Shape(x)[0] > 1 = (2 > 1) = True -> then branch (MatMul only)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["d0"], axis=0),
        helper.make_node("Greater", ["d0", "one"], ["c"]),
        helper.make_node("If", ["c"], ["y"], then_branch=then_mm(), else_branch=else_mm_relu()),
    ]
    m = model(nodes, [x_in()], [vi("y", F, [2, 3])], [W(), init("zero", 0, np.int64), init("one", 1, np.int64)])
    res = onnxstat.profile(m)
    assert "If_3/then_branch/MatMul_0" in by_path(res)
    assert "If_3/else_branch/MatMul_0" not in by_path(res)
    # the If subtree costs the MatMul; the shape arithmetic outside it adds Greater's 1 FLOP
    sub = [n for n in res.nodes if n.path.startswith("If_3")]
    assert (sum(n.macs for n in sub), sum(n.flops for n in sub)) == (MM_MACS, MM_FLOPS)
    assert res.totals.flops == MM_FLOPS + 1
    assert not [w for w in res.warnings if "(If)" in w]


def test_if_dynamic_condition_counts_the_costlier_branch_and_only_its_side_effects():
    # else = MatMul + Relu (54 FLOPs) beats then = MatMul (48 FLOPs).  The cheaper then-branch also
    # holds an unknown custom op: it must not show up as unsupported, nor its warnings.
    then = branch("then", [helper.make_node("Mystery", ["x"], ["q"], domain="my.dom"),
                           helper.make_node("MatMul", ["x", "W"], ["t"])], "t")
    m = helper.make_model(
        helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=else_mm_relu())],
                          "main", [x_in(), vi("c", B, [])], [vi("y", F, [2, 3])], [W()]),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.dom", 1)],
    )
    m.ir_version = 8
    res = onnxstat.profile(m)
    paths = by_path(res)
    assert set(paths) == {"If_0", "If_0/else_branch/MatMul_0", "If_0/else_branch/Relu_1"}
    assert totals(res) == (MM_MACS, MM_FLOPS + RELU_FLOPS, 12, MM_READ + 24, MM_WRITE + 24)
    assert res.unsupported == []
    msg = [w for w in res.warnings if "'If_0' (If)" in w]
    assert len(msg) == 1 and "costlier branch (else_branch" in msg[0] and "54 FLOPs" in msg[0] and "48 FLOPs" in msg[0]


def test_if_branch_reads_outer_weight_counted_once():
    # main MatMul(x, W) and the branch MatMul(x, W) share W: 12 params, not 24
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["a"]),
        helper.make_node("If", ["c"], ["y"], then_branch=then_mm(), else_branch=else_mm_relu()),
    ]
    m = model(nodes, [x_in(), vi("c", B, [])], [vi("a", F, [2, 3]), vi("y", F, [2, 3])], [W()])
    res = onnxstat.profile(m)
    # main 24 MACs + else branch (costlier) 24 MACs; FLOPs 48 + 48 + 6
    assert totals(res) == (48, 102, 12, 2 * MM_READ + 24, 2 * MM_WRITE + 24)
    assert by_path(res)["MatMul_0"].params == 12
    assert by_path(res)["If_1/else_branch/MatMul_0"].params == 0


@pytest.mark.parametrize("cond, macs, params", [
    (None, 2 * 5 * 4, 20),  # dynamic: else (W 4x5: MACs 10·4 = 40) is costlier than then (24)
    (True, 24, 12),  # then's own W (4x3)
    (False, 40, 20),
])
def test_same_weight_name_in_both_branches(cond, macs, params):
    then = branch("then", [helper.make_node("MatMul", ["x", "W"], ["t"])], "t", inits=[W("W", (4, 3))])
    other = branch("else", [helper.make_node("MatMul", ["x", "W"], ["e"])], "e", shape=(2, 5), inits=[W("W", (4, 5))])
    inputs = [x_in()] + ([vi("c", B, [])] if cond is None else [])
    inits = [] if cond is None else [init("c", cond, np.bool_)]
    g = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)],
                          "main", inputs, [vi("y", F, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    res = onnxstat.profile(m)
    assert (res.totals.macs, res.totals.params) == (macs, params)
    keys = [w[0] for n in res.nodes for w in n.weights]
    taken = "then_branch" if (cond is True) else "else_branch"
    assert keys == [f"If_0/{taken}:W"]


# --------------------------------------------------------------------------- Loop


def test_loop_constant_trip_count_multiplies_the_body():
    # M = 5: body MatMul ×5: MACs 120, FLOPs 240, read 400, written 120; W counted once: 12 params
    m = model(
        [helper.make_node("Loop", ["M", ""], ["ys"], body=mm_body())],
        [x_in()], [vi("ys", F, [5, 2, 3])], [W(), init("M", 5, np.int64)],
    )
    res = onnxstat.profile(m)
    paths = by_path(res)
    body_mm = paths["Loop_0/body/MatMul_1"]
    assert body_mm.repeat == 5
    assert totals(res) == (5 * MM_MACS, 5 * MM_FLOPS, 12, 5 * MM_READ, 5 * MM_WRITE)
    assert paths["Loop_0"].repeat == 5 and "trip count 5" in paths["Loop_0"].notes
    assert not [w for w in res.warnings if "Loop" in w]


def test_loop_trip_count_from_a_shape_chain():
    # M = Shape(x)[1] = 4 for x (2, 4) -> 4 iterations; with x (2, 7) (MatMul K = 7 rows of W (7,3)) 7
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "one"], ["M"], axis=0),
        helper.make_node("Loop", ["M", ""], ["ys"], body=mm_body()),
    ]
    m = model(nodes, [vi("x", F, ["batch", 4])], [vi("ys", F, ["n", 2, 3])], [W(), init("one", 1, np.int64)])
    res = onnxstat.profile(m, {"x": (2, 4)})
    assert by_path(res)["Loop_2/body/MatMul_1"].repeat == 4
    assert res.totals.macs == 4 * MM_MACS
    # batch 3: MatMul (3,4)x(4,3): 9·4 = 36 MACs per iteration, still 4 iterations (dim 1)
    res = onnxstat.profile(m, {"x": (3, 4)})
    assert res.totals.macs == 4 * 36


def test_loop_unknown_trip_count_counts_one_iteration_and_warns():
    m = model(
        [helper.make_node("Loop", ["M", ""], ["ys"], body=mm_body())],
        [x_in(), vi("M", I64, [])], [vi("ys", F, ["n", 2, 3])], [W()],
    )
    res = onnxstat.profile(m)
    assert res.totals.macs == MM_MACS
    assert any("'Loop_0' (Loop): trip count not known statically; one iteration counted" in w for w in res.warnings)


def test_loop_int64_max_with_condition_is_a_while_loop():
    # exporters write M = INT64_MAX for while loops: that is not a trip count
    m = model(
        [helper.make_node("Loop", ["M", "c"], ["ys"], body=mm_body())],
        [x_in(), vi("c", B, [])], [vi("ys", F, ["n", 2, 3])], [W(), init("M", np.iinfo(np.int64).max, np.int64)],
    )
    res = onnxstat.profile(m)
    assert res.totals.macs == MM_MACS
    assert any("trip count not known statically" in w for w in res.warnings)


def test_loop_with_condition_and_bound_counts_the_bound():
    m = model(
        [helper.make_node("Loop", ["M", "c"], ["ys"], body=mm_body())],
        [x_in(), vi("c", B, [])], [vi("ys", F, ["n", 2, 3])], [W(), init("M", 3, np.int64)],
    )
    res = onnxstat.profile(m)
    assert res.totals.macs == 3 * MM_MACS
    assert any("at most" in n for n in by_path(res)["Loop_0"].notes)


def test_loop_initially_false_condition_runs_zero_times():
    m = model(
        [helper.make_node("Loop", ["M", "c"], ["ys"], body=mm_body())],
        [x_in()], [vi("ys", F, ["n", 2, 3])], [W(), init("M", 3, np.int64), init("c", False, np.bool_)],
    )
    res = onnxstat.profile(m)
    assert res.totals.macs == 0 and res.totals.flops == 0
    assert by_path(res)["Loop_0/body/MatMul_1"].repeat == 0


def test_if_inside_loop_dynamic_condition_per_iteration():
    # Loop M = 3; body: cond = iter < 1 (dynamic), If then MatMul / else MatMul + Relu (costlier)
    # per iteration: Less 1 FLOP + 24 MACs, 54 FLOPs -> ×3: 72 MACs, 165 FLOPs
    body = loop_body(
        [helper.make_node("Less", ["iter", "one"], ["lt"]),
         helper.make_node("If", ["lt"], ["y_i"], then_branch=then_mm("t"), else_branch=else_mm_relu("e"))],
        [vi("y_i", F, [2, 3])],
    )
    m = model([helper.make_node("Loop", ["M", ""], ["ys"], body=body)], [x_in()], [vi("ys", F, ["n", 2, 3])],
              [W(), init("M", 3, np.int64), init("one", 1, np.int64)])
    res = onnxstat.profile(m)
    paths = by_path(res)
    assert "Loop_0/body/If_2/else_branch/MatMul_0" in paths
    assert paths["Loop_0/body/If_2/else_branch/Relu_1"].repeat == 3
    assert (res.totals.macs, res.totals.flops, res.totals.params) == (3 * MM_MACS, 3 * (1 + MM_FLOPS + RELU_FLOPS), 12)
    assert any("'Loop_0/body/If_2' (If)" in w and "costlier" in w for w in res.warnings)


def test_if_inside_loop_condition_from_an_outer_constant():
    # the body's If reads cond from a main-graph initializer (False): else branch, no warning
    body = loop_body([helper.make_node("If", ["c"], ["y_i"], then_branch=then_mm("t"), else_branch=else_mm_relu("e"))],
                     [vi("y_i", F, [2, 3])])
    m = model([helper.make_node("Loop", ["M", ""], ["ys"], body=body)], [x_in()], [vi("ys", F, ["n", 2, 3])],
              [W(), init("M", 2, np.int64), init("c", False, np.bool_)])
    res = onnxstat.profile(m)
    assert "Loop_0/body/If_1/else_branch/Relu_1" in by_path(res)
    assert (res.totals.macs, res.totals.flops) == (2 * MM_MACS, 2 * (MM_FLOPS + RELU_FLOPS))
    assert not [w for w in res.warnings if "(If)" in w or "(Loop)" in w]


def test_loop_inside_loop_trip_counts_multiply():
    # outer M = 3; the inner Loop's M = Shape(x)[1] = 4 computed inside the outer body -> 12 MatMuls
    inner = mm_body("z_i", p="in_")
    outer = loop_body(
        [helper.make_node("Shape", ["x"], ["sx"]),
         helper.make_node("Gather", ["sx", "one"], ["m_in"], axis=0),
         helper.make_node("Loop", ["m_in", ""], ["zs"], body=inner)],
        [vi("zs", F, [4, 2, 3])],
    )
    m = model([helper.make_node("Loop", ["M", ""], ["ys"], body=outer)], [x_in()], [vi("ys", F, ["n", 4, 2, 3])],
              [W(), init("M", 3, np.int64), init("one", 1, np.int64)])
    res = onnxstat.profile(m)
    paths = by_path(res)
    assert paths["Loop_0/body/Loop_3/body/MatMul_1"].repeat == 12
    assert paths["Loop_0/body/Loop_3"].repeat == 12
    # shape arithmetic in the outer body, ×3: Shape writes (2,) int64 16 B; Gather reads the picked
    # 8 B + index 8 B and writes 8 B -> read 3·16 = 48, written 3·24 = 72 on top of 12 MatMuls
    assert totals(res) == (12 * MM_MACS, 12 * MM_FLOPS, 12, 12 * MM_READ + 48, 12 * MM_WRITE + 72)
    assert not [w for w in res.warnings if "(Loop)" in w]


def test_loop_carried_state_and_body_weight():
    # body: h = MatMul(h_prev (2,3), U (3,3) body initializer): MACs 6·3 = 18 per iteration; M = 4 -> 72
    # U (9 params) is a body initializer: counted once; reads h 24 + U 36 = 60 per iteration
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("MatMul", ["h_prev", "U"], ["h"])],
        "body", [vi("iter", I64, []), vi("cond_in", B, []), vi("h_prev", F, [2, 3])],
        [vi("cond_out", B, []), vi("h", F, [2, 3])], [init("U", np.ones((3, 3)))],
    )
    m = model([helper.make_node("Loop", ["M", "", "h0"], ["hN"], body=body)], [vi("h0", F, [2, 3])],
              [vi("hN", F, [2, 3])], [init("M", 4, np.int64)])
    res = onnxstat.profile(m)
    assert totals(res) == (72, 144, 9, 4 * 60, 4 * 24)
    assert [w[0] for n in res.nodes for w in n.weights] == ["Loop_0/body:U"]


def test_scope_walk_with_slashes_in_node_names():
    # exporters name nodes like "/decoder/rnn/If": paths cannot be split back on "/".
    # Loop "L/x" (M = 2) -> body: Constant c = False, If "p/I" (dynamic) -> then: If "J" on c.
    # J must resolve c from the body two scopes up: else branch (MatMul + Relu) counted per iteration.
    inner_j = helper.make_node("If", ["c"], ["j_out"], name="J", then_branch=then_mm("jt"), else_branch=else_mm_relu("je"))
    then_i = branch("then_i", [inner_j], "j_out")
    else_i = branch("else_i", [helper.make_node("MatMul", ["x", "W"], ["ie"])], "ie")
    body = loop_body(
        [helper.make_node("Constant", [], ["c"], value=init("cv", False, np.bool_)),
         helper.make_node("Less", ["iter", "one"], ["lt"]),
         helper.make_node("If", ["lt"], ["y_i"], name="p/I", then_branch=then_i, else_branch=else_i)],
        [vi("y_i", F, [2, 3])],
    )
    m = model([helper.make_node("Loop", ["M", ""], ["ys"], name="L/x", body=body)], [x_in()],
              [vi("ys", F, ["n", 2, 3])], [W(), init("M", 2, np.int64), init("one", 1, np.int64)])
    res = onnxstat.profile(m)
    paths = by_path(res)
    assert "L/x/body/p/I/then_branch/J/else_branch/Relu_1" in paths
    assert paths["L/x/body/p/I/then_branch/J/else_branch/Relu_1"].repeat == 2
    assert "statically" in " ".join(paths["L/x/body/p/I/then_branch/J"].notes)
    # the only undecidable condition is p/I's (iter < 1)
    assert [w for w in res.warnings if "(If)" in w] == [
        w for w in res.warnings if "'L/x/body/p/I' (If): condition not known statically" in w
    ]


# --------------------------------------------------------------------------- Scan


def scan_body():
    return helper.make_graph([helper.make_node("MatMul", ["x_t", "W"], ["y_t"])], "body",
                             [vi("x_t", F, [2, 4])], [vi("y_t", F, [2, 3])])


@pytest.mark.parametrize("axis", [1, -2])
def test_scan_with_scan_input_axes(axis):
    # x (2, 6, 4) scanned along axis 1 (= −2): 6 iterations of MatMul (2,4)x(4,3): 6·24 = 144 MACs
    m = model([helper.make_node("Scan", ["xs"], ["ys"], body=scan_body(), num_scan_inputs=1,
                                scan_input_axes=[axis], scan_output_axes=[1])],
              [vi("xs", F, [2, 6, 4])], [vi("ys", F, ["a", "b", "c"])], [W()])
    res = onnxstat.profile(m)
    paths = by_path(res)
    assert paths["Scan_0/body/MatMul_0"].repeat == 6
    assert (res.totals.macs, res.totals.flops, res.totals.params) == (144, 288, 12)
    assert "6 iterations" in paths["Scan_0"].notes


def test_scan_default_axis_and_state():
    # state s (2,3) carried: s' = s + MatMul(x_t, W); x (5, 2, 4) scanned on axis 0: 5 iterations
    # per iteration MatMul 24 MACs / 48 FLOPs + Add 6 FLOPs -> 120 MACs, 270 FLOPs
    body = helper.make_graph(
        [helper.make_node("MatMul", ["x_t", "W"], ["p"]), helper.make_node("Add", ["s", "p"], ["s2"])],
        "body", [vi("s", F, [2, 3]), vi("x_t", F, [2, 4])], [vi("s2", F, [2, 3])],
    )
    m = model([helper.make_node("Scan", ["s0", "xs"], ["sN"], body=body, num_scan_inputs=1)],
              [vi("s0", F, [2, 3]), vi("xs", F, [5, 2, 4])], [vi("sN", F, [2, 3])], [W()])
    res = onnxstat.profile(m)
    assert (res.totals.macs, res.totals.flops) == (120, 270)


def test_scan_opset8_runs_batch_times_sequence():
    # opset 8: scan inputs are [batch, seq, ...]: x (2, 5, 4) -> body runs 2·5 = 10 times on x_t (4,)
    # MatMul (4,)x(4,3) -> (3,): MACs 3·4 = 12 per run -> 120
    body = helper.make_graph([helper.make_node("MatMul", ["x_t", "W"], ["y_t"])], "body",
                             [vi("x_t", F, [4])], [vi("y_t", F, [3])])
    m = model([helper.make_node("Scan", ["", "xs"], ["ys"], body=body, num_scan_inputs=1)],
              [vi("xs", F, [2, 5, 4])], [vi("ys", F, ["a", "b", "c"])], [W()], opset=8)
    res = onnxstat.profile(m)
    assert by_path(res)["Scan_0/body/MatMul_0"].repeat == 10
    assert res.totals.macs == 120


# --------------------------------------------------------------------------- SequenceMap


def test_sequence_map_over_a_constructed_sequence():
    # SequenceConstruct(x, x, x): 3 elements; body MatMul(x_i, W) -> 3·24 = 72 MACs
    body = helper.make_graph([helper.make_node("MatMul", ["x_i", "W"], ["y_i"])], "body",
                             [vi("x_i", F, [2, 4])], [vi("y_i", F, [2, 3])])
    m = model(
        [helper.make_node("SequenceConstruct", ["x", "x", "x"], ["seq"]),
         helper.make_node("SequenceMap", ["seq"], ["out"], body=body)],
        [x_in()], [helper.make_tensor_sequence_value_info("out", F, None)], [W()],
    )
    res = onnxstat.profile(m)
    paths = by_path(res)
    assert paths["SequenceMap_1/body/MatMul_0"].repeat == 3
    assert res.totals.macs == 3 * MM_MACS
    assert not [w for w in res.warnings if "SequenceMap" in w]


def test_sequence_map_over_an_input_sequence_warns():
    body = helper.make_graph([helper.make_node("Relu", ["x_i"], ["y_i"])], "body",
                             [vi("x_i", F, [2, 4])], [vi("y_i", F, [2, 4])])
    m = model([helper.make_node("SequenceMap", ["seq"], ["out"], body=body)],
              [helper.make_tensor_sequence_value_info("seq", F, [2, 4])],
              [helper.make_tensor_sequence_value_info("out", F, None)])
    res = onnxstat.profile(m)
    assert any("'SequenceMap_0' (SequenceMap): sequence length not known statically" in w for w in res.warnings)


# --------------------------------------------------------------------------- known shape gaps


def test_body_shape_from_an_outer_constant_value():
    # body: xu = Unsqueeze(x, ax) with ax = [0] a main-graph initializer -> (1, 2, 4); MatMul with W
    # -> (1, 2, 3): 24 MACs per iteration, M = 2 -> 48
    body = loop_body([helper.make_node("Unsqueeze", ["x", "ax"], ["xu"]),
                      helper.make_node("MatMul", ["xu", "W"], ["y_i"])], [vi("y_i", F, ["a", "b", "c"])])
    m = model([helper.make_node("Loop", ["M", ""], ["ys"], body=body)], [x_in()], [vi("ys", F, ["n", 1, 2, 3])],
              [W(), init("M", 2, np.int64), init("ax", [0], np.int64)])
    res = onnxstat.profile(m)
    assert by_path(res)["Loop_0/body/Unsqueeze_1"].outputs[0][2] == (1, 2, 4)
    assert res.totals.macs == 2 * MM_MACS


def test_branch_reads_a_body_tensor_through_a_slashed_if_name():
    # Loop "L/x" (M = 2): body t = MatMul(x, W) (24 MACs); If "p/I" (dynamic) both branches
    # MatMul(t (2,3), W2 (3,3)): 6·3 = 18 MACs -> per iteration 42, total 84
    then_i = branch("then_i", [helper.make_node("MatMul", ["t", "W2"], ["it"])], "it")
    else_i = branch("else_i", [helper.make_node("MatMul", ["t", "W2"], ["ie"])], "ie")
    body = loop_body(
        [helper.make_node("MatMul", ["x", "W"], ["t"]),
         helper.make_node("Less", ["iter", "one"], ["lt"]),
         helper.make_node("If", ["lt"], ["y_i"], name="p/I", then_branch=then_i, else_branch=else_i)],
        [vi("y_i", F, [2, 3])],
    )
    m = model([helper.make_node("Loop", ["M", ""], ["ys"], name="L/x", body=body)], [x_in()],
              [vi("ys", F, ["n", 2, 3])],
              [W(), init("W2", np.ones((3, 3))), init("M", 2, np.int64), init("one", 1, np.int64)])
    res = onnxstat.profile(m)
    assert res.totals.macs == 84
    assert not [w for w in res.warnings if "not counted" in w]


# --------------------------------------------------------------------------- FlexAttention modifiers


def _flex_model(B=2, H=4, L=8, S=16, D=32, softmax_precision=None):
    """FlexAttention with score_mod = 30·tanh(0.5·s) (Mul, Tanh, Mul) and prob_mod = Relu."""
    scores = ["b", "h", "l", "s"]
    sm = helper.make_graph(
        [helper.make_node("Mul", ["s", "half"], ["m"]), helper.make_node("Tanh", ["m"], ["t"]),
         helper.make_node("Mul", ["t", "cap"], ["so"])],
        "score_mod", [vi("s", F, scores)], [vi("so", F, scores)], [init("half", 0.5), init("cap", 30.0)])
    pm = helper.make_graph([helper.make_node("Relu", ["p"], ["po"])], "prob_mod", [vi("p", F, scores)], [vi("po", F, scores)])
    attrs = {"score_mod": sm, "prob_mod": pm}
    if softmax_precision is not None:
        attrs["softmax_precision"] = softmax_precision
    node = helper.make_node("FlexAttention", ["Q", "K", "V"], ["Y"], domain="ai.onnx.preview", **attrs)
    g = helper.make_graph([node], "main", [vi("Q", F, [B, H, L, D]), vi("K", F, [B, H, S, D]), vi("V", F, [B, H, S, D])],
                          [vi("Y", F, [B, H, L, D])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 23), helper.make_opsetid("ai.onnx.preview", 1)])
    onnx.checker.check_model(m)
    return m


@needs_opset(1, "ai.onnx.preview")
def test_flex_attention_modifier_subgraphs_are_counted():
    # B=2, Hq=4, L=8, S=16, D=32: scores B·Hq·L·S = 1024
    # core: MACs = 1024·(32 + 32) = 65536; FLOPs = 2·65536 + 1024·(scale 1 + softmax 5) = 137216
    # score_mod on (2, 4, 8, 16): Mul 1024 + Tanh 1024 + Mul 1024 = 3072 FLOPs; prob_mod Relu 1024
    # total FLOPs = 137216 + 3072 + 1024 = 141312; the 0-d literals are bytes, not parameters
    res = onnxstat.profile(_flex_model())
    by_path = {n.path: n for n in res.nodes}
    assert by_path["FlexAttention_0"].flops == 137216 and by_path["FlexAttention_0"].macs == 65536
    for p, flops in [("FlexAttention_0/score_mod/Mul_0", 1024), ("FlexAttention_0/score_mod/Tanh_1", 1024),
                     ("FlexAttention_0/score_mod/Mul_2", 1024), ("FlexAttention_0/prob_mod/Relu_0", 1024)]:
        assert by_path[p].flops == flops and by_path[p].inputs[0][2] == (2, 4, 8, 16), p
    assert res.totals.macs == 65536 and res.totals.flops == 141312 and res.totals.params == 0
    assert res.warnings == [] and res.totals.unsupported_nodes == 0


@needs_opset(1, "ai.onnx.preview")
def test_flex_attention_scores_take_softmax_precision():
    # softmax_precision = DOUBLE: the modifiers see float64 scores (1024 · 8 B read by the Relu)
    res = onnxstat.profile(_flex_model(softmax_precision=TensorProto.DOUBLE))
    relu = next(n for n in res.nodes if n.path == "FlexAttention_0/prob_mod/Relu_0")
    assert relu.inputs[0][1] == "float64" and relu.bytes_read == 1024 * 8


@needs_opset(1, "ai.onnx.preview")
def test_subgraphs_of_other_ops_are_named_as_not_counted(monkeypatch):
    from onnxstat.passes import analysis

    monkeypatch.setattr(analysis, "ONCE_SUBGRAPHS", set())
    res = onnxstat.profile(_flex_model())
    assert [n.path for n in res.nodes] == ["FlexAttention_0"]
    assert res.nodes[0].notes == ["subgraph prob_mod not counted", "subgraph score_mod not counted"]
