"""Handlers of op_handlers/onnx/quantized.py and op_handlers/microsoft/quantized.py, one
hand-built node each.

Expected numbers are worked out in the comments, never by calling a handler.
Byte sizes: float32/int32 4, float16 2, int8/uint8 1, int4/uint4 1/2 (rounded up per
tensor), int64 8.  Quantization scales / zero points of constant weights count in
weight bytes but not in params (docs/conventions.md).
"""

from __future__ import annotations

import pytest

from helpers import check_cost, run_handler
from op_handlers import REGISTRY, TensorInfo

MS = "com.microsoft"


def T(name, dtype, shape, w=False):
    return TensorInfo(name, dtype, tuple(shape), is_const=w, is_weight=w)


def run(op, inputs, outputs, attrs=None, domain="", opset=21):
    return run_handler(op, inputs, outputs, attrs, domain, opset)


def check(c, macs, flops, params, weight_bytes, read, written, dtype):
    check_cost(c, macs, flops, params, weight_bytes, read, written, dtype)


# --------------------------------------------------------------------------- QuantizeLinear


def test_quantize_linear_per_tensor():
    # x f32 2x3x4 = 24 el (96 B); y_scale f32 scalar const (4 B); y_zp uint8 scalar const (1 B)
    # FLOPs = 4·24 = 96; params 0 (x not constant, scale/zp metadata); weight bytes 4+1 = 5
    # read 96+4+1 = 101; written y uint8 24 B
    c = run(
        "QuantizeLinear",
        [T("x", "float32", (2, 3, 4)), T("s", "float32", (), True), T("zp", "uint8", (), True)],
        [T("y", "uint8", (2, 3, 4))],
        {"axis": 1, "saturate": 1, "block_size": 0},
        opset=13,
    )
    check(c, 0, 96, 0, 5, 101, 24, "float32")


def test_quantize_linear_per_axis():
    # x f32 1x8x4x4 = 128 el (512 B); scale f32 [8] const 32 B; zp int8 [8] const 8 B
    # FLOPs = 4·128 = 512; weight bytes 32+8 = 40; read 512+32+8 = 552; written int8 128 B
    c = run(
        "QuantizeLinear",
        [T("x", "float32", (1, 8, 4, 4)), T("s", "float32", (8,), True), T("zp", "int8", (8,), True)],
        [T("y", "int8", (1, 8, 4, 4))],
        {"axis": 1},
        opset=13,
    )
    check(c, 0, 512, 0, 40, 552, 128, "float32")


def test_quantize_linear_com_microsoft():
    # same formula in the com.microsoft domain: x f16 [10] (20 B), scale f16 scalar (2 B), no zp
    # FLOPs = 4·10 = 40; weight bytes 2; read 22; written uint8 10 B
    c = run(
        "QuantizeLinear",
        [T("x", "float16", (10,)), T("s", "float16", (), True), None],
        [T("y", "uint8", (10,))],
        domain=MS,
        opset=1,
    )
    check(c, 0, 40, 0, 2, 22, 10, "float16")


# --------------------------------------------------------------------------- DequantizeLinear


def test_dequantize_linear_int8_weight_per_tensor():
    # x int8 16x32 const weight = 512 el (512 B): a parameter, dtype int8
    # scale f32 scalar const 4 B (metadata); no zp; y f32 16x32 = 2048 B
    # FLOPs = 2·512 = 1024; params 512; weight bytes 512+4 = 516; read 516; written 2048
    c = run(
        "DequantizeLinear",
        [T("w", "int8", (16, 32), True), T("s", "float32", (), True), None],
        [T("y", "float32", (16, 32))],
        {"axis": 1},
        opset=13,
    )
    check(c, 0, 1024, 512, 516, 516, 2048, "float32")
    [wq, ws] = c.weights
    assert (wq.name, wq.dtype, wq.numel, wq.nbytes) == ("w", "int8", 512, 512)
    assert (ws.name, ws.numel, ws.nbytes) == ("s", 0, 4)


