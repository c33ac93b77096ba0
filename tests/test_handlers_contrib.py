"""Handlers of op_handlers/microsoft/contrib.py and nchwc.py (com.microsoft and
com.microsoft.nchwc), one hand-built node each.  Expected numbers are worked out in the comments, never by
calling a handler.  Byte sizes: float32/int32 4, float16 2.
"""

from __future__ import annotations

import pytest

from helpers import check_cost, run_handler
from op_handlers import REGISTRY, TensorInfo

MS = "com.microsoft"
NCHWC = "com.microsoft.nchwc"


def T(name, dtype, shape, w=False):
    return TensorInfo(name, dtype, tuple(shape), is_const=w, is_weight=w)


def run(op, inputs, outputs, attrs=None, domain=MS, opset=1):
    return run_handler(op, inputs, outputs, attrs, domain, opset)


def check(c, macs, flops, params, weight_bytes, read, written, dtype="float32"):
    check_cost(c, macs, flops, params, weight_bytes, read, written, dtype)


# --------------------------------------------------------------------------- FusedMatMul / FusedGemm


def test_fused_matmul_batched_alpha():
    # A f32 2x3x16x32 = 3072 el (12288 B); B f32 2x3x32x24 const = 4608 el (18432 B)
    # Y 2x3x16x24 = 2304 el (9216 B); K = 32
    # MACs = 2304·32 = 73728; FLOPs = 2·73728 + 2304 (alpha 0.125) = 149760
    # params 4608; weight bytes 18432; read 12288+18432 = 30720; written 9216
    c = run(
        "FusedMatMul",
        [T("A", "float32", (2, 3, 16, 32)), T("B", "float32", (2, 3, 32, 24), True)],
        [T("Y", "float32", (2, 3, 16, 24))],
        {"alpha": 0.125},
    )
    check(c, 73728, 149760, 4608, 18432, 30720, 9216)


def test_fused_matmul_trans_a():
    # transA=1: A f32 2x3x32x16 -> K = A[-2] = 32; B 2x3x32x24; Y 2x3x16x24 = 2304 el
    # MACs = 2304·32 = 73728; FLOPs = 147456 (alpha 1); read 12288+18432 = 30720; written 9216
    c = run(
        "FusedMatMul",
        [T("A", "float32", (2, 3, 32, 16)), T("B", "float32", (2, 3, 32, 24))],
        [T("Y", "float32", (2, 3, 16, 24))],
        {"transA": 1},
    )
    check(c, 73728, 147456, 0, 0, 30720, 9216)


def test_fused_matmul_trans_batch_a():
    # transBatchA=1 permutes A [32, 2, 3, 16] -> [2, 3, 32, 16]; transA=1 then -> [2, 3, 16, 32]
    # so K = A[0] = 32; Y 2x3x16x24 = 2304 el -> MACs = 73728, FLOPs 147456
    c = run(
        "FusedMatMul",
        [T("A", "float32", (32, 2, 3, 16)), T("B", "float32", (2, 3, 32, 24))],
        [T("Y", "float32", (2, 3, 16, 24))],
        {"transA": 1, "transBatchA": 1},
    )
    check(c, 73728, 147456, 0, 0, 30720, 9216)


def _fused_gemm(activation):
    """A f32 8x64 (2048 B); transB=1: B 32x64 const (2048 el, 8192 B); C [32] const (128 B);
    Y 8x32 = 256 el (1024 B).  MACs = 8·32·64 = 16384; params 2048+32 = 2080; weight bytes
    8192+128 = 8320; read 2048+8192+128 = 10368; written 1024."""
    return run(
        "FusedGemm",
        [T("A", "float32", (8, 64)), T("B", "float32", (32, 64), True), T("C", "float32", (32,), True)],
        [T("Y", "float32", (8, 32))],
        {"transB": 1, "activation": activation},
    )


def test_fused_gemm_relu():
    # FLOPs = 2·16384 + 256 (+C) + 256 (Relu) = 33280
    check(_fused_gemm("Relu"), 16384, 33280, 2080, 8320, 10368, 1024)


