"""One-node tests for the core handler families (conv, linear, elementwise,
normalisation, pooling, reduction, data movement).  Each graph goes through the
whole pipeline (loading, shape inference, handler), and the expected numbers are
worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import F, TensorProto, one_node, zeros
from op_handlers import NodeContext, TensorInfo
from op_handlers.onnx.linear import einsum


# --------------------------------------------------------------------------- conv


def test_conv_with_bias():
    # X 1x3x8x8, W 16x3x3x3, pads 1 -> Y 1x16x8x8 (1024 elements)
    # MACs = 1024 * (3*3*3=27) = 27648; FLOPs = 2*27648 + 1024 (bias) = 56320
    # params = 16*3*3*3 + 16 = 432 + 16 = 448; weight bytes = 448*4 = 1792
    # read = X 192*4=768 + W 1728 + B 64 = 2560; written = 1024*4 = 4096
    n, _ = one_node("Conv", {"x": (F, [1, 3, 8, 8])}, {"pads": [1, 1, 1, 1]},
                    weights={"w": zeros(16, 3, 3, 3), "b": zeros(16)})
    assert (n.macs, n.flops, n.params, n.weight_bytes) == (27648, 56320, 448, 1792)
    assert (n.bytes_read, n.bytes_written) == (2560, 4096)
    assert n.compute_dtype == "float32"


def test_conv_grouped_strided_dilated_no_bias():
    # X 2x8x16x16, W 8x2x3x3 (group 4), stride 2, dilation 2, pads 2:
    # Hout = floor((16 + 4 - (2*(3-1)+1)) / 2) + 1 = floor(15/2) + 1 = 8 -> Y 2x8x8x8 = 1024 elements
    # MACs = 1024 * (8/4=2 * 3*3) = 1024 * 18 = 18432; FLOPs = 36864 (no bias)
    n, _ = one_node("Conv", {"x": (F, [2, 8, 16, 16])},
                    {"group": 4, "strides": [2, 2], "dilations": [2, 2], "pads": [2, 2, 2, 2]},
                    weights={"w": zeros(8, 2, 3, 3)})
    assert n.outputs[0][2] == (2, 8, 8, 8)
    assert (n.macs, n.flops, n.params) == (18432, 36864, 144)


def test_conv1d_depthwise():
    # X 1x32x100, W 32x1x5 (group 32), no pad -> Y 1x32x96 = 3072 elements
    # MACs = 3072 * 5 = 15360
    n, _ = one_node("Conv", {"x": (F, [1, 32, 100])}, {"group": 32}, weights={"w": zeros(32, 1, 5)})
    assert n.macs == 15360 and n.flops == 30720


def test_conv_transpose():
    # X 1x16x8x8 (1024 elements), W 16x8x4x4 (C=16, M/group=8), stride 2, pads 1 -> Y 1x8x16x16
    # MACs = numel(X) * 8 * 4*4 = 1024 * 128 = 131072; bias: + numel(Y) = 2048 -> FLOPs 264192
    n, _ = one_node("ConvTranspose", {"x": (F, [1, 16, 8, 8])}, {"strides": [2, 2], "pads": [1, 1, 1, 1]},
                    weights={"w": zeros(16, 8, 4, 4), "b": zeros(8)})
    assert n.outputs[0][2] == (1, 8, 16, 16)
    assert (n.macs, n.flops, n.params) == (131072, 264192, 2048 + 8)


# --------------------------------------------------------------------------- linear


def test_gemm_transb_bias():
    # A 4x256, B 128x256 (transB) -> M=4, K=256, N=128; MACs = 4*128*256 = 131072
    # FLOPs = 2*131072 + 4*128 (C add) = 262144 + 512 = 262656; params = 128*256 + 128 = 32896
    n, _ = one_node("Gemm", {"a": (F, [4, 256])}, {"transB": 1}, weights={"b": zeros(128, 256), "c": zeros(128)})
    assert (n.macs, n.flops, n.params) == (131072, 262656, 32896)


def test_gemm_alpha_beta():
    # A^T: A 8x2 (transA) -> M=2, K=8; B 8x3 -> N=3; MACs = 2*3*8 = 48
    # alpha=0.5 (+6), C with beta=2 (+6 add, +6 scale) -> FLOPs = 96 + 18 = 114
    n, _ = one_node("Gemm", {"a": (F, [8, 2]), "b": (F, [8, 3]), "c": (F, [2, 3])},
                    {"transA": 1, "alpha": 0.5, "beta": 2.0})
    assert (n.macs, n.flops, n.params) == (48, 114, 0)


def test_matmul_batched_broadcast():
    # A 2x1x5x7, B 3x7x4 -> Y 2x3x5x4 (120 elements), K = 7 -> MACs = 840
    n, _ = one_node("MatMul", {"a": (F, [2, 1, 5, 7]), "b": (F, [3, 7, 4])})
    assert n.outputs[0][2] == (2, 3, 5, 4)
    assert (n.macs, n.flops) == (840, 1680)


def test_matmul_vector_operands():
    # A (6,) · B 6x9 -> Y (9,): MACs = 9*6 = 54
    n, _ = one_node("MatMul", {"a": (F, [6])}, weights={"b": zeros(6, 9)})
    assert (n.macs, n.params) == (54, 54)


def test_einsum_batched_matmul_and_single_operand():
    # "bij,bjk->bik" with b=2, i=3, j=4, k=5: MACs = 2*3*4*5 = 120
    n, _ = one_node("Einsum", {"a": (F, [2, 3, 4]), "b": (F, [2, 4, 5])}, {"equation": "bij,bjk->bik"})
    assert (n.macs, n.flops) == (120, 240)
    # "ii->i" (diagonal, one operand): no MACs, FLOPs = numel(X) = 9
    n, _ = one_node("Einsum", {"a": (F, [3, 3])}, {"equation": "ii->i"})
    assert (n.macs, n.flops) == (0, 9)


def test_einsum_three_operands_left_to_right():
    # "ij,jk,kl->il", i=2 j=3 k=4 l=5: first pair (i,j,k) = 24, result ik; then (i,k,l) = 40 -> 64
    ctx = NodeContext("Einsum", opset=12, attrs={"equation": "ij,jk,kl->il"},
                      inputs=(TensorInfo("a", "float32", (2, 3)), TensorInfo("b", "float32", (3, 4)),
                              TensorInfo("c", "float32", (4, 5))),
                      outputs=(TensorInfo("y", "float32", (2, 5)),))
    assert einsum(ctx).macs == 64


def test_einsum_ellipsis():
    # "...ij,...jk->...ik" with batch 6: MACs = 6*2*3*4 = 144
    n, _ = one_node("Einsum", {"a": (F, [6, 2, 3]), "b": (F, [6, 3, 4])}, {"equation": "...ij,...jk->...ik"})
    assert n.macs == 144


# --------------------------------------------------------------------------- elementwise


@pytest.mark.parametrize(
    "op,per",
    [("Add", 1), ("Relu", 1), ("Sigmoid", 4), ("Tanh", 1), ("Erf", 1), ("LeakyRelu", 2), ("HardSwish", 5),
     ("Elu", 4), ("Softplus", 3), ("Clip", 2)],
)
def test_elementwise_per_element(op, per):
    # 2x3x4 = 24 output elements, FLOPs = 24 * per; traffic = (inputs + output) * 4 bytes
    unary = op not in ("Add",)
    inputs = {"a": (F, [2, 3, 4])} if unary else {"a": (F, [2, 3, 4]), "b": (F, [4])}
    n, _ = one_node(op, inputs)
    assert n.macs == 0 and n.flops == 24 * per
    read = 24 * 4 if unary else (24 + 4) * 4
    assert (n.bytes_read, n.bytes_written) == (read, 96)


def test_add_broadcast_bias_counts_parameter():
    # Y = X (1x8x16) + bias (16,) initializer: FLOPs = 128; params = 16
    n, _ = one_node("Add", {"x": (F, [1, 8, 16])}, weights={"bias": zeros(16)})
    assert (n.flops, n.params, n.weight_bytes) == (128, 16, 64)


def test_variadic_sum_and_mean():
    # Sum of 3 inputs of 10 elements: (3-1) * 10 = 20; Mean: 20 + 10 = 30
    ins = {"a": (F, [10]), "b": (F, [10]), "c": (F, [10])}
    assert one_node("Sum", ins)[0].flops == 20
    assert one_node("Mean", ins)[0].flops == 30


def test_gelu_opset20():
    # 50 elements, erf form 5 per element = 250; tanh form 9 per element = 450
    assert one_node("Gelu", {"x": (F, [5, 10])}, opset=20)[0].flops == 250
    assert one_node("Gelu", {"x": (F, [5, 10])}, {"approximate": "tanh"}, opset=20)[0].flops == 450


# --------------------------------------------------------------------------- normalisation


def test_batchnorm_inference():
    # X 2x4x5x5 = 200 elements; 2 FLOPs each = 400; params = 4 tensors of 4 = 16
    n, _ = one_node("BatchNormalization", {"x": (F, [2, 4, 5, 5])},
                    weights={"s": zeros(4), "b": zeros(4), "m": zeros(4), "v": zeros(4)})
    assert (n.flops, n.params) == (400, 16)


def test_layernorm():
    # X 2x7x32 = 448 elements; 8 FLOPs each (with bias) = 3584; params 32 + 32
    n, _ = one_node("LayerNormalization", {"x": (F, [2, 7, 32])}, {"axis": -1},
                    weights={"g": zeros(32), "b": zeros(32)})
    assert (n.flops, n.params) == (3584, 64)
    # without bias: 7 per element = 3136
    n, _ = one_node("LayerNormalization", {"x": (F, [2, 7, 32])}, {"axis": -1}, weights={"g": zeros(32)})
    assert n.flops == 3136


def test_instance_and_group_norm():
    # X 1x6x4x4 = 96 elements, 8 each = 768
    n, _ = one_node("InstanceNormalization", {"x": (F, [1, 6, 4, 4])}, weights={"s": zeros(6), "b": zeros(6)})
    assert n.flops == 768
    n, _ = one_node("GroupNormalization", {"x": (F, [1, 6, 4, 4])}, {"num_groups": 3}, opset=21,
                    weights={"s": zeros(6), "b": zeros(6)})
    assert n.flops == 768


# --------------------------------------------------------------------------- pooling


def test_maxpool_and_avgpool():
    # X 1x8x32x32, kernel 2, stride 2 -> Y 1x8x16x16 = 2048; FLOPs = 2048 * 4 = 8192
    for op in ("MaxPool", "AveragePool"):
        n, _ = one_node(op, {"x": (F, [1, 8, 32, 32])}, {"kernel_shape": [2, 2], "strides": [2, 2]})
        assert n.outputs[0][2] == (1, 8, 16, 16)
        assert n.flops == 8192
        # read X = 8192*4 = 32768, write Y = 2048*4 = 8192
        assert (n.bytes_read, n.bytes_written) == (32768, 8192)


def test_global_average_pool():
    # X 2x16x7x7 = 1568 elements -> FLOPs 1568
    n, _ = one_node("GlobalAveragePool", {"x": (F, [2, 16, 7, 7])})
    assert n.flops == 1568


def test_resize_modes():
    # X 1x3x10x10 -> scales (1,1,2,2) -> Y 1x3x20x20 = 1200 elements, 2 dims resized
    scales = np.array([1, 1, 2, 2], dtype=np.float32)
    common = dict(consts={"roi": np.array([], dtype=np.float32), "scales": scales})
    n, _ = one_node("Resize", {"x": (F, [1, 3, 10, 10])}, {"mode": "nearest"}, **common)
    assert n.outputs[0][2] == (1, 3, 20, 20) and n.flops == 0
    # linear: 1200 * 3 * (2^2 - 1) = 10800
    n, _ = one_node("Resize", {"x": (F, [1, 3, 10, 10])}, {"mode": "linear"}, **common)
    assert n.flops == 10800
    # cubic: 1200 * 7 * (4^2 - 1)/3 = 1200 * 7 * 5 = 42000
    n, _ = one_node("Resize", {"x": (F, [1, 3, 10, 10])}, {"mode": "cubic"}, **common)
    assert n.flops == 42000
    assert n.params == 0  # scales are control values, not parameters


# --------------------------------------------------------------------------- reductions


def test_reductions_and_softmax():
    # X 4x10 = 40, axes [1] -> Y 4x1 = 4
    x = {"x": (F, [4, 10])}
    axes = {"axes": np.array([1], dtype=np.int64)}
    assert one_node("ReduceSum", x, consts=axes)[0].flops == 40  # 1 per input
    assert one_node("ReduceMean", x, consts=axes, opset=18)[0].flops == 44  # 40 + 4
    assert one_node("ReduceL2", x, consts=axes, opset=18)[0].flops == 84  # 2*40 + 4
    assert one_node("Softmax", x)[0].flops == 200  # 5 * 40
    assert one_node("ArgMax", x)[0].flops == 40


# --------------------------------------------------------------------------- data movement


def test_views_cost_nothing():
    # Reshape: 0 FLOPs and 0 bytes, and the int64 shape constant is not a parameter
    n, _ = one_node("Reshape", {"x": (F, [2, 3, 4])}, consts={"s": np.array([6, 4], dtype=np.int64)})
    assert n.outputs[0][2] == (6, 4)
    assert (n.flops, n.bytes_read, n.bytes_written, n.params) == (0, 0, 0, 0)
    assert n.kind == "view"


def test_transpose_moves_bytes():
    # 2x3x4 float = 96 bytes read and written
    n, _ = one_node("Transpose", {"x": (F, [2, 3, 4])}, {"perm": [2, 0, 1]})
    assert (n.flops, n.bytes_read, n.bytes_written) == (0, 96, 96)
    assert n.kind == "data_movement"


def test_gather_embedding_reads_rows_only():
    # table 1000x64 float (parameter), ids 2x5 int64 -> Y 2x5x64 = 640 floats = 2560 bytes
    # read = rows gathered (2560) + ids (10*8 = 80) = 2640; params = 64000
    n, _ = one_node("Gather", {"ids": (TensorProto.INT64, [2, 5])}, weights={"table": zeros(1000, 64)},
                    input_names=["table", "ids"])
    assert (n.bytes_read, n.bytes_written, n.params) == (2640, 2560, 64000)


def test_concat_with_constant_token_counts_parameter():
    # cls token 1x1x8 (parameter) concatenated to X 1x4x8 -> Y 1x5x8
    n, _ = one_node("Concat", {"x": (F, [1, 4, 8])}, {"axis": 1}, weights={"cls": zeros(1, 1, 8)},
                    input_names=["cls", "x"])
    assert n.outputs[0][2] == (1, 5, 8)
    assert (n.params, n.bytes_read, n.bytes_written) == (8, 160, 160)


def test_slice_reads_output_sized_region():
    # X 10x10 float, slice rows 0..2 -> Y 2x10 = 80 bytes; read = 80 + starts/ends/axes (3 * 8)
    c = {"st": np.array([0], np.int64), "en": np.array([2], np.int64), "ax": np.array([0], np.int64)}
    n, _ = one_node("Slice", {"x": (F, [10, 10])}, consts=c)
    assert n.outputs[0][2] == (2, 10)
    assert (n.bytes_read, n.bytes_written) == (80 + 24, 80)


def test_cast_counts_each_dtype():
    # 100 float32 -> float16: read 400, written 200
    n, _ = one_node("Cast", {"x": (F, [100])}, {"to": TensorProto.FLOAT16})
    assert (n.bytes_read, n.bytes_written) == (400, 200)


def test_view_of_a_constant_keeps_its_parameters():
    # a bias initializer of 16 floats reshaped to 1x16x1x1 (as quantize_dynamic writes it): 16 params, 0 bytes moved
    n, _ = one_node("Reshape", {}, weights={"bias": zeros(16)}, consts={"s": np.array([1, 16, 1, 1], np.int64)})
    assert (n.params, n.weight_bytes, n.bytes_read, n.bytes_written) == (16, 64, 0, 0)


def test_zero_d_literal_is_stored_but_not_a_parameter():
    # x * 0.5 (a 0-d float32 constant): 0 params, 4 weight bytes; x + b with b of shape (1,): 1 param
    n, _ = one_node("Mul", {"x": (F, [4, 4])}, weights={"half": np.array(0.5, np.float32)})
    assert (n.params, n.weight_bytes) == (0, 4)
    n, _ = one_node("Add", {"x": (F, [4, 1])}, weights={"b": np.zeros(1, np.float32)})
    assert (n.params, n.weight_bytes) == (1, 4)