def test_dequantize_linear_blocked_int4_weight():
    # opset 21 blocked: x int4 64x128 const = 8192 el -> 4096 B; block_size 32 along axis 1
    # scale f16 64x4 = 256 el -> 512 B; zp int4 64x4 = 256 el -> 128 B; y f16 64x128 -> 16384 B
    # FLOPs = 2·8192 = 16384; params 8192; weight bytes 4096+512+128 = 4736 = read
    c = run(
        "DequantizeLinear",
        [T("w", "int4", (64, 128), True), T("s", "float16", (64, 4), True), T("zp", "int4", (64, 4), True)],
        [T("y", "float16", (64, 128))],
        {"axis": 1, "block_size": 32},
        opset=21,
    )
    check(c, 0, 16384, 8192, 4736, 4736, 16384, "float16")


def test_dequantize_linear_activation():
    # x uint8 1x10 activation (10 B); scale f32 scalar const 4 B; zp uint8 scalar const 1 B
    # FLOPs = 2·10 = 20; params 0; weight bytes 5 (metadata); read 15; written f32 40 B
    c = run(
        "DequantizeLinear",
        [T("x", "uint8", (1, 10)), T("s", "float32", (), True), T("zp", "uint8", (), True)],
        [T("y", "float32", (1, 10))],
        opset=10,
    )
    check(c, 0, 20, 0, 5, 15, 40, "float32")


def test_dynamic_quantize_linear():
    # x f32 4x16 = 64 el (256 B) -> y uint8 64 B, y_scale f32 4 B, y_zp uint8 1 B
    # FLOPs = (2 min/max + 4 quantize)·64 = 384; read 256; written 64+4+1 = 69
    c = run(
        "DynamicQuantizeLinear",
        [T("x", "float32", (4, 16))],
        [T("y", "uint8", (4, 16)), T("ys", "float32", ()), T("yzp", "uint8", ())],
        opset=11,
    )
    check(c, 0, 384, 0, 0, 256, 69, "float32")


# --------------------------------------------------------------------------- integer matmuls


def test_matmul_integer():
    # A uint8 2x8x64 (1024 B); B int8 64x32 const (2048 el, 2048 B); a_zp uint8 scalar const;
    # b_zp int8 scalar const.  Y int32 2x8x32 = 512 el (2048 B)
    # MACs = 2*8*32 * 64 = 32768; FLOPs = 2·32768 + numel(A) 1024 + numel(B) 2048 = 68608
    # params: B 2048 (A not constant, so a_zp is not a weight); weight bytes 2048 + 1 = 2049
    # read 1024+2048+1+1 = 3074; written 2048
    c = run(
        "MatMulInteger",
        [T("A", "uint8", (2, 8, 64)), T("B", "int8", (64, 32), True),
         T("azp", "uint8", (), True), T("bzp", "int8", (), True)],
        [T("Y", "int32", (2, 8, 32))],
        opset=10,
    )
    check(c, 32768, 68608, 2048, 2049, 3074, 2048, "uint8")


def test_qlinear_matmul():
    # a uint8 2x8x64 (1024 B), a_scale f32 4 B, a_zp uint8 1 B, b int8 64x32 const (2048 B),
    # b_scale f32 [32] const 128 B, b_zp int8 [32] const 32 B, y_scale 4 B, y_zp 1 B
    # y uint8 2x8x32 = 512 B
    # MACs = 512·64 = 32768; FLOPs = 2·32768 + 2·512 (requantize) = 66560
    # params 2048; weight bytes 2048+128+32 = 2208
    # read 1024+4+1+2048+128+32+4+1 = 3242; written 512
    c = run(
        "QLinearMatMul",
        [T("a", "uint8", (2, 8, 64)), T("as", "float32", (), True), T("azp", "uint8", (), True),
         T("b", "int8", (64, 32), True), T("bs", "float32", (32,), True), T("bzp", "int8", (32,), True),
         T("ys", "float32", (), True), T("yzp", "uint8", (), True)],
        [T("y", "uint8", (2, 8, 32))],
        opset=21,
    )
    check(c, 32768, 66560, 2048, 2208, 3242, 512, "uint8")


