"""Peak activation memory: liveness over the topological order, views, branches, control flow.

Every expected number is worked out by hand in the comment next to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy
from onnx import TensorProto, helper, numpy_helper

from onnxstat.passes.analysis import NodeCost
from onnxstat.passes.memory import peak_activation, tensor_bytes
from onnxstat.profiler import profile
from onnxstat.result import ProfileResult, Totals

ROOT = Path(__file__).resolve().parent.parent
F = TensorProto.FLOAT


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def model_of(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def chain_model():
    """x -> add(+Constant k) -> a ; a,a -> concat -> b ; reshape(b) -> c (view) ; neg(c) -> d ;
    reducesum(d) -> s ; concat(a, s) -> y.  ``a`` stays live across the branch until the last node."""
    k = numpy_helper.from_array(np.ones(1024, np.float32), "k_value")
    nodes = [
        helper.make_node("Constant", [], ["k"], name="const_k", value=k),
        helper.make_node("Add", ["x", "k"], ["a"], name="add"),
        helper.make_node("Concat", ["a", "a"], ["b"], name="double", axis=0),
        helper.make_node("Reshape", ["b", "shape"], ["c"], name="view"),
        helper.make_node("Neg", ["c"], ["d"], name="neg"),
        helper.make_node("ReduceSum", ["d", "axes"], ["s"], name="sum", keepdims=0),
        helper.make_node("Concat", ["a", "s"], ["y"], name="out", axis=0),
    ]
    inits = [numpy_helper.from_array(np.array([32, 64], np.int64), "shape"),
             numpy_helper.from_array(np.array([0], np.int64), "axes")]
    return model_of(nodes, [vi("x", [1024])], [vi("y", [1088])], inits)


def test_chain_with_branch_view_and_constant():
    res = profile(chain_model())
    m = peak_activation(res)
    # sizes (float32): x 1024·4 = 4096; a 4096; b [2048] 8192; c = view of b (0 new bytes);
    # d [32,64] 8192; s [64] 256; y [1088] 4352.  Constant k (4096 B) and the int64
    # initializers are weights, never activations.
    # live after each node (x from the start until its last use, the add):
    #   const_k: x                      = 4096
    #   add:     x + a                  = 8192
    #   double:  a + b                  = 4096 + 8192 = 12288   (x dead; a still needed by 'out')
    #   view:    a + b(=c)              = 12288                 (no new buffer)
    #   neg:     a + b(read via c) + d  = 4096 + 8192 + 8192 = 20480
    #   sum:     a + d + s              = 4096 + 8192 + 256 = 12544
    #   out:     a + s + y              = 4096 + 256 + 4352 = 8704  (y is a graph output)
    assert m.timeline == [4096, 8192, 12288, 12288, 20480, 12544, 8704]
    assert m.peak_bytes == 20480
    assert m.peak_at_node == "neg"
    assert m.live_tensors == [("b", 8192), ("d", 8192), ("a", 4096)]
    assert m.complete and m.unknown_tensors == []
    # weight memory is the profile's weight bytes: k is a Constant tensor of 1024 floats = 4096
    assert m.weight_bytes == res.totals.weight_bytes
    d = m.to_dict()
    assert d["peak_activation_bytes"] == 20480 and d["peak_at_node"] == "neg"
    assert d["live_at_peak"][0] == {"name": "b", "bytes": 8192}


def test_view_of_a_view_aliases_the_written_buffer():
    # Flatten then Identity: both alias a; counting them as buffers would give relu 256, flat 256, ...
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="relu"),
        helper.make_node("Flatten", ["a"], ["f"], name="flat", axis=0),
        helper.make_node("Identity", ["f"], ["g"], name="ident"),
        helper.make_node("Neg", ["g"], ["y"], name="neg"),
    ]
    res = profile(model_of(nodes, [vi("x", [4, 8])], [vi("y", [1, 32])]))
    m = peak_activation(res)
    # x 4·8·4 = 128; a 128; f, g aliases of a; y 128
    #   relu: x + a = 256; flat: a = 128; ident: a = 128; neg: a + y = 256
    assert m.timeline == [256, 128, 128, 256]
    assert m.peak_bytes == 256 and m.peak_at_node == "relu"


def test_graph_input_output_lifetimes():
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="r1"),
        helper.make_node("Relu", ["a"], ["b"], name="r2"),
        helper.make_node("Relu", ["b"], ["c"], name="r3"),
    ]
    res = profile(model_of(nodes, [vi("x", [100]), vi("unused", [50])], [vi("a", [100]), vi("c", [100])]))
    m = peak_activation(res)
    # x 400 B, unused 200 B (live only at the start), a/b/c 400 B each; a is a graph output -> lives to the end
    #   start: x + unused = 600
    #   r1: x + a = 800; r2: a + b = 800; r3: a + b + c = 1200
    assert m.input_bytes == 600
    assert m.timeline == [800, 800, 1200]
    assert m.peak_bytes == 1200 and m.peak_at_node == "r3"


def test_if_branch_runs_inside_its_parent():
    then_g = helper.make_graph(
        [helper.make_node("Neg", ["p"], ["t1"], name="neg"), helper.make_node("Abs", ["t1"], ["t2"], name="abs")],
        "then", [], [vi("t2", [256])],
    )
    else_g = helper.make_graph([helper.make_node("Identity", ["p"], ["e1"], name="id")], "else", [], [vi("e1", [256])])
    nodes = [
        helper.make_node("Relu", ["x"], ["p"], name="pre"),
        helper.make_node("If", ["cond"], ["z"], name="if", then_branch=then_g, else_branch=else_g),
        helper.make_node("Relu", ["z"], ["y"], name="post"),
    ]
    res = profile(model_of(nodes, [vi("x", [256]), vi("cond", [], TensorProto.BOOL)], [vi("y", [256])]))
    assert [n.path for n in res.nodes] == ["pre", "if", "if/then_branch/neg", "if/then_branch/abs", "post"]
    m = peak_activation(res)
    # x, p, t1, t2, z, y: 256·4 = 1024 B each; cond 1 B.  The If spans steps 1..3: cond (its input) and p
    # (read inside the branch) live to step 3; z (If output) is written at step 3.
    #   pre: x + cond + p = 2049; if: cond + p = 1025; neg: cond + p + t1 = 2049
    #   abs: cond + p + t1 + t2 + z = 1 + 4·1024 = 4097; post: z + y = 2048
    assert m.timeline == [2049, 1025, 2049, 4097, 2048]
    assert m.peak_bytes == 4097 and m.peak_at_node == "if/then_branch/abs"
    assert dict(m.live_tensors) == {"p": 1024, "t1": 1024, "t2": 1024, "z": 1024, "cond": 1}


def _n(path, op, ins, outs, kind="compute"):
    return NodeCost(name=path, path=path, domain="", op_type=op, kind=kind, compute_dtype="float32",
                    inputs=ins, outputs=outs)


def _res(nodes, inputs, outputs):
    return ProfileResult(None, 8, {}, "", inputs, outputs, nodes, Totals(), [], [], [])


def test_slash_in_node_names_is_not_a_subgraph():
    t = lambda name, n: (name, "float32", (n,))  # noqa: E731
    nodes = [
        _n("/encoder/Relu", "Relu", [t("x", 10)], [t("a", 10)]),
        _n("/encoder/Relu/Neg", "Neg", [t("a", 10)], [t("b", 20)]),
        _n("/encoder/Abs", "Abs", [t("b", 20)], [t("y", 20)]),
    ]
    m = peak_activation(_res(nodes, [t("x", 10)], [t("y", 20)]))
    # x 40, a 40, b 80, y 80: Relu x + a = 80; Neg a + b = 120; Abs b + y = 160
    assert m.timeline == [80, 120, 160]
    assert m.peak_at_node == "/encoder/Abs"


def test_unknown_and_symbolic_sizes_are_reported():
    batch = sympy.Symbol("batch")
    nodes = [
        _n("r", "Relu", [("x", "float32", (4,))], [("a", "float32", None)]),
        _n("s", "Neg", [("a", "float32", None)], [("b", "float32", (batch, 4))]),
    ]
    m = peak_activation(_res(nodes, [("x", "float32", (4,))], [("b", "float32", (batch, 4))]))
    # x 16 B; a and b unknown -> 0 B and listed; r: x = 16; s: 0
    assert m.timeline == [16, 0]
    assert m.unknown_tensors == ["a", "b"] and not m.complete


def test_tensor_bytes():
    # 3·5 float16 = 30 B; 7 int4 = ceil(28/8) = 4 B; bool 1 B each; unknown shape/dtype -> None
    assert tensor_bytes("float16", (3, 5)) == 30
    assert tensor_bytes("int4", (7,)) == 4
    assert tensor_bytes("bool", ()) == 1
    assert tensor_bytes("float32", None) is None
    assert tensor_bytes("undefined", (2,)) is None
    assert tensor_bytes("float32", (sympy.Symbol("n"),)) is None


def test_sample_cnn_peak():
    res = profile(str(ROOT / "sample_models" / "cnn.onnx"))
    m = peak_activation(res)
    # batch 1: input 3·64·64·4 = 49,152 (dead after conv1); conv1_out = bn1_out = 16·64·64·4 = 262,144
    # conv1: input + conv1_out = 311,296; bn1: conv1_out + bn1_out = 524,288 (the peak)
    assert m.timeline[:2] == [311_296, 524_288]
    assert m.peak_bytes == 524_288 and m.peak_at_node == "bn1"
    assert sorted(m.live_tensors) == [("bn1_out", 262_144), ("conv1_out", 262_144)]
    assert m.weight_bytes == res.totals.weight_bytes > 0


def test_empty_graph_passthrough():
    m = peak_activation(_res([], [("x", "float32", (8,))], [("x", "float32", (8,))]))
    # no nodes: only the input, 8·4 = 32 B
    assert (m.peak_bytes, m.peak_at_node, m.timeline) == (32, None, [])


@pytest.mark.parametrize("n", [2000])
def test_long_chain_runs_in_one_pass(n):
    # 2000 Relu nodes over [256] float32: every step holds the input and the output of one node = 2048 B
    t = lambda name: (name, "float32", (256,))  # noqa: E731
    nodes = [_n(f"r{i}", "Relu", [t(f"v{i}")], [t(f"v{i + 1}")]) for i in range(n)]
    m = peak_activation(_res(nodes, [t("v0")], [t(f"v{n}")]))
    assert m.timeline == [2048] * n


# --------------------------------------------------------------------------- property: against a brute-force reference

from hypothesis import given, settings, strategies as st  # noqa: E402


def _reference_timeline(nodes, inputs, outputs, sizes):
    """O(n²) reference without control flow: resolve view chains per step, then scan every use."""
    alias = {}
    for nd in nodes:
        if nd.kind == "view" and nd.inputs:
            alias[nd.outputs[0][0]] = nd.inputs[0][0]

    def root(name):
        while name in alias:
            name = alias[name]
        return name

    born = {name: -1 for name, _d, _s in inputs}
    for i, nd in enumerate(nodes):
        for name, _d, _s in nd.outputs:
            if name not in alias:
                born[name] = i
    out_roots = {root(name) for name, _d, _s in outputs}
    timeline = []
    for i in range(len(nodes)):
        total = 0
        for t, b in born.items():
            if b > i:
                continue
            uses = [j for j, nd in enumerate(nodes) for name, _d, _s in nd.inputs if root(name) == t]
            last = max(uses + [b])
            if t in out_roots or last >= i:
                total += sizes[t]
        timeline.append(total)
    return timeline


@st.composite
def random_dags(draw):
    n = draw(st.integers(1, 12))
    sizes = {"in0": draw(st.integers(1, 64)) * 4}
    names = ["in0"]
    nodes = []
    for i in range(n):
        view = draw(st.booleans()) and i > 0
        k = 1 if view else draw(st.integers(1, 3))
        ins = [draw(st.sampled_from(names)) for _ in range(k)]
        out = f"t{i}"
        if not view:
            sizes[out] = draw(st.integers(1, 64)) * 4
        shape = (sizes[root_of(ins[0], nodes)] // 4,) if view else (sizes[out] // 4,)
        nodes.append(NodeCost(name=f"n{i}", path=f"n{i}", domain="", op_type="Reshape" if view else "Add",
                              kind="view" if view else "compute", compute_dtype="float32",
                              inputs=[(x, "float32", (sizes[root_of(x, nodes)] // 4,)) for x in ins],
                              outputs=[(out, "float32", shape)]))
        names.append(out)
    outs = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    return nodes, sizes, outs


def root_of(name, nodes):
    for nd in nodes:
        if nd.outputs[0][0] == name and nd.kind == "view":
            return root_of(nd.inputs[0][0], nodes)
    return name


@settings(max_examples=150, deadline=None)
@given(random_dags())
def test_liveness_matches_brute_force_reference(case):
    nodes, sizes, outs = case
    inputs = [("in0", "float32", (sizes["in0"] // 4,))]
    outputs = [(o, "float32", None) for o in outs]
    m = peak_activation(_res(nodes, inputs, outputs))
    expected = _reference_timeline(nodes, inputs, outputs, sizes)
    assert m.timeline == expected
    assert m.peak_bytes == max(expected)
