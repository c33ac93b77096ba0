"""onnxstat.precision.attribute_precision on small hand-built QDQ graphs.

Expected numbers are worked out in the comments.  MACs of Conv = Cout·Cin·kh·kw·Hout·Wout,
of MatMul = numel(Y)·K; FLOPs of a Conv with bias = 2·MACs + numel(Y) (bias add),
QuantizeLinear 4·numel, DequantizeLinear 2·numel (docs/conventions.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxstat
from onnxstat.passes.precision import attribute_precision

F = TensorProto.FLOAT


class G:
    """A tiny graph builder: initializers, nodes, one float input."""

    def __init__(self):
        self.nodes = []
        self.inits = []

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(self, op, ins, out, **attrs):
        self.nodes.append(helper.make_node(op, ins, [out], name=out + "_node", **attrs))
        return out

    def qdq(self, x, tag, dtype=np.int8):
        """x -> QuantizeLinear -> DequantizeLinear (activation, per-tensor)."""
        s = self.init(f"{tag}_s", np.float32(0.1))
        z = self.init(f"{tag}_z", np.array(0, dtype=dtype))
        q = self.node("QuantizeLinear", [x, s, z], f"{tag}_q")
        return self.node("DequantizeLinear", [q, s, z], f"{tag}_dq")

    def dq_weight(self, name, arr):
        """A quantized initializer and its DequantizeLinear."""
        w = self.init(name + "_q", arr)
        s = self.init(name + "_s", np.float32(0.02))
        z = self.init(name + "_z", np.zeros((), dtype=arr.dtype))
        return self.node("DequantizeLinear", [w, s, z], name + "_dq")

    def model(self, x_shape, out, opset=17):
        g = helper.make_graph(
            self.nodes, "g",
            [helper.make_tensor_value_info("x", F, list(x_shape))],
            [helper.make_tensor_value_info(out, 0, None)],
            self.inits,
        )
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def by_name(res, name):
    return next(n for n in res.nodes if n.name == name)


def qdq_conv_model(act=np.int8, q_after=True):
    # x [1,3,8,8] -> Q/DQ -> Conv(W int8 [4,3,3,3], bias int32 [4], pads 1) [-> Q/DQ]
    g = G()
    x = g.qdq("x", "x", act)
    w = g.dq_weight("w", np.ones((4, 3, 3, 3), dtype=np.int8))
    b_q = g.init("b_q", np.zeros(4, dtype=np.int32))
    b_s = g.init("b_s", np.float32(0.002))
    b = g.node("DequantizeLinear", [b_q, b_s], "b_dq")
    y = g.node("Conv", [x, w, b], "conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    if q_after:
        y = g.qdq(y, "y", act)
    return g.model((1, 3, 8, 8), y)


def test_qdq_conv_is_int8():
    res = onnxstat.profile(qdq_conv_model())
    attribute_precision(res)
    conv = by_name(res, "conv_node")
    # MACs = 4·3·3·3·8·8 = 6912; FLOPs = 2·6912 + 4·8·8 (bias) = 14080
    assert conv.macs == 6912 and conv.flops == 14080
    assert conv.compute_dtype == "int8"
    assert any("QDQ" in s for s in conv.notes)
    t = res.totals
    assert t.macs_by_precision == {"int8": 6912}
    assert t.low_precision_mac_share == 1.0
    # Q/DQ FLOPs stay float32: Q(x) 4·192 + DQ(x) 2·192 + DQ(w) 2·108 + DQ(b) 2·4
    # + Q(y) 4·256 + DQ(y) 2·256 = 768 + 384 + 216 + 8 + 1024 + 512 = 2912
    assert t.flops_by_precision == {"int8": 14080, "float32": 2912}
    conv_row = next(r for r in res.by_op_type if r.op_type == "Conv")
    assert conv_row.compute_dtypes == {"int8"}
    # the weight of a QDQ model is the int8 initializer: 108 int8 params, 4 int32 bias params
    assert t.params_by_dtype == {"int8": 108, "int32": 4, "float32": 0}


def test_qdq_conv_without_output_q_is_still_fused():
    # dense ops: the QuantizeLinear after the op is optional (float output)
    res = onnxstat.profile(qdq_conv_model(q_after=False))
    attribute_precision(res)
    assert by_name(res, "conv_node").compute_dtype == "int8"


def test_qdq_uint8_activation_gives_uint8():
    res = onnxstat.profile(qdq_conv_model(act=np.uint8))
    attribute_precision(res)
    assert by_name(res, "conv_node").compute_dtype == "uint8"
    assert res.totals.macs_by_precision == {"uint8": 6912}


def test_idempotent():
    res = onnxstat.profile(qdq_conv_model())
    attribute_precision(res)
    notes = list(by_name(res, "conv_node").notes)
    before = (dict(res.totals.macs_by_precision), dict(res.totals.flops_by_precision))
    attribute_precision(res)
    assert by_name(res, "conv_node").notes == notes
    assert (dict(res.totals.macs_by_precision), dict(res.totals.flops_by_precision)) == before


def test_weight_only_matmul_stays_float():
    # x [2,16] float @ DQ(W int8 [16,8]): MACs = 2·8·16 = 256, float32 compute
    g = G()
    w = g.dq_weight("w", np.ones((16, 8), dtype=np.int8))
    y = g.node("MatMul", ["x", w], "mm")
    res = onnxstat.profile(g.model((2, 16), y))
    attribute_precision(res)
    mm = by_name(res, "mm_node")
    assert mm.macs == 256 and mm.compute_dtype == "float32"
    assert any("weight-only" in s and "int8 weights" in s for s in mm.notes)
    assert res.totals.macs_by_precision == {"float32": 256}
    # weight bytes: 128 int8 + scale 4 + zero point 1 = 133
    assert res.totals.weight_bytes == 133
    assert res.totals.params_by_dtype["int8"] == 128


def test_int4_weight_with_int8_activation_is_not_an_8bit_fusion():
    # onnxruntime's 8-bit QDQ fusions need int8/uint8 weights; an int4 weight with a
    # float activation is weight-only (MatMulNBits-style): float compute.
    g = G()
    w = g.dq_weight("w", np.ones((16, 8), dtype=np.int8).astype(np.int8))
    # replace the int8 weight by an int4 initializer of the same shape
    g.inits = [t for t in g.inits if t.name != "w_q" and t.name != "w_z"]
    g.inits.append(helper.make_tensor("w_q", TensorProto.INT4, [16, 8], [1] * 128))
    g.inits.append(helper.make_tensor("w_z", TensorProto.INT4, [], [0]))
    x = g.qdq("x", "x")
    y = g.node("MatMul", [x, w], "mm")
    res = onnxstat.profile(g.model((2, 16), y, opset=21))
    attribute_precision(res)
    assert by_name(res, "mm_node").compute_dtype == "float32"


def test_float_weight_is_not_fused():
    # activation from DQ, weight a plain float initializer: no fusion
    g = G()
    x = g.qdq("x", "x")
    w = g.init("w", np.ones((16, 8), dtype=np.float32))
    y = g.node("MatMul", [x, w], "mm")
    res = onnxstat.profile(g.model((2, 16), y))
    attribute_precision(res)
    assert by_name(res, "mm_node").compute_dtype == "float32"


@pytest.mark.parametrize("q_after, expected", [(True, "int8"), (False, "float32")])
def test_add_needs_quantize_after(q_after, expected):
    # elementwise ops fuse to QLinearAdd only with a QuantizeLinear consumer
    g = G()
    a = g.qdq("x", "a")
    b = g.qdq("x", "b")
    y = g.node("Add", [a, b], "add")
    if q_after:
        y = g.qdq(y, "y")
    res = onnxstat.profile(g.model((2, 16), y))
    attribute_precision(res)
    add = by_name(res, "add_node")
    assert add.compute_dtype == expected
    # Add FLOPs = numel = 32, in the attributed precision
    assert add.flops == 32
    assert res.totals.flops_by_precision.get(expected, 0) >= 32


def test_mixed_model_share():
    # conv1 (QDQ, int8) then conv2 with a float weight (stays float32)
    # conv1: 4·3·9·8·8 = 6912 MACs; conv2: 4·4·9·8·8 = 9216 MACs (float)
    # int8 share = 6912 / (6912 + 9216) = 6912 / 16128 = 0.428571...
    g = G()
    x = g.qdq("x", "x")
    w = g.dq_weight("w", np.ones((4, 3, 3, 3), dtype=np.int8))
    y = g.node("Conv", [x, w], "conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    y = g.qdq(y, "y")
    w2 = g.init("w2", np.ones((4, 4, 3, 3), dtype=np.float32))
    z = g.node("Conv", [y, w2], "conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    res = onnxstat.profile(g.model((1, 3, 8, 8), z))
    attribute_precision(res)
    assert res.totals.macs_by_precision == {"int8": 6912, "float32": 9216}
    assert res.totals.low_precision_mac_share == pytest.approx(6912 / 16128)
    row = next(r for r in res.by_op_type if r.op_type == "Conv")
    assert row.compute_dtypes == {"int8", "float32"}


def test_float_model_untouched():
    g = G()
    w = g.init("w", np.ones((16, 8), dtype=np.float32))
    y = g.node("MatMul", ["x", w], "mm")
    res = onnxstat.profile(g.model((2, 16), y))
    before = res.to_dict()
    attribute_precision(res)
    assert res.to_dict() == before