def test_int8_matmuls_have_float_matmul_macs():
    # Float MatMul formula on A 2x8x64, B 64x32: MACs = numel(Y)·K = (2*8*32)·64 = 32768
    float_macs = 2 * 8 * 32 * 64
    mi = run(
        "MatMulInteger",
        [T("A", "int8", (2, 8, 64)), T("B", "int8", (64, 32), True)],
        [T("Y", "int32", (2, 8, 32))],
        opset=10,
    )
    ql = run(
        "QLinearMatMul",
        [T("a", "int8", (2, 8, 64)), T("as", "float32", ()), T("azp", "int8", ()),
         T("b", "int8", (64, 32), True), T("bs", "float32", ()), T("bzp", "int8", ()),
         T("ys", "float32", ()), T("yzp", "int8", ())],
        [T("y", "int8", (2, 8, 32))],
        opset=10,
    )
    assert mi.macs == ql.macs == float_macs == 32768
    # and the int8 weight is stored in a quarter of the fp32 bytes: 2048 B vs 64*32*4 = 8192 B
    assert mi.weight_bytes == 2048
    if ("", "MatMul") in REGISTRY:  # the float handler, when present, agrees
        fm = run("MatMul", [T("A", "float32", (2, 8, 64)), T("B", "float32", (64, 32), True)],
                 [T("Y", "float32", (2, 8, 32))], opset=13)
        assert fm.macs == mi.macs
        assert fm.weight_bytes == 8192


def test_qgemm_quantized_output():
    # A uint8 4x64 (256 B), a_scale 4, a_zp 1, B int8 64x16 const (1024 el/B), b_scale f32
    # scalar const 4, b_zp int8 scalar const 1, C int32 [16] const (64 B), y_scale 4, y_zp 1
    # Y uint8 4x16 = 64 el (64 B)
    # MACs = M·N·K = 4·16·64 = 4096; FLOPs = 8192 + 64 (C) + 2·64 (requantize) = 8384
    # params 1024 + 16 = 1040; weight bytes 1024+4+1+64 = 1093
    # read 256+4+1+1024+4+1+64+4+1 = 1359; written 64
    c = run(
        "QGemm",
        [T("A", "uint8", (4, 64)), T("as", "float32", (), True), T("azp", "uint8", (), True),
         T("B", "int8", (64, 16), True), T("bs", "float32", (), True), T("bzp", "int8", (), True),
         T("C", "int32", (16,), True), T("ys", "float32", (), True), T("yzp", "uint8", (), True)],
        [T("Y", "uint8", (4, 16))],
        domain=MS,
        opset=1,
    )
    check(c, 4096, 8384, 1040, 1093, 1359, 64, "uint8")


def test_qgemm_float_output_transposed():
    # transA=1: A uint8 64x4 (256 B) -> M=4, K=64; transB=1: B int8 16x64 const (1024 B) -> N=16
    # no C, no y_scale: Y f32 4x16 = 64 el (256 B), scaled to float: 1 FLOP per element
    # MACs = 4·16·64 = 4096; FLOPs = 8192 + 64 = 8256
    # params 1024; weight bytes 1024+4+1 = 1029; read 256+4+1+1024+4+1 = 1290; written 256
    c = run(
        "QGemm",
        [T("A", "uint8", (64, 4)), T("as", "float32", (), True), T("azp", "uint8", (), True),
         T("B", "int8", (16, 64), True), T("bs", "float32", (), True), T("bzp", "int8", (), True)],
        [T("Y", "float32", (4, 16))],
        {"transA": 1, "transB": 1, "alpha": 1.0},
        domain=MS,
        opset=1,
    )
    check(c, 4096, 8256, 1024, 1029, 1290, 256, "uint8")