def test_fused_gemm_alpha_beta_trans_a():
    # transA=1: A 64x8 -> M=8, K=64; B 64x32 const; C [32] const; alpha 0.5, beta 2, no activation
    # MACs = 16384; FLOPs = 32768 + 256 (alpha) + 256 (+C) + 256 (beta·C) = 33536
    c = run(
        "FusedGemm",
        [T("A", "float32", (64, 8)), T("B", "float32", (64, 32), True), T("C", "float32", (32,), True)],
        [T("Y", "float32", (8, 32))],
        {"transA": 1, "alpha": 0.5, "beta": 2.0},
    )
    check(c, 16384, 33536, 2080, 8320, 10368, 1024)


@pytest.mark.parametrize("activation,per_element", [
    ("Sigmoid", 4),       # neg, exp, add, div
    ("LeakyRelu", 2),     # compare, mul
    ("HardSigmoid", 4),   # mul alpha, add beta, max, min
    ("Clip", 2),          # max, min
    ("Tanh", 1),          # a primitive function
    ("ScaledTanh", 3),    # mul, tanh, mul (not an op)
])
def test_fused_gemm_activation_by_name(activation, per_element):
    # FLOPs = 2·16384 + 256 (+C) + 256·per_element
    c = _fused_gemm(activation)
    check(c, 16384, 32768 + 256 + 256 * per_element, 2080, 8320, 10368, 1024)
    assert c.notes == ()


def test_fused_gemm_unknown_activation_counts_one_and_says_so():
    # FLOPs = 2·16384 + 256 (+C) + 256·1 (unknown activation: 1 per element) = 33280
    c = _fused_gemm("Wobble")
    check(c, 16384, 33280, 2080, 8320, 10368, 1024)
    assert c.notes == ("activation 'Wobble' not in the table: 1 FLOP per element",)


def test_named_activations_cost_what_their_ops_cost():
    from op_handlers.onnx.elementwise import NAMED_ACTIVATIONS, PER_ELEMENT

    for op, per in PER_ELEMENT.items():
        if op.lower() in NAMED_ACTIVATIONS:
            assert NAMED_ACTIVATIONS[op.lower()] == per, op


def test_fused_conv_bias_z_relu():
    # X f32 1x3x8x8 = 192 el (768 B); W 4x3x3x3 const = 108 el (432 B); B [4] (16 B);
    # Z 1x4x8x8 = 256 el (1024 B); pads 1: Y 1x4x8x8 = 256 el (1024 B)
    # MACs = 256·3·3·3 = 6912; FLOPs = 13824 + 256 (B) + 256 (Z) + 256·1 (Relu) = 14592
    # params 108+4 = 112; weight bytes 448; read 768+432+16+1024 = 2240; written 1024
    c = run("FusedConv",
            [T("X", "float32", (1, 3, 8, 8)), T("W", "float32", (4, 3, 3, 3), True),
             T("B", "float32", (4,), True), T("Z", "float32", (1, 4, 8, 8))],
            [T("Y", "float32", (1, 4, 8, 8))],
            {"pads": [1, 1, 1, 1], "activation": "Relu"})
    check(c, 6912, 14592, 112, 448, 2240, 1024)


def test_fused_conv_hard_sigmoid():
    # as above without B and Z; HardSigmoid 4 per element (mul, add, max, min)
    # FLOPs = 13824 + 256·4 = 14848; params 108; weight bytes 432; read 768+432 = 1200
    c = run("FusedConv",
            [T("X", "float32", (1, 3, 8, 8)), T("W", "float32", (4, 3, 3, 3), True)],
            [T("Y", "float32", (1, 4, 8, 8))],
            {"pads": [1, 1, 1, 1], "activation": "HardSigmoid"})
    check(c, 6912, 14848, 108, 432, 1200, 1024)


# --------------------------------------------------------------------------- Gelu family


