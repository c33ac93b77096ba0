"""Handlers for ai.onnx RNN / GRU / LSTM and com.microsoft DynamicQuantizeLSTM.

Every expected number is worked out by hand in the comment next to it.  Per-element
costs used: sigmoid 4 (neg, exp, add, div), tanh 1 (a primitive function), relu 1,
hardsigmoid 4, bias 2 per gate, peephole 2 per gate (i, f, o), LSTM cell update 3 +
output product 1, GRU reset 1 + update 4, clip 2 per activation.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from helpers import ctx_from_model
from op_handlers import REGISTRY
from op_handlers.base import NodeContext, TensorInfo
from op_handlers.microsoft.recurrent import dynamic_quantize_lstm
from op_handlers.onnx.recurrent import gru, lstm, rnn


def T(name, shape, dtype="float32", weight=False):
    return TensorInfo(name, dtype, tuple(shape), is_const=weight, is_weight=weight)


# --------------------------------------------------------------------------- helpers for real models




def _init(name, shape, dtype=np.float32):
    return numpy_helper.from_array(np.zeros(shape, dtype=dtype), name)


def _model(node, inputs, outputs, inits, opset=22):
    g = helper.make_graph([node], "g", inputs, outputs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


# --------------------------------------------------------------------------- registry


def test_registered_versions():
    for op in ("RNN", "GRU", "LSTM"):
        for v in (1, 7, 14, 22):
            assert REGISTRY.lookup("", op, v) is not None
    assert REGISTRY.lookup("", "LSTM", 22).fn is lstm
    assert REGISTRY.lookup("", "GRU", 3).fn is gru
    assert REGISTRY.lookup("", "RNN", 14).fn is rnn
    assert REGISTRY.lookup("com.microsoft", "DynamicQuantizeLSTM", 1).fn is dynamic_quantize_lstm


# --------------------------------------------------------------------------- LSTM


def test_lstm_forward_layout0_bias():
    # seq 5, batch 3, input 10, hidden 20, forward, with bias, no peepholes
    ctx = NodeContext(
        "LSTM", opset=14, attrs={"hidden_size": 20, "direction": "forward", "layout": 0},
        inputs=(T("X", (5, 3, 10)), T("W", (1, 80, 10), weight=True), T("R", (1, 80, 20), weight=True),
                T("B", (1, 160), weight=True)),
        outputs=(T("Y", (5, 1, 3, 20)), T("Y_h", (1, 3, 20)), T("Y_c", (1, 3, 20))),
    )
    c = lstm(ctx)
    # LSTM fwd: 4 gates * hidden 20 * (input 10 + hidden 20) * seq 5 * batch 3 = 36000
    assert c.macs == 36000
    # per step per hidden unit: 3 sigmoid (12) + tanh g (1) + tanh h (1) + cell 3 + out 1
    #   + bias 4 gates * 2 (8) = 26; elementwise = seq 5 * batch 3 * hidden 20 * 26 = 7800
    # FLOPs = 2 * 36000 + 7800 = 79800
    assert c.flops == 79800
    # params: W 80*10 = 800 + R 80*20 = 1600 + B 160 = 2560; float32 -> 10240 bytes
    assert c.params == 2560
    assert c.weight_bytes == 10240
    # read: X 5*3*10 = 150 floats = 600 B + weights 10240 = 10840
    assert c.bytes_read == 10840
    # written: Y 5*1*3*20 = 300 floats = 1200 B + Y_h 60*4 = 240 + Y_c 240 = 1680
    assert c.bytes_written == 1680
    assert c.compute_dtype == "float32"
    assert c.notes == ()


def _lstm_bidir_layout1_ctx():
    # seq 7, batch 2, input 4, hidden 6, bidirectional, layout 1, bias, peepholes,
    # sequence_lens, initial_h, initial_c
    return NodeContext(
        "LSTM", opset=22, attrs={"hidden_size": 6, "direction": "bidirectional", "layout": 1},
        inputs=(T("X", (2, 7, 4)), T("W", (2, 24, 4), weight=True), T("R", (2, 24, 6), weight=True),
                T("B", (2, 48), weight=True), T("seq_lens", (2,), "int32"),
                T("h0", (2, 2, 6)), T("c0", (2, 2, 6)), T("P", (2, 18), weight=True)),
        outputs=(T("Y", (2, 7, 2, 6)), T("Y_h", (2, 2, 6)), T("Y_c", (2, 2, 6))),
    )


def _check_lstm_bidir_layout1(c):
    # MACs: 2 dirs * seq 7 * batch 2 * 4 gates * hidden 6 * (input 4 + hidden 6) = 6720
    assert c.macs == 6720
    # per unit per direction: 26 (as above, with bias) + peepholes 3 gates * 2 = 32
    # elementwise = seq 7 * batch 2 * hidden 6 * (32 + 32) = 5376; FLOPs = 13440 + 5376 = 18816
    assert c.flops == 18816
    # params: W 2*24*4 = 192 + R 2*24*6 = 288 + B 2*48 = 96 + P 2*18 = 36 = 612 -> 2448 B
    assert c.params == 612
    assert c.weight_bytes == 2448
    # read: X 2*7*4 = 56 floats = 224 + weights 2448 + seq_lens 2 int32 = 8
    #       + h0 2*2*6 = 24 floats = 96 + c0 96  = 2872
    assert c.bytes_read == 2872
    # written: Y 2*7*2*6 = 168 floats = 672 + Y_h 24 floats = 96 + Y_c 96 = 864
    assert c.bytes_written == 864


def test_lstm_bidirectional_layout1_peepholes():
    c = lstm(_lstm_bidir_layout1_ctx())
    _check_lstm_bidir_layout1(c)
    assert any("sequence_lens" in n for n in c.notes)


def test_lstm_layout_matters():
    # the same X [2, 7, 4] read with layout 0 means seq 2, batch 7:
    # MACs = 2 dirs * seq 2 * batch 7 * 4 * 6 * 10 = 6720 too (seq*batch symmetric), but the
    # hidden size taken from R when the attribute is missing must still be 6:
    ctx = NodeContext(
        "LSTM", opset=22, attrs={"direction": "forward", "layout": 0},
        inputs=(T("X", (2, 7, 4)), T("W", (1, 24, 4), weight=True), T("R", (1, 24, 6), weight=True)),
        outputs=(T("Y", (2, 1, 7, 6)),),
    )
    c = lstm(ctx)
    # 1 dir * 2 * 7 * 4 gates * hidden 6 * (4 + 6) = 3360
    assert c.macs == 3360
    # no bias: per unit 3 sigmoid 12 + tanh 1 + tanh 1 + cell 3 + out 1 = 18;
    # 2 * 7 * 6 * 18 = 1512; 2*3360 + 1512 = 8232
    assert c.flops == 8232


def test_lstm_symbolic_dims():
    sympy = pytest.importorskip("sympy")
    S, B = sympy.symbols("S B", positive=True, integer=True)
    ctx = NodeContext(
        "LSTM", opset=14, attrs={"hidden_size": 20, "direction": "forward"},
        inputs=(T("X", (S, B, 10)), T("W", (1, 80, 10), weight=True), T("R", (1, 80, 20), weight=True),
                T("B", (1, 160), weight=True)),
        outputs=(T("Y", (S, 1, B, 20)),),
    )
    c = lstm(ctx)
    # 4 * 20 * 30 = 2400 per (step, batch row); FLOPs 4800 + 20 * 26 = 5320 per (step, row)
    assert sympy.simplify(c.macs - 2400 * S * B) == 0
    assert sympy.simplify(c.flops - 5320 * S * B) == 0


def test_lstm_real_model_bidirectional_layout1():
    seq, batch, inp, hid = 7, 2, 4, 6
    node = helper.make_node(
        "LSTM", ["X", "W", "R", "B", "seq_lens", "h0", "c0", "P"], ["Y", "Y_h", "Y_c"],
        hidden_size=hid, direction="bidirectional", layout=1,
    )
    m = _model(
        node,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [batch, seq, inp]),
         helper.make_tensor_value_info("seq_lens", TensorProto.INT32, [batch]),
         helper.make_tensor_value_info("h0", TensorProto.FLOAT, [batch, 2, hid]),
         helper.make_tensor_value_info("c0", TensorProto.FLOAT, [batch, 2, hid])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "Y_h", "Y_c")],
        [_init("W", (2, 4 * hid, inp)), _init("R", (2, 4 * hid, hid)), _init("B", (2, 8 * hid)),
         _init("P", (2, 3 * hid))],
    )
    ctx, shapes = ctx_from_model(m)
    # layout 1: Y is [batch, seq, num_directions, hidden], Y_h / Y_c [batch, num_directions, hidden]
    assert shapes["Y"] == (batch, seq, 2, hid)
    assert shapes["Y_h"] == (batch, 2, hid)
    assert shapes["Y_c"] == (batch, 2, hid)
    assert ctx.attrs["layout"] == 1
    c = lstm(ctx)
    _check_lstm_bidir_layout1(c)


def test_lstm_real_model_layout0():
    seq, batch, inp, hid = 5, 3, 10, 20
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y", "Y_h", "Y_c"], hidden_size=hid)
    m = _model(
        node,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [seq, batch, inp])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "Y_h", "Y_c")],
        [_init("W", (1, 4 * hid, inp)), _init("R", (1, 4 * hid, hid)), _init("B", (1, 8 * hid))],
    )
    ctx, shapes = ctx_from_model(m)
    # layout 0: Y is [seq, num_directions, batch, hidden]
    assert shapes["Y"] == (seq, 1, batch, hid)
    assert shapes["Y_h"] == (1, batch, hid)
    c = lstm(ctx)
    assert c.macs == 36000  # as test_lstm_forward_layout0_bias
    assert c.flops == 79800  # as test_lstm_forward_layout0_bias: 72000 + 15 * 20 * 26
    assert c.bytes_written == 1680


# --------------------------------------------------------------------------- GRU


def test_gru_forward_bias():
    # seq 4, batch 2, input 3, hidden 5, forward, bias, linear_before_reset 0
    ctx = NodeContext(
        "GRU", opset=7, attrs={"hidden_size": 5, "direction": "forward", "linear_before_reset": 0},
        inputs=(T("X", (4, 2, 3)), T("W", (1, 15, 3), weight=True), T("R", (1, 15, 5), weight=True),
                T("B", (1, 30), weight=True)),
        outputs=(T("Y", (4, 1, 2, 5)), T("Y_h", (1, 2, 5))),
    )
    c = gru(ctx)
    # GRU fwd: 3 gates * hidden 5 * (input 3 + hidden 5) * seq 4 * batch 2 = 960
    assert c.macs == 960
    # per unit: z, r sigmoid 2*4 = 8 + h tanh 1 + reset 1 + update 4 + bias 3*2 = 6 -> 20
    # elementwise = 4 * 2 * 5 * 20 = 800; FLOPs = 1920 + 800 = 2720
    assert c.flops == 2720
    # params W 15*3 = 45 + R 15*5 = 75 + B 30 = 150 -> 600 B
    assert c.params == 150
    assert c.weight_bytes == 600
    # read X 24 floats = 96 + 600 = 696; written Y 40 floats = 160 + Y_h 10 floats = 40 = 200
    assert c.bytes_read == 696
    assert c.bytes_written == 200


def _gru_bidir_ctx_attrs():
    return {"hidden_size": 4, "direction": "bidirectional", "layout": 1, "linear_before_reset": 1,
            "activations": ["Sigmoid", "Tanh", "HardSigmoid", "Relu"]}


def _check_gru_bidir(c):
    # MACs: 2 dirs * seq 6 * batch 1 * 3 gates * hidden 4 * (input 8 + hidden 4) = 1728
    assert c.macs == 1728
    # forward per unit: 2 sigmoid 8 + tanh 1 + reset 1 + update 4 = 14
    # reverse per unit: 2 hardsigmoid 8 + relu 1 + reset 1 + update 4 = 14   (no bias)
    # elementwise = seq 6 * batch 1 * hidden 4 * (14 + 14) = 672; FLOPs = 3456 + 672 = 4128
    assert c.flops == 4128
    # params W 2*12*8 = 192 + R 2*12*4 = 96 = 288 -> 1152 B
    assert c.params == 288
    assert c.weight_bytes == 1152
    # read X 1*6*8 = 48 floats = 192 + 1152 = 1344
    assert c.bytes_read == 1344
    # written Y [1, 6, 2, 4] = 48 floats = 192 + Y_h [1, 2, 4] = 8 floats = 32 -> 224
    assert c.bytes_written == 224


def test_gru_bidirectional_layout1_activations():
    ctx = NodeContext(
        "GRU", opset=14, attrs=_gru_bidir_ctx_attrs(),
        inputs=(T("X", (1, 6, 8)), T("W", (2, 12, 8), weight=True), T("R", (2, 12, 4), weight=True)),
        outputs=(T("Y", (1, 6, 2, 4)), T("Y_h", (1, 2, 4))),
    )
    _check_gru_bidir(gru(ctx))


def test_gru_activations_as_bytes():
    attrs = _gru_bidir_ctx_attrs()
    attrs["activations"] = [a.encode() for a in attrs["activations"]]
    ctx = NodeContext(
        "GRU", opset=14, attrs=attrs,
        inputs=(T("X", (1, 6, 8)), T("W", (2, 12, 8), weight=True), T("R", (2, 12, 4), weight=True)),
        outputs=(T("Y", (1, 6, 2, 4)), T("Y_h", (1, 2, 4))),
    )
    _check_gru_bidir(gru(ctx))


def test_gru_real_model_bidirectional_layout1():
    batch, seq, inp, hid = 1, 6, 8, 4
    node = helper.make_node("GRU", ["X", "W", "R"], ["Y", "Y_h"], **_gru_bidir_ctx_attrs())
    m = _model(
        node,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [batch, seq, inp])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "Y_h")],
        [_init("W", (2, 3 * hid, inp)), _init("R", (2, 3 * hid, hid))],
    )
    ctx, shapes = ctx_from_model(m)
    assert shapes["Y"] == (batch, seq, 2, hid)
    assert shapes["Y_h"] == (batch, 2, hid)
    _check_gru_bidir(gru(ctx))


# --------------------------------------------------------------------------- RNN


def test_rnn_forward_bias_clip_fp16_hidden_from_r():
    # seq 10, batch 4, input 16, hidden 8 (no hidden_size attribute: from R), bias, clip, fp16
    ctx = NodeContext(
        "RNN", opset=7, attrs={"direction": "forward", "clip": 3.0, "activations": ["Tanh", "Tanh"]},
        inputs=(T("X", (10, 4, 16), "float16"), T("W", (1, 8, 16), "float16", True),
                T("R", (1, 8, 8), "float16", True), T("B", (1, 16), "float16", True)),
        outputs=(T("Y", (10, 1, 4, 8), "float16"), T("Y_h", (1, 4, 8), "float16")),
    )
    c = rnn(ctx)
    # RNN: 1 gate * hidden 8 * (input 16 + hidden 8) * seq 10 * batch 4 = 7680
    assert c.macs == 7680
    # per unit: tanh 1 + bias 2 + clip 2 = 5; 10 * 4 * 8 * 5 = 1600; FLOPs = 15360 + 1600 = 16960
    assert c.flops == 16960
    # params W 128 + R 64 + B 16 = 208 -> fp16 416 B
    assert c.params == 208
    assert c.weight_bytes == 416
    # read X 640 el * 2 = 1280 + 416 = 1696; written Y 320*2 = 640 + Y_h 32*2 = 64 = 704
    assert c.bytes_read == 1696
    assert c.bytes_written == 704
    assert c.compute_dtype == "float16"


def _check_rnn_bidir(c):
    # MACs: 2 dirs * seq 3 * batch 5 * hidden 7 * (input 2 + hidden 7) = 1890
    assert c.macs == 1890
    # per unit tanh 1 per direction: 3 * 5 * 7 * (1 + 1) = 210; FLOPs = 3780 + 210 = 3990
    assert c.flops == 3990
    # params W 2*7*2 = 28 + R 2*7*7 = 98 = 126 -> 504 B
    assert c.params == 126
    assert c.weight_bytes == 504
    # read X 30 floats = 120 + 504 = 624; written Y 5*3*2*7 = 210 floats = 840 + Y_h 70 = 280 -> 1120
    assert c.bytes_read == 624
    assert c.bytes_written == 1120


def test_rnn_bidirectional_layout1():
    ctx = NodeContext(
        "RNN", opset=14,
        attrs={"hidden_size": 7, "direction": "bidirectional", "layout": 1, "activations": ["Tanh", "Tanh"]},
        inputs=(T("X", (5, 3, 2)), T("W", (2, 7, 2), weight=True), T("R", (2, 7, 7), weight=True)),
        outputs=(T("Y", (5, 3, 2, 7)), T("Y_h", (5, 2, 7))),
    )
    _check_rnn_bidir(rnn(ctx))


def test_rnn_real_model_bidirectional_layout1():
    batch, seq, inp, hid = 5, 3, 2, 7
    node = helper.make_node("RNN", ["X", "W", "R"], ["Y", "Y_h"], hidden_size=hid,
                            direction="bidirectional", layout=1)
    m = _model(
        node,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [batch, seq, inp])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "Y_h")],
        [_init("W", (2, hid, inp)), _init("R", (2, hid, hid))],
    )
    ctx, shapes = ctx_from_model(m)
    assert shapes["Y"] == (batch, seq, 2, hid)
    assert shapes["Y_h"] == (batch, 2, hid)
    _check_rnn_bidir(rnn(ctx))


def test_rnn_real_model_layout0():
    seq, batch, inp, hid = 10, 4, 16, 8
    node = helper.make_node("RNN", ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hid, clip=3.0)
    m = _model(
        node,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT16, [seq, batch, inp])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT16, None) for n in ("Y", "Y_h")],
        [_init("W", (1, hid, inp), np.float16), _init("R", (1, hid, hid), np.float16),
         _init("B", (1, 2 * hid), np.float16)],
    )
    ctx, shapes = ctx_from_model(m)
    assert shapes["Y"] == (seq, 1, batch, hid)
    c = rnn(ctx)
    # as test_rnn_forward_bias_clip_fp16_hidden_from_r: FLOPs 15360 + 320 * (tanh 1 + bias 2 + clip 2)
    assert (c.macs, c.flops, c.bytes_read, c.bytes_written) == (7680, 16960, 1696, 704)


# --------------------------------------------------------------------------- DynamicQuantizeLSTM


def test_dynamic_quantize_lstm():
    # seq 5, batch 3, input 10, hidden 20, forward; W [1, 10, 80] and R [1, 20, 80] int8
    ctx = NodeContext(
        "DynamicQuantizeLSTM", domain="com.microsoft", opset=1, attrs={"hidden_size": 20},
        inputs=(T("X", (5, 3, 10)), T("W", (1, 10, 80), "int8", True), T("R", (1, 20, 80), "int8", True),
                T("B", (1, 160), weight=True), None, None, None, None,
                T("W_scale", (1,), weight=True), T("W_zp", (1,), "int8", True),
                T("R_scale", (1,), weight=True), T("R_zp", (1,), "int8", True)),
        outputs=(T("Y", (5, 1, 3, 20)), T("Y_h", (1, 3, 20)), T("Y_c", (1, 3, 20))),
    )
    c = dynamic_quantize_lstm(ctx)
    # MACs as LSTM: 4 * 20 * (10 + 20) * 5 * 3 = 36000
    assert c.macs == 36000
    # FLOPs = 2*36000 = 72000 + LSTM elementwise 15 * 20 * 26 = 7800 (see
    #   test_lstm_forward_layout0_bias) + quantise 4 * (X 5*3*10 = 150 + H 5*3*20 = 300) = 1800
    #   + dequantise 1 * 2 GEMMs * 5 * 3 * 80 = 2400            -> 84000
    assert c.flops == 84000
    # params W 800 + R 1600 + B 160 = 2560 (scales and zero points are metadata: bytes only)
    assert c.params == 2560
    # bytes W 800 + R 1600 (int8) + B 640 + scales 4 + 4 + zero points 1 + 1 = 3050
    assert c.weight_bytes == 3050
    # read X 150 floats = 600 + 3050 = 3650; written Y 1200 + Y_h 240 + Y_c 240 = 1680
    assert c.bytes_read == 3650
    assert c.bytes_written == 1680
    assert c.compute_dtype == "int8"