def test_matmul_integer_to_float():
    # A uint8 3x32 (96 B), B int8 32x8 const (256 B), a_scale f32 scalar 4 B, b_scale f32 [8]
    # const 32 B, a_zp uint8 scalar 1 B, b_zp absent, bias f32 [8] const 32 B; Y f32 3x8 = 24 el (96 B)
    # MACs = 24·32 = 768; FLOPs = 1536 + numel(A) 96 (a_zp) + 24 (scale) + 24 (bias) = 1680
    # params B 256 + bias 8 = 264; weight bytes 256 + 32 (b_scale) + 32 (bias) = 320
    # read 96+256+4+32+1+32 = 421; written 96
    c = run(
        "MatMulIntegerToFloat",
        [T("A", "uint8", (3, 32)), T("B", "int8", (32, 8), True), T("as", "float32", (), True),
         T("bs", "float32", (8,), True), T("azp", "uint8", (), True), None, T("bias", "float32", (8,), True)],
        [T("Y", "float32", (3, 8))],
        domain=MS,
        opset=1,
    )
    check(c, 768, 1680, 264, 320, 421, 96, "uint8")


def test_dynamic_quantize_matmul():
    # A f32 2x4x16 = 128 el (512 B), B int8 16x8 const (128 B), b_scale f32 scalar const 4 B,
    # b_zp int8 scalar const 1 B, bias f32 [8] const 32 B; Y f32 2x4x8 = 64 el (256 B)
    # quantize A: (2 + 4)·128 = 768; MACs = 64·16 = 1024 -> 2048;
    # zero points: numel(A) 128 + numel(B) 128; output scale 64; bias 64
    # FLOPs = 768 + 2048 + 128 + 128 + 64 + 64 = 3200
    # params 128 + 8 = 136; weight bytes 128+4+1+32 = 165; read 512+128+4+1+32 = 677; written 256
    c = run(
        "DynamicQuantizeMatMul",
        [T("A", "float32", (2, 4, 16)), T("B", "int8", (16, 8), True), T("bs", "float32", (), True),
         T("bzp", "int8", (), True), T("bias", "float32", (8,), True)],
        [T("Y", "float32", (2, 4, 8))],
        domain=MS,
        opset=1,
    )
    check(c, 1024, 3200, 136, 165, 677, 256, "uint8")


# --------------------------------------------------------------------------- MatMulNBits


def test_matmul_nbits_4bit():
    # K=128, N=64, bits=4, block_size=32 -> k_blocks 4, blob 32*4/8 = 16
    # A f16 2x8x128 = 2048 el (4096 B); B uint8 64x4x16 const = 4096 B;
    # scales f16 64x4 = 256 el (512 B); zero_points uint8 packed 64x2 = 128 B; bias f16 [64] 128 B
    # Y f16 2x8x64 = 1024 el (2048 B)
    # MatMulNBits: MACs = numel(Y)·K = 1024·128 = 131072
    # FLOPs = 2·131072 + 2·N·K (dequantize B) 2·64·128 = 16384 + bias 1024 = 279552
    # params = N·K 8192 (logical uint4) + bias 64 = 8256
    # weight bytes = 4096 (packed B) + 512 + 128 + 128 = 4864
    # read = 4096 (A) + 4864 = 8960; written 2048
    c = run(
        "MatMulNBits",
        [T("A", "float16", (2, 8, 128)), T("B", "uint8", (64, 4, 16), True), T("s", "float16", (64, 4), True),
         T("zp", "uint8", (64, 2), True), None, T("bias", "float16", (64,), True)],
        [T("Y", "float16", (2, 8, 64))],
        {"K": 128, "N": 64, "bits": 4, "block_size": 32},
        domain=MS,
        opset=1,
    )
    check(c, 131072, 279552, 8256, 4864, 8960, 2048, "float16")
    b = c.weights[0]
    assert (b.name, b.dtype, b.numel, b.nbytes) == ("B", "uint4", 8192, 4096)