def test_gelu():
    # X f16 2x10x32 = 640 el (1280 B); Gelu erf form per element: x/√2 1, erf 1, +1 1, ·x 1,
    # ·0.5 1 = 5; FLOPs = 5·640 = 3200
    c = run("Gelu", [T("X", "float16", (2, 10, 32))], [T("Y", "float16", (2, 10, 32))])
    check(c, 0, 3200, 0, 0, 1280, 1280, "float16")


def test_fast_gelu_with_bias():
    # X f32 4x16 = 64 el (256 B); bias [16] const (64 B); FLOPs = (9 + 1)·64 = 640
    # params 16; weight bytes 64; read 320; written 256
    c = run("FastGelu", [T("X", "float32", (4, 16)), T("b", "float32", (16,), True)],
            [T("Y", "float32", (4, 16))])
    check(c, 0, 640, 16, 64, 320, 256)


def test_fast_gelu_without_bias():
    # X f32 4x16 = 64 el; FLOPs = 9·64 = 576; read 256; written 256
    c = run("FastGelu", [T("X", "float32", (4, 16)), None], [T("Y", "float32", (4, 16))])
    check(c, 0, 576, 0, 0, 256, 256)


def test_bias_gelu():
    # A f32 4x16 = 64 el, B [16] const; FLOPs = (bias add 1 + Gelu erf form 5)·64 = 384;
    # params 16; weight bytes 64; read A 256 + B 64 = 320; written 256
    c = run("BiasGelu", [T("A", "float32", (4, 16)), T("B", "float32", (16,), True)],
            [T("C", "float32", (4, 16))])
    check(c, 0, 384, 16, 64, 320, 256)


def test_quick_gelu():
    # X f32 [100]; FLOPs = 5·100 = 500; read 400; written 400
    c = run("QuickGelu", [T("X", "float32", (100,))], [T("Y", "float32", (100,))], {"alpha": 1.702})
    check(c, 0, 500, 0, 0, 400, 400)


# --------------------------------------------------------------------------- layer norms


def test_layer_norm_ms():
    # X f32 2x8x16 = 256 el (1024 B); Scale, B [16] const (64 B each); Y 1024 B
    # FLOPs = 8·256 = 2048; params 32; weight bytes 128; read 1152; written 1024
    c = run("LayerNormalization",
            [T("X", "float32", (2, 8, 16)), T("g", "float32", (16,), True), T("b", "float32", (16,), True)],
            [T("Y", "float32", (2, 8, 16))], {"axis": -1, "epsilon": 1e-5})
    check(c, 0, 2048, 32, 128, 1152, 1024)


def test_layer_norm_ms_no_bias():
    # as above without B: FLOPs = 7·256 = 1792; params 16; weight bytes 64; read 1088
    c = run("LayerNormalization",
            [T("X", "float32", (2, 8, 16)), T("g", "float32", (16,), True)],
            [T("Y", "float32", (2, 8, 16))])
    check(c, 0, 1792, 16, 64, 1088, 1024)


@pytest.mark.parametrize("domain", ["", MS])
def test_simplified_layer_norm(domain):
    # X f16 1x4x64 = 256 el (512 B); scale f16 [64] const (128 B)
    # outputs Y f16 512 B, inv_std_var f32 1x4x1 (16 B)
    # FLOPs = 4·256 = 1024; params 64; weight bytes 128; read 640; written 528
    c = run("SimplifiedLayerNormalization",
            [T("X", "float16", (1, 4, 64)), T("g", "float16", (64,), True)],
            [T("Y", "float16", (1, 4, 64)), T("isd", "float32", (1, 4, 1))],
            {"axis": -1, "epsilon": 1e-6, "stash_type": 1}, domain=domain)
    check(c, 0, 1024, 64, 128, 640, 528, "float16")