def test_matmul_nbits_8bit_g_idx():
    # K=128, N=64, bits=8, block_size=64 -> k_blocks 2, blob 64: B uint8 64x2x64 = 8192 B
    # A f32 1x128 (512 B); scales f32 flattened [128] (512 B); no zp; g_idx int32 [128] const
    # 512 B (bytes only, not parameters); no bias. Y f32 1x64 = 64 el (256 B)
    # MACs = 64·128 = 8192; FLOPs = 16384 + 2·64·128 = 32768
    # params 8192; weight bytes 8192 + 512 + 512 = 9216; read 512 + 9216 = 9728; written 256
    c = run(
        "MatMulNBits",
        [T("A", "float32", (1, 128)), T("B", "uint8", (64, 2, 64), True), T("s", "float32", (128,), True),
         None, T("g", "int32", (128,), True)],
        [T("Y", "float32", (1, 64))],
        {"K": 128, "N": 64, "bits": 8, "block_size": 64},
        domain=MS,
        opset=1,
    )
    check(c, 8192, 32768, 8192, 9216, 9728, 256, "float32")


def test_matmul_nbits_symbolic_batch():
    sympy = pytest.importorskip("sympy")
    s = sympy.Symbol("seq", positive=True, integer=True)
    # A f16 1 x seq x 128; Y 1 x seq x 64 -> MACs = 64·128·seq = 8192·seq
    c = run(
        "MatMulNBits",
        [T("A", "float16", (1, s, 128)), T("B", "uint8", (64, 4, 16), True), T("s", "float16", (64, 4), True)],
        [T("Y", "float16", (1, s, 64))],
        {"K": 128, "N": 64, "bits": 4, "block_size": 32},
        domain=MS,
        opset=1,
    )
    assert sympy.simplify(c.macs - 8192 * s) == 0
    # FLOPs = 2·8192·seq + 2·64·128 = 16384·seq + 16384
    assert sympy.simplify(c.flops - (16384 * s + 16384)) == 0


# --------------------------------------------------------------------------- GatherBlockQuantized


def test_gather_block_quantized():
    # data uint8 1000x32 const, bits 4 packed -> logical 1000x64 = 64000 uint4 params (32000 B)
    # quantize_axis 1, block_size 32 -> scales f16 1000x2 (4000 B), zero_points uint8 1000x1 (1000 B)
    # indices int64 2x5 = 10 (80 B); output f16 2x5x64 = 640 el (1280 B)
    # FLOPs = 2·640 = 1280 (dequantize the gathered rows)
    # weight bytes 32000+4000+1000 = 37000
    # read = indices 80 + data rows 10·32 = 320 + scale rows 10·2·2 = 40 + zp rows 10·1 = 10 -> 450
    c = run(
        "GatherBlockQuantized",
        [T("data", "uint8", (1000, 32), True), T("idx", "int64", (2, 5)), T("s", "float16", (1000, 2), True),
         T("zp", "uint8", (1000, 1), True)],
        [T("out", "float16", (2, 5, 64))],
        {"gather_axis": 0, "quantize_axis": 1, "block_size": 32, "bits": 4},
        domain=MS,
        opset=1,
    )
    check(c, 0, 1280, 64000, 37000, 450, 1280, "float16")


def test_gather_block_quantized_int4_broadcast_scale():
    # data int4 100x64 const = 6400 el (3200 B); block_size 64 -> scales f32 100x1 (400 B);
    # indices int32 [3] (12 B); output f32 3x64 = 192 el (768 B)
    # FLOPs = 2·192 = 384; params 6400; weight bytes 3200 + 400 = 3600
    # read = 12 + data rows 3·64 int4 = 96 B + scale rows 3·1·4 = 12 -> 120
    c = run(
        "GatherBlockQuantized",
        [T("data", "int4", (100, 64), True), T("idx", "int32", (3,)), T("s", "float32", (100, 1), True)],
        [T("out", "float32", (3, 64))],
        {"gather_axis": 0, "quantize_axis": 1, "block_size": 64},
        domain=MS,
        opset=1,
    )
    check(c, 0, 384, 6400, 3600, 120, 768, "float32")