def test_skip_layer_norm():
    # input, skip f32 2x4x32 = 256 el (1024 B each); gamma, beta, bias [32] const (128 B each)
    # outputs: output 1024 B, (mean, inv_std_var absent), input_skip_bias_sum 1024 B
    # FLOPs = 256·(1 skip + 1 bias + 8 LN) = 2560; params 96; weight bytes 384
    # read 1024+1024+384 = 2432; written 2048
    c = run("SkipLayerNormalization",
            [T("x", "float32", (2, 4, 32)), T("s", "float32", (2, 4, 32)), T("g", "float32", (32,), True),
             T("be", "float32", (32,), True), T("bi", "float32", (32,), True)],
            [T("y", "float32", (2, 4, 32)), None, None, T("sum", "float32", (2, 4, 32))])
    check(c, 0, 2560, 96, 384, 2432, 2048)


def test_skip_simplified_layer_norm():
    # input, skip f16 1x8x64 = 512 el (1024 B each); gamma f16 [64] const (128 B); no bias
    # FLOPs = 512·(1 skip + 4 RMS) = 2560; params 64; weight bytes 128; read 2176; written 1024
    c = run("SkipSimplifiedLayerNormalization",
            [T("x", "float16", (1, 8, 64)), T("s", "float16", (1, 8, 64)), T("g", "float16", (64,), True)],
            [T("y", "float16", (1, 8, 64))])
    check(c, 0, 2560, 64, 128, 2176, 1024, "float16")


def test_embed_layer_norm():
    # input_ids, segment_ids int32 2x8 (64 B each); word f32 1000x32 const (32000 el, 128000 B);
    # position f32 128x32 const (4096 el, 16384 B); segment f32 2x32 const (64 el, 256 B);
    # gamma, beta [32] const (128 B each); mask int32 2x8 (64 B)
    # outputs: output f32 2x8x32 = 512 el (2048 B), mask_index int32 [2] (8 B)
    # FLOPs = 512·(1 + 1 adds + 8 LN) + 16 (mask sum) = 5136
    # params = 32000+4096+64+32+32 = 36224; weight bytes = 128000+16384+256+128+128 = 144896
    # read = 64+64 (ids) + 128+128 (gamma, beta) + 64 (mask) + 3 tables·512 rows-el·4 B = 6144
    #      = 6592; written 2048+8 = 2056
    c = run("EmbedLayerNormalization",
            [T("ids", "int32", (2, 8)), T("seg", "int32", (2, 8)), T("we", "float32", (1000, 32), True),
             T("pe", "float32", (128, 32), True), T("se", "float32", (2, 32), True),
             T("g", "float32", (32,), True), T("b", "float32", (32,), True), T("mask", "int32", (2, 8))],
            [T("out", "float32", (2, 8, 32)), T("mi", "int32", (2,))],
            {"epsilon": 1e-12})
    check(c, 0, 5136, 36224, 144896, 6592, 2056)


# --------------------------------------------------------------------------- bias ops


def test_bias_add():
    # X f16 2x16x64 = 2048 el (4096 B); bias [64] const (128 B); skip 2x16x64 (4096 B)
    # FLOPs = 2·2048 = 4096; params 64; weight bytes 128; read 8320; written 4096
    c = run("BiasAdd",
            [T("X", "float16", (2, 16, 64)), T("b", "float16", (64,), True), T("s", "float16", (2, 16, 64))],
            [T("Y", "float16", (2, 16, 64))])
    check(c, 0, 4096, 64, 128, 8320, 4096, "float16")


def test_bias_softmax():
    # data f32 2x4x16x16 = 2048 el (8192 B); bias (mask) 2x1x16x16 = 512 el (2048 B), not constant
    # FLOPs = (1 add + 5 softmax)·2048 = 12288; read 10240; written 8192
    c = run("BiasSoftmax",
            [T("d", "float32", (2, 4, 16, 16)), T("m", "float32", (2, 1, 16, 16))],
            [T("Y", "float32", (2, 4, 16, 16))], {"is_inner_broadcast": 0, "axis": 3})
    check(c, 0, 12288, 0, 0, 10240, 8192)