# --------------------------------------------------------------------------- QLinear elementwise


def test_qlinear_add_broadcast():
    # A uint8 1x16x8x8 = 1024 el (1024 B), B uint8 1x16x1x1 (16 B), scalar scales f32 4 B, zps 1 B
    # C uint8 1x16x8x8 = 1024 B
    # FLOPs = (2 + 2 dequantize + 1 add + 2 requantize)·1024 = 7168
    # read 1024+4+1+16+4+1+4+1 = 1055; written 1024
    c = run(
        "QLinearAdd",
        [T("A", "uint8", (1, 16, 8, 8)), T("as", "float32", ()), T("azp", "uint8", ()),
         T("B", "uint8", (1, 16, 1, 1)), T("bs", "float32", ()), T("bzp", "uint8", ()),
         T("cs", "float32", ()), T("czp", "uint8", ())],
        [T("C", "uint8", (1, 16, 8, 8))],
        domain=MS,
        opset=1,
    )
    check(c, 0, 7168, 0, 0, 1055, 1024, "uint8")


def test_qlinear_mul_constant_operand():
    # A int8 4x10 (40 B); B int8 [10] const (10 B) with const scale f32 4 B and zp int8 1 B
    # C int8 4x10 (40 B). FLOPs = 7·40 = 280; params 10; weight bytes 10+4+1 = 15
    # read 40+4+1+10+4+1+4+1 = 65; written 40
    c = run(
        "QLinearMul",
        [T("A", "int8", (4, 10)), T("as", "float32", ()), T("azp", "int8", ()),
         T("B", "int8", (10,), True), T("bs", "float32", (), True), T("bzp", "int8", (), True),
         T("cs", "float32", ()), T("czp", "int8", ())],
        [T("C", "int8", (4, 10))],
        domain=MS,
        opset=1,
    )
    check(c, 0, 280, 10, 15, 65, 40, "int8")


def test_qlinear_sigmoid():
    # X uint8 2x100 (200 B) + 2 scales (4 B each) + 2 zps (1 B each); Y 200 B
    # FLOPs = (2 dequantize + 4 sigmoid + 2 requantize)·200 = 1600; read 210
    c = run(
        "QLinearSigmoid",
        [T("X", "uint8", (2, 100)), T("xs", "float32", ()), T("xzp", "uint8", ()),
         T("ys", "float32", ()), T("yzp", "uint8", ())],
        [T("Y", "uint8", (2, 100))],
        domain=MS,
        opset=1,
    )
    check(c, 0, 1600, 0, 0, 210, 200, "uint8")


def test_qlinear_leaky_relu():
    # X int8 [50] (50 B); FLOPs = (2 + 2 + 2)·50 = 300; read 50+4+1+4+1 = 60; written 50
    c = run(
        "QLinearLeakyRelu",
        [T("X", "int8", (50,)), T("xs", "float32", ()), T("xzp", "int8", ()),
         T("ys", "float32", ()), T("yzp", "int8", ())],
        [T("Y", "int8", (50,))],
        {"alpha": 0.1},
        domain=MS,
        opset=1,
    )
    check(c, 0, 300, 0, 0, 60, 50, "int8")


def test_qlinear_softmax():
    # X uint8 4x32 = 128 el; FLOPs = (2 + 5 softmax + 2)·128 = 1152; read 128+4+1+4+1 = 138
    c = run(
        "QLinearSoftmax",
        [T("X", "uint8", (4, 32)), T("xs", "float32", ()), T("xzp", "uint8", ()),
         T("ys", "float32", ()), T("yzp", "uint8", ())],
        [T("Y", "uint8", (4, 32))],
        {"opset": 13, "axis": -1},
        domain=MS,
        opset=1,
    )
    check(c, 0, 1152, 0, 0, 138, 128, "uint8")