# --------------------------------------------------------------------------- com.microsoft.nchwc


def test_nchwc_conv_bias_sum_activation():
    # X f32 1x16x14x14 = 3136 el (12544 B); W 32x16x3x3 const = 4608 el (18432 B); B [32] (128 B)
    # Sum 1x32x14x14 = 6272 el (25088 B); Y 1x32x14x14 = 6272 el (25088 B)
    # MACs = 6272·16·3·3 = 903168; FLOPs = 1806336 + 6272·3 (bias, Sum, Relu) = 1825152
    # params 4640; weight bytes 18560; read 12544+18432+128+25088 = 56192; written 25088
    c = run("Conv",
            [T("X", "float32", (1, 16, 14, 14)), T("W", "float32", (32, 16, 3, 3), True),
             T("B", "float32", (32,), True), T("S", "float32", (1, 32, 14, 14))],
            [T("Y", "float32", (1, 32, 14, 14))],
            {"pads": [1, 1, 1, 1], "activation": "Relu"}, domain=NCHWC)
    check(c, 903168, 1825152, 4640, 18560, 56192, 25088)


def test_nchwc_conv_sigmoid_activation():
    # as above without B and Sum, activation Sigmoid (4 per element: neg, exp, add, div)
    # FLOPs = 1806336 + 6272·4 = 1831424; params 4608; weight bytes 18432; read 12544+18432 = 30976
    c = run("Conv",
            [T("X", "float32", (1, 16, 14, 14)), T("W", "float32", (32, 16, 3, 3), True)],
            [T("Y", "float32", (1, 32, 14, 14))],
            {"pads": [1, 1, 1, 1], "activation": "Sigmoid"}, domain=NCHWC)
    check(c, 903168, 1831424, 4608, 18432, 30976, 25088)


def test_nchwc_conv_depthwise():
    # X 1x16x8x8 (4096 B); W 16x1x3x3 const = 144 el (576 B), group 16; Y 1x16x8x8 = 1024 el
    # MACs = 1024·1·9 = 9216; FLOPs = 18432; read 4096+576 = 4672; written 4096
    c = run("Conv",
            [T("X", "float32", (1, 16, 8, 8)), T("W", "float32", (16, 1, 3, 3), True)],
            [T("Y", "float32", (1, 16, 8, 8))],
            {"group": 16, "pads": [1, 1, 1, 1]}, domain=NCHWC)
    check(c, 9216, 18432, 144, 576, 4672, 4096)


def test_nchwc_max_pool():
    # X 1x8x8x8 = 512 el (2048 B); kernel 2x2 stride 2 -> Y 1x8x4x4 = 128 el (512 B)
    # FLOPs = 128·4 = 512
    c = run("MaxPool", [T("X", "float32", (1, 8, 8, 8))], [T("Y", "float32", (1, 8, 4, 4))],
            {"kernel_shape": [2, 2], "strides": [2, 2]}, domain=NCHWC)
    check(c, 0, 512, 0, 0, 2048, 512)


def test_nchwc_average_pool():
    # X 1x8x8x8; kernel 3x3, pad 1, stride 1 -> Y 1x8x8x8 = 512 el; FLOPs = 512·9 = 4608
    c = run("AveragePool", [T("X", "float32", (1, 8, 8, 8))], [T("Y", "float32", (1, 8, 8, 8))],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, domain=NCHWC)
    check(c, 0, 4608, 0, 0, 2048, 2048)


@pytest.mark.parametrize("op", ["GlobalMaxPool", "GlobalAveragePool"])
def test_nchwc_global_pool(op):
    # X 1x16x7x7 = 784 el (3136 B); Y 1x16x1x1 (64 B); FLOPs = 784
    c = run(op, [T("X", "float32", (1, 16, 7, 7))], [T("Y", "float32", (1, 16, 1, 1))], domain=NCHWC)
    check(c, 0, 784, 0, 0, 3136, 64)


def test_nchwc_reorder_input():
    # X f32 1x3x8x8 = 192 el (768 B) -> Y 1x8x8x8 (channels padded to the block of 8) = 2048 B
    # data movement: 0 FLOPs, read 768, written 2048
    c = run("ReorderInput", [T("X", "float32", (1, 3, 8, 8))], [T("Y", "float32", (1, 8, 8, 8))], domain=NCHWC)
    check(c, 0, 0, 0, 0, 768, 2048)
    assert REGISTRY.kind_of(NCHWC, "ReorderInput") == "data_movement"


def test_nchwc_reorder_output():
    # X 1x8x8x8 (2048 B) -> Y 1x3x8x8 (768 B), channels=3
    c = run("ReorderOutput", [T("X", "float32", (1, 8, 8, 8))], [T("Y", "float32", (1, 3, 8, 8))],
            {"channels": 3}, domain=NCHWC)
    check(c, 0, 0, 0, 0, 2048, 768)
    assert REGISTRY.kind_of(NCHWC, "ReorderOutput") == "data_movement"


def test_nchwc_upsample_nearest():
    # X 1x8x4x4 (512 B) -> Y 1x8x8x8 (2048 B); nearest: 0 FLOPs
    c = run("Upsample", [T("X", "float32", (1, 8, 4, 4))], [T("Y", "float32", (1, 8, 8, 8))],
            {"scales": [1, 1, 2, 2]}, domain=NCHWC)
    check(c, 0, 0, 0, 0, 512, 2048)


def test_nchwc_upsample_linear():
    # 2 resized dims: 2^2 − 1 = 3 lerps of 3 FLOPs per output element; Y = 512 el
    # FLOPs = 512·9 = 4608
    c = run("Upsample", [T("X", "float32", (1, 8, 4, 4))], [T("Y", "float32", (1, 8, 8, 8))],
            {"scales": [1, 1, 2, 2], "mode": "linear"}, domain=NCHWC)
    check(c, 0, 4608, 0, 0, 512, 2048)


def test_symbolic_dims():
    sympy = pytest.importorskip("sympy")
    s = sympy.Symbol("seq", positive=True, integer=True)
    # SkipLayerNormalization on 1 x seq x 64 without bias/beta: FLOPs = 64·seq·(1 + 7) = 512·seq
    c = run("SkipLayerNormalization",
            [T("x", "float32", (1, s, 64)), T("s", "float32", (1, s, 64)), T("g", "float32", (64,), True)],
            [T("y", "float32", (1, s, 64))])
    assert sympy.simplify(c.flops - 512 * s) == 0
    # FusedMatMul 1 x seq x 64 @ 64 x 32: MACs = 32·64·seq = 2048·seq
    c = run("FusedMatMul", [T("A", "float32", (1, s, 64)), T("B", "float32", (64, 32), True)],
            [T("Y", "float32", (1, s, 32))])
    assert sympy.simplify(c.macs - 2048 * s) == 0


def test_registrations():
    for domain, op in [
        (MS, "FusedMatMul"), (MS, "FusedGemm"), (MS, "Gelu"), (MS, "FastGelu"), (MS, "BiasGelu"),
        (MS, "QuickGelu"), (MS, "SkipLayerNormalization"), (MS, "SkipSimplifiedLayerNormalization"),
        (MS, "SimplifiedLayerNormalization"), ("", "SimplifiedLayerNormalization"),
        (MS, "LayerNormalization"), (MS, "EmbedLayerNormalization"), (MS, "BiasAdd"), (MS, "BiasSoftmax"),
        (NCHWC, "Conv"), (NCHWC, "MaxPool"), (NCHWC, "AveragePool"), (NCHWC, "GlobalMaxPool"),
        (NCHWC, "GlobalAveragePool"), (NCHWC, "ReorderInput"), (NCHWC, "ReorderOutput"), (NCHWC, "Upsample"),
    ]:
        e = REGISTRY.lookup(domain, op, 1)
        assert e is not None and e.since_version == 1, (domain, op)
        assert e.formula