def test_qlinear_average_pool():
    # X uint8 1x8x6x6 = 288 B; kernel 3x3 stride 3 -> Y 1x8x2x2 = 32 el
    # FLOPs = 32·9 + 2·32 = 352; read 288+4+1+4+1 = 298; written 32
    c = run(
        "QLinearAveragePool",
        [T("X", "uint8", (1, 8, 6, 6)), T("xs", "float32", ()), T("xzp", "uint8", ()),
         T("ys", "float32", ()), T("yzp", "uint8", ())],
        [T("Y", "uint8", (1, 8, 2, 2))],
        {"kernel_shape": [3, 3], "strides": [3, 3]},
        domain=MS,
        opset=1,
    )
    check(c, 0, 352, 0, 0, 298, 32, "uint8")


def test_qlinear_global_average_pool():
    # X uint8 1x16x7x7 = 784 el; Y 1x16x1x1 = 16 el
    # FLOPs = 784 + 2·16 = 816; read 784+10 = 794; written 16
    c = run(
        "QLinearGlobalAveragePool",
        [T("X", "uint8", (1, 16, 7, 7)), T("xs", "float32", ()), T("xzp", "uint8", ()),
         T("ys", "float32", ()), T("yzp", "uint8", ())],
        [T("Y", "uint8", (1, 16, 1, 1))],
        domain=MS,
        opset=1,
    )
    check(c, 0, 816, 0, 0, 794, 16, "uint8")


def test_qlinear_concat():
    # Y_scale f32 4 B, Y_zp uint8 1 B; X1 uint8 1x4x5 (20 B) + scale 4 + zp 1;
    # X2 uint8 1x6x5 const (30 B) + const scale 4 + const zp 1; Y uint8 1x10x5 = 50 el
    # FLOPs = 2·50 = 100 (requantize); params 30; weight bytes 30+4+1 = 35
    # read 4+1+20+4+1+30+4+1 = 65; written 50
    c = run(
        "QLinearConcat",
        [T("ys", "float32", ()), T("yzp", "uint8", ()),
         T("x1", "uint8", (1, 4, 5)), T("s1", "float32", ()), T("z1", "uint8", ()),
         T("x2", "uint8", (1, 6, 5), True), T("s2", "float32", (), True), T("z2", "uint8", (), True)],
        [T("Y", "uint8", (1, 10, 5))],
        {"axis": 1},
        domain=MS,
        opset=1,
    )
    check(c, 0, 100, 30, 35, 65, 50, "uint8")


def test_registrations():
    for domain, op, since in [
        ("", "QuantizeLinear", 10), ("", "DequantizeLinear", 10), ("", "DynamicQuantizeLinear", 11),
        ("", "MatMulInteger", 10), ("", "QLinearMatMul", 10),
        (MS, "QuantizeLinear", 1), (MS, "DequantizeLinear", 1), (MS, "QGemm", 1),
        (MS, "QLinearAdd", 1), (MS, "QLinearMul", 1), (MS, "QLinearSigmoid", 1),
        (MS, "QLinearLeakyRelu", 1), (MS, "QLinearAveragePool", 1), (MS, "QLinearGlobalAveragePool", 1),
        (MS, "QLinearConcat", 1), (MS, "QLinearSoftmax", 1), (MS, "DynamicQuantizeMatMul", 1),
        (MS, "MatMulIntegerToFloat", 1), (MS, "MatMulNBits", 1), (MS, "GatherBlockQuantized", 1),
    ]:
        e = REGISTRY.lookup(domain, op, 25 if domain == "" else 1)
        assert e is not None and e.since_version == since and e.kind == "compute", (domain, op)
        assert e.formula
