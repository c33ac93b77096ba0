"""Handlers of op_handlers/onnx/ (misc.py, signal.py, spatial.py, control_flow.py),
ml/ and preview/, one hand-built node each.  Expected numbers are
worked out in the comments from the formulas in docs/conventions.md, never by
calling a handler.  Byte sizes: float32/int32 4, int64/float64 8, float16 2, bool 1,
string 0 (unknown).
"""

from __future__ import annotations

import pytest

from op_handlers import REGISTRY, NodeContext, TensorInfo
from op_handlers.ml.classical import tree_depths
from op_handlers.onnx.misc import tfidf_lookups
from op_handlers.onnx.signal import fft_flops

ML = "ai.onnx.ml"
TRAINING = "ai.onnx.preview.training"


def T(name, dtype, shape, w=False):
    return TensorInfo(name, dtype, None if shape is None else tuple(shape), is_const=w, is_weight=w)


def run(op, inputs, outputs, attrs=None, domain="", opset=28):
    entry = REGISTRY.lookup(domain, op, opset)
    assert entry is not None, f"{domain or 'ai.onnx'}::{op} not registered"
    ctx = NodeContext(op, domain, opset, op.lower(), attrs or {}, tuple(inputs), tuple(outputs))
    return entry.fn(ctx)


def check(c, macs, flops, params, weight_bytes, read, written, dtype="float32"):
    assert (c.macs, c.flops) == (macs, flops)
    assert (c.params, c.weight_bytes) == (params, weight_bytes)
    assert (c.bytes_read, c.bytes_written) == (read, written)
    assert c.compute_dtype == dtype


# --------------------------------------------------------------------------- recent ops


def test_swiglu():
    # A, B f32 2x8x16 = 256 el (1024 B each); Y 256 el
    # FLOPs = (Swish 5 + ·B 1) · 256 = 1536; read 2048; written 1024
    c = run("SwiGLU", [T("A", "float32", (2, 8, 16)), T("B", "float32", (2, 8, 16))], [T("Y", "float32", (2, 8, 16))])
    check(c, 0, 1536, 0, 0, 2048, 1024)


def test_causal_conv_with_state_bias_silu():
    # input f32 (2,4,10) = 80 el (320 B); weight (4,1,3) const 12 el (48 B); bias (4) const (16 B)
    # past_state (2,4,2) = 16 el (64 B); Y (2,4,10) 80 el (320 B); present (2,4,2) (64 B)
    # MACs = numel(Y)·k = 80·3 = 240; FLOPs = 480 + bias 80 + silu 5·80 = 960
    # params 12 + 4 = 16, 64 B; read 320+48+16+64 = 448; written 320+64 = 384
    c = run(
        "CausalConvWithState",
        [T("x", "float32", (2, 4, 10)), T("w", "float32", (4, 1, 3), True), T("b", "float32", (4,), True),
         T("past", "float32", (2, 4, 2))],
        [T("y", "float32", (2, 4, 10)), T("present", "float32", (2, 4, 2))],
        {"activation": "silu"},
        opset=27,
    )
    check(c, 240, 960, 16, 64, 448, 384)


def test_causal_conv_with_state_plain():
    # no bias, no past, activation none: MACs 80·3 = 240, FLOPs 480
    # read 320 + 48 = 368; written 320 + 64 = 384
    c = run(
        "CausalConvWithState",
        [T("x", "float32", (2, 4, 10)), T("w", "float32", (4, 1, 3), True)],
        [T("y", "float32", (2, 4, 10)), T("present", "float32", (2, 4, 2))],
        {"activation": "none"},
        opset=27,
    )
    check(c, 240, 480, 12, 48, 368, 384)


def test_linear_attention_gated_delta_gqa():
    # B=2, T=3, Hq=4, Hkv=2, dk = 32/4 = 8, dv = 32/2 = 16; state per token Hkv·dk·dv = 256
    # MACs per token: write 256 + delta read 256 + output Hq·dk·dv = 512 -> 1024; × B·T = 6 -> 6144
    # FLOPs per token: 2·1024 + scale Hq·dv 64 + decay 256 + delta (sub, ·beta) 2·Hkv·dv = 64 -> 2432
    # × 6 = 14592, + exp of every decay value (2·3·2 = 12) -> 14604
    # read: q 192·4 = 768, k 96·4 = 384, v 768, past 512·4 = 2048, decay 48, beta 48 -> 4064
    # written: output (2,3,64) 1536 + present 2048 -> 3584
    c = run(
        "LinearAttention",
        [T("q", "float32", (2, 3, 32)), T("k", "float32", (2, 3, 16)), T("v", "float32", (2, 3, 32)),
         T("past", "float32", (2, 2, 8, 16)), T("decay", "float32", (2, 3, 2)), T("beta", "float32", (2, 3, 2))],
        [T("y", "float32", (2, 3, 64)), T("present", "float32", (2, 2, 8, 16))],
        {"q_num_heads": 4, "kv_num_heads": 2, "update_rule": "gated_delta"},
        opset=27,
    )
    check(c, 6144, 14604, 0, 0, 4064, 3584)


def test_linear_attention_linear_rule():
    # B=1, T=4, Hq=Hkv=2, dk=dv=4: state 32; MACs/token = 32 + 2·4·4 = 64; × 4 = 256
    # FLOPs/token = 128 + Hq·dv 8 = 136; × 4 = 544
    # read q,k,v 3·32·4 = 384; written y 128 + present 128 = 256
    c = run(
        "LinearAttention",
        [T("q", "float32", (1, 4, 8)), T("k", "float32", (1, 4, 8)), T("v", "float32", (1, 4, 8))],
        [T("y", "float32", (1, 4, 8)), T("present", "float32", (1, 2, 4, 4))],
        {"q_num_heads": 2, "kv_num_heads": 2, "update_rule": "linear"},
        opset=27,
    )
    check(c, 256, 544, 0, 0, 384, 256)


# --------------------------------------------------------------------------- math


def test_cumprod():
    # x f32 3x5 = 15 el: 15 multiplies; axis (int64 scalar) is not read as data
    c = run("CumProd", [T("x", "float32", (3, 5)), T("axis", "int64", ())], [T("y", "float32", (3, 5))], opset=26)
    check(c, 0, 15, 0, 0, 60, 60)


def test_det_batched():
    # two 4x4 matrices; LU: MACs per matrix Σ_{j=1..3} j² = 1+4+9 = 14; divisions 3+2+1 = 6;
    # diagonal product 3 -> FLOPs per matrix 28 + 6 + 3 = 37; batch 2 -> MACs 28, FLOPs 74
    # read 32·4 = 128; written 2·4 = 8
    c = run("Det", [T("x", "float32", (2, 4, 4))], [T("y", "float32", (2,))], opset=22)
    check(c, 28, 74, 0, 0, 128, 8)


def test_det_single():
    # 3x3: MACs 4+1 = 5, divisions 2+1 = 3, diagonal 2 -> FLOPs 10 + 3 + 2 = 15; output a scalar
    c = run("Det", [T("x", "float64", (3, 3))], [T("y", "float64", ())], opset=22)
    check(c, 5, 15, 0, 0, 72, 8, "float64")


# --------------------------------------------------------------------------- spatial


def test_affine_grid_2d():
    # theta (2,2,3) 12 el; grid (2,5,6,2) = 120 el; each value = row of θ · (x, y, 1): 3 MACs
    # MACs 360, FLOPs 720; read theta 48 (size is control); written 480
    c = run("AffineGrid", [T("theta", "float32", (2, 2, 3)), T("size", "int64", (4,), True)],
            [T("grid", "float32", (2, 5, 6, 2))], opset=20)
    check(c, 360, 720, 0, 0, 48, 480)


def test_affine_grid_3d_constant_theta():
    # theta (1,3,4) const = 12 el (48 B, a parameter); grid (1,2,3,4,3) = 72 el; 4 MACs each
    # MACs 288, FLOPs 576; read 48; written 288
    c = run("AffineGrid", [T("theta", "float32", (1, 3, 4), True), T("size", "int64", (5,), True)],
            [T("grid", "float32", (1, 2, 3, 4, 3))], opset=20)
    check(c, 288, 576, 12, 48, 48, 288)


def test_col2im():
    # input (1, C·prod(block) = 2·2·2 = 8, L = 9) = 72 el: one add each -> 72 FLOPs
    # read 72·4 = 288 (image_shape, block_shape are control); written (1,2,4,4) 32·4 = 128
    c = run("Col2Im", [T("x", "float32", (1, 8, 9)), T("img", "int64", (2,), True), T("blk", "int64", (2,), True)],
            [T("y", "float32", (1, 2, 4, 4))], opset=18)
    check(c, 0, 72, 0, 0, 288, 128)


@pytest.mark.parametrize(
    "mode, opset, flops",
    [
        # Y (1,3,4,5) = 60 el; grid (1,4,5,2) = 40 coordinates, 3 FLOPs each = 120
        ("linear", 20, 60 * 9 + 120),  # bilinear: 3 lerps · 3 = 9 -> 660
        ("bilinear", 16, 60 * 9 + 120),  # opset 16 spelling
        ("cubic", 20, 60 * 35 + 120),  # bicubic: (16 − 1)/3 = 5 cubic interps · 7 = 35 -> 2220
        ("bicubic", 16, 60 * 35 + 120),
        ("nearest", 20, 120),
    ],
)
def test_grid_sample_2d(mode, opset, flops):
    # read X 192·4 = 768 + grid 40·4 = 160 -> 928; written 240
    c = run("GridSample", [T("x", "float32", (1, 3, 8, 8)), T("grid", "float32", (1, 4, 5, 2))],
            [T("y", "float32", (1, 3, 4, 5))], {"mode": mode}, opset=opset)
    check(c, 0, flops, 0, 0, 928, 240)


def test_grid_sample_3d_linear():
    # X (1,2,4,4,4); grid (1,2,2,2,3) = 24 coords; Y (1,2,2,2,2) = 16 el
    # trilinear: 2^3 − 1 = 7 lerps · 3 = 21 -> 16·21 = 336; + 3·24 = 72 -> 408
    # read 128·4 + 24·4 = 608; written 64
    c = run("GridSample", [T("x", "float32", (1, 2, 4, 4, 4)), T("grid", "float32", (1, 2, 2, 2, 3))],
            [T("y", "float32", (1, 2, 2, 2, 2))], {"mode": "linear"}, opset=22)
    check(c, 0, 408, 0, 0, 608, 64)


def test_deform_conv_group_bias_mask():
    # X (1,4,6,6); W (8, 2, 3, 3) const (144 el), group 2; B (8) const; offset (1, 1·2·9 = 18, 4, 4) = 288 el
    # mask (1, 9, 4, 4) = 144 el; Y (1, 8, 4, 4) = 128 el
    # MACs = 128 · 2·3·3 = 2304
    # samples S = N·C·prod(out)·prod(k) = 1·4·16·9 = 576, bilinear 9 FLOPs each = 5184
    # FLOPs = 2·2304 + offsets 288 + 5184 + bias 128 + mask 576 = 10784
    # params 144 + 8 = 152 (608 B); read X 576 + W 576 + offset 1152 + B 32 + mask 576 = 2912; written 512
    c = run(
        "DeformConv",
        [T("x", "float32", (1, 4, 6, 6)), T("w", "float32", (8, 2, 3, 3), True), T("off", "float32", (1, 18, 4, 4)),
         T("b", "float32", (8,), True), T("mask", "float32", (1, 9, 4, 4))],
        [T("y", "float32", (1, 8, 4, 4))],
        {"group": 2},
        opset=22,
    )
    check(c, 2304, 10784, 152, 608, 2912, 512)


@pytest.mark.parametrize(
    "ratio, mode, flops",
    [
        # Y (3,16,2,2) = 192 el; sample = bilinear 9 + accumulate 1 = 10
        (2, "avg", 192 * 4 * 10 + 192),  # 2x2 samples, + avg divide -> 7872
        (2, "max", 192 * 4 * 10),  # 7680
        (0, "avg", 192 * 120 * 10 + 192),  # adaptive: ceil(20/2)·ceil(24/2) = 10·12 = 120 -> 230592
    ],
)
def test_roi_align(ratio, mode, flops):
    # read X 7680·4 = 30720 + rois 48 + batch_indices 24 = 30792; written 768
    c = run(
        "RoiAlign",
        [T("x", "float32", (1, 16, 20, 24)), T("rois", "float32", (3, 4)), T("bi", "int64", (3,))],
        [T("y", "float32", (3, 16, 2, 2))],
        {"sampling_ratio": ratio, "mode": mode},
        opset=22,
    )
    check(c, 0, flops, 0, 0, 30792, 768)
    assert any("adaptive" in n for n in c.notes) == (ratio == 0)


def test_max_roi_pool():
    # X (1,8,10,12), rois (5,5): worst case every RoI covers the map: 5·8·10·12 = 4800 compares
    # read 960·4 + 25·4 = 3940; written (5,8,3,3) 360·4 = 1440
    c = run("MaxRoiPool", [T("x", "float32", (1, 8, 10, 12)), T("rois", "float32", (5, 5))],
            [T("y", "float32", (5, 8, 3, 3))], {"pooled_shape": [3, 3]})
    check(c, 0, 4800, 0, 0, 3940, 1440)


@pytest.mark.parametrize("center, flops", [(0, 2 * (4 * 6 + 13 * 15)), (1, 2 * (4 * 6 + 13 * 15 + 6 * 6))])
def test_non_max_suppression(center, flops):
    # boxes (1,6,4), scores (1,2,6): B=1, K=2 classes, n=6 boxes
    # per class: 4n = 24 + 13·n(n−1)/2 = 13·15 = 195 -> 219 (+ 6n = 36 for centre boxes) ; × 2 classes
    # read boxes 96 + scores 48 + max_out 8 + iou 4 + score 4 = 160; written selected (4,3) int64 = 96
    c = run(
        "NonMaxSuppression",
        [T("boxes", "float32", (1, 6, 4)), T("scores", "float32", (1, 2, 6)), T("m", "int64", (1,)),
         T("iou", "float32", (1,)), T("st", "float32", (1,))],
        [T("sel", "int64", (4, 3))],
        {"center_point_box": center},
        opset=11,
    )
    check(c, 0, flops, 0, 0, 160, 96)


# --------------------------------------------------------------------------- signal processing


def test_fft_flops_helper():
    # power of two: 5·N·log2 N: 8 -> 5·8·3 = 120; 1 -> 0; naive: 8N² − 2N: 12 -> 1152 − 24 = 1128
    assert fft_flops(8) == 120
    assert fft_flops(1) == 0
    assert fft_flops(12) == 1128
    assert fft_flops(3) == 8 * 9 - 6


def test_fft_flops_symbolic_and_non_python_ints():
    import numpy as np
    import sympy

    # sympy / numpy integers are concrete: 16 -> 5·16·4 = 320
    assert fft_flops(sympy.Integer(16)) == 320
    assert fft_flops(np.int64(16)) == 320
    # a symbolic length falls back to the naive count 8n² − 2n
    n = sympy.Symbol("n", integer=True, positive=True)
    assert sympy.expand(fft_flops(n) - (8 * n**2 - 2 * n)) == 0
    # TfIdf: a symbolic row length keeps the candidate count symbolic: bigrams, skip 0 -> c − 1
    c = sympy.Symbol("c", integer=True, positive=True)
    assert sympy.expand(tfidf_lookups(c, 2, 2, 0) - (c - 1)) == 0


def test_dft_opset20_real_same_shape():
    # input (2,16,1) real, output (2,16,2): no dim changes, axis input invisible -> default −2 = axis 1
    # N = 16: 5·16·4 = 320 per transform, 2 transforms -> 640; read input only 128 B; written 256
    c = run("DFT", [T("x", "float32", (2, 16, 1)), None, T("axis", "int64", ())],
            [T("y", "float32", (2, 16, 2))], {"onesided": 0, "inverse": 0}, opset=20)
    check(c, 0, 640, 0, 0, 128, 256)
    assert any("axis input" in n for n in c.notes)
    assert any("real input" in n for n in c.notes)


def test_dft_onesided():
    # input (2,16,1) -> (2, 16//2+1 = 9, 2): axis 1 from the changed dim, N = 16: 2·320 = 640
    c = run("DFT", [T("x", "float32", (2, 16, 1))], [T("y", "float32", (2, 9, 2))], {"onesided": 1}, opset=20)
    check(c, 0, 640, 0, 0, 128, 144)


def test_dft_non_power_of_two_complex():
    # input (3,12,2) complex, N = 12: naive 8·144 − 2·12 = 1128; 3 transforms -> 3384
    c = run("DFT", [T("x", "float32", (3, 12, 2))], [T("y", "float32", (3, 12, 2))], {"onesided": 0}, opset=20)
    check(c, 0, 3384, 0, 0, 288, 288)


def test_dft_length_padding():
    # input (1,10,1) with dft_length = 16 -> output (1,16,2): N = 16 -> 320
    c = run("DFT", [T("x", "float32", (1, 10, 1)), T("n", "int64", ())], [T("y", "float32", (1, 16, 2))],
            {"onesided": 0}, opset=20)
    check(c, 0, 320, 0, 0, 40, 128)


def test_dft_inverse():
    # input (4,8,2) inverse: 5·8·3 = 120 + 1/N scaling 2·8 = 16 -> 136; 4 transforms -> 544
    c = run("DFT", [T("x", "float32", (4, 8, 2))], [T("y", "float32", (4, 8, 2))], {"inverse": 1, "onesided": 0}, opset=20)
    check(c, 0, 544, 0, 0, 256, 256)


def test_dft_opset17_axis_attribute():
    # opset 17: axis is an attribute (2 here); input (2,4,8,2): N = 8 -> 120; batch 2·4 = 8 -> 960
    c = run("DFT", [T("x", "float32", (2, 4, 8, 2))], [T("y", "float32", (2, 4, 8, 2))], {"axis": 2, "onesided": 0}, opset=17)
    check(c, 0, 960, 0, 0, 512, 512)


def test_stft_with_window():
    # signal (1,128,1); window (16) -> N = 16; output (1, 15 frames, 9 bins, 2)
    # per frame: FFT 5·16·4 = 320 + window multiply 16·1 = 336; × 15 = 5040
    # read 512 + frame_step 8 + window 64 = 584; written 270·4 = 1080
    c = run("STFT", [T("s", "float32", (1, 128, 1)), T("step", "int64", ()), T("win", "float32", (16,))],
            [T("y", "float32", (1, 15, 9, 2))], {"onesided": 1}, opset=17)
    check(c, 0, 5040, 0, 0, 584, 1080)


def test_stft_frame_length_only():
    # no window, frame_length input (value invisible), one-sided 9 bins -> N = 2·(9 − 1) = 16
    # 15 frames · 320 = 4800; read 512 + 8 + 8 = 528
    c = run("STFT", [T("s", "float32", (1, 128, 1)), T("step", "int64", ()), None, T("fl", "int64", ())],
            [T("y", "float32", (1, 15, 9, 2))], {"onesided": 1}, opset=17)
    check(c, 0, 4800, 0, 0, 528, 1080)


def test_stft_whole_signal():
    # neither window nor frame_length: N = signal length 128 -> 1 frame, 65 bins; 5·128·7 = 4480
    c = run("STFT", [T("s", "float32", (2, 128, 1)), T("step", "int64", ())],
            [T("y", "float32", (2, 1, 65, 2))], {"onesided": 1}, opset=17)
    check(c, 0, 2 * 4480, 0, 0, 1024 + 8, 2 * 65 * 2 * 4)


@pytest.mark.parametrize("op, per", [("HannWindow", 4), ("HammingWindow", 4), ("BlackmanWindow", 8)])
def test_windows(op, per):
    # size: int64 scalar (8 B); output 10 float32 (40 B): per · 10 FLOPs
    c = run(op, [T("size", "int64", ())], [T("w", "float32", (10,))], opset=17)
    check(c, 0, per * 10, 0, 0, 8, 40)


def test_mel_weight_matrix():
    # output (257, 40) = 10280 el: 4·10280 = 41120; band edges 40 + 2 = 42, 8 each = 336 -> 41456
    # inputs: 3 int64 scalars (24 B) + 2 float32 scalars (8 B) = 32; written 41120
    ins = [T("n", "int64", ()), T("d", "int64", ()), T("sr", "int64", ()), T("lo", "float32", ()), T("hi", "float32", ())]
    c = run("MelWeightMatrix", ins, [T("y", "float32", (257, 40))], opset=17)
    check(c, 0, 41456, 0, 0, 32, 41120, "float32")


# --------------------------------------------------------------------------- random


def test_random_uniform():
    # (3,4) = 12 el · 3 (draw, scale, shift) = 36; no input; written 48
    c = run("RandomUniform", [], [T("y", "float32", (3, 4))], opset=22)
    check(c, 0, 36, 0, 0, 0, 48)


def test_random_normal_like():
    # (2,5) = 10 el · 10 (Box–Muller 8 + scale, shift) = 100; the input gives only a shape: read 0
    c = run("RandomNormalLike", [T("x", "float32", (2, 5))], [T("y", "float32", (2, 5))], opset=22)
    check(c, 0, 100, 0, 0, 0, 40)


@pytest.mark.parametrize("op, ins, per", [
    ("RandomUniform", [], 3),
    ("RandomUniformLike", [("x", "float16", (2, 3))], 3),
    ("RandomNormal", [], 10),
    ("RandomNormalLike", [("x", "float16", (2, 3))], 10),
])
def test_random_generators_compute_in_their_output_dtype(op, ins, per):
    # output (2,3) float32 = 6 el: per · 6 FLOPs; nothing read (a Like input gives only a shape); written 24
    c = run(op, [T(*i) for i in ins], [T("y", "float32", (2, 3))], opset=22)
    check(c, 0, per * 6, 0, 0, 0, 24, "float32")


def test_bernoulli():
    # (4,4) = 16 el · 2 (draw, compare) = 32; reads the probabilities 64 B; written 64
    c = run("Bernoulli", [T("p", "float32", (4, 4))], [T("y", "float32", (4, 4))], opset=22)
    check(c, 0, 32, 0, 0, 64, 64)


def test_multinomial():
    # input (2, 5) logits, sample_size 3: per row 2·5 = 10 + 3·(2 + 5) = 21 -> 31; × 2 = 62
    # read 40; written (2,3) int32 24
    c = run("Multinomial", [T("x", "float32", (2, 5))], [T("y", "int32", (2, 3))], {"sample_size": 3}, opset=22)
    check(c, 0, 62, 0, 0, 40, 24)


# --------------------------------------------------------------------------- losses


def test_nll_weighted_mean():
    # input (3,5,2), target (3,2) -> n = 6 samples; weighted mean:
    # per sample neg 1 + weight 1 = 2 -> 12; mean: sum 6 + weight sum 6 + divide 1 = 13 -> 25
    # read: picked log-probs 6·4 = 24 + target 48 + weight (5) 20 = 92; written scalar 4
    c = run("NegativeLogLikelihoodLoss",
            [T("x", "float32", (3, 5, 2)), T("t", "int64", (3, 2)), T("w", "float32", (5,))],
            [T("loss", "float32", ())], {"reduction": "mean"}, opset=22)
    check(c, 0, 25, 0, 0, 92, 4)


def test_nll_none_ignore_index():
    # no weight, reduction none, ignore_index set: per sample neg 1 + compare 1 = 2 -> 12
    # read 24 + 48 = 72; written (3,2) 24
    c = run("NegativeLogLikelihoodLoss", [T("x", "float32", (3, 5, 2)), T("t", "int64", (3, 2))],
            [T("loss", "float32", (3, 2))], {"reduction": "none", "ignore_index": 1}, opset=22)
    check(c, 0, 12, 0, 0, 72, 24)


def test_softmax_cross_entropy():
    # scores (4,10): log-softmax 5·40 = 200; NLL over 4 labels, mean: 4 + sum 4 + divide 1 = 9 -> 209
    # read 160 + 32 = 192; written loss 4 + log_prob 160 = 164
    c = run("SoftmaxCrossEntropyLoss", [T("s", "float32", (4, 10)), T("l", "int64", (4,))],
            [T("loss", "float32", ()), T("lp", "float32", (4, 10))], {"reduction": "mean"}, opset=13)
    check(c, 0, 209, 0, 0, 192, 164)


# --------------------------------------------------------------------------- text and images


@pytest.mark.parametrize(
    "op, ins, outs, written",
    [
        ("StringConcat", [("a", "string", (3,)), ("b", "string", (3,))], [("c", "string", (3,))], 0),
        ("StringNormalizer", [("a", "string", (4,))], [("c", "string", (4,))], 0),
        ("RegexFullMatch", [("a", "string", (2,))], [("m", "bool", (2,))], 2),  # 2 bools
        ("StringSplit", [("a", "string", (2,))], [("y", "string", (2, 3)), ("z", "int64", (2,))], 16),  # 2 int64
    ],
)
def test_string_ops(op, ins, outs, written):
    c = run(op, [T(*i) for i in ins], [T(*o) for o in outs], opset=20)
    check(c, 0, 0, 0, 0, 0, written, "string")
    assert any("string" in n for n in c.notes)


def test_tfidf_lookups_helper():
    # C = 6, n-grams 2..3, max_skip 1: n=2: d=1 -> 5, d=2 -> 4; n=3: d=1 -> 4, d=2 -> 2 -> 15
    assert tfidf_lookups(6, 2, 3, 1) == 15
    # C = 8, n-grams 1..2, max_skip 2: unigrams once 8; n=2: 7 + 6 + 5 = 18 -> 26
    assert tfidf_lookups(8, 1, 2, 2) == 26
    # a row too short for trigrams with skips: C = 3, n=3, skip 1: d=1 -> 1, d=2 -> max(0, −1) = 0
    assert tfidf_lookups(3, 3, 3, 1) == 1


def test_tfidf_vectorizer():
    # X (2,6) int64: per row 15 lookups (see helper) -> 30; TFIDF weighting + numel(Y) = 14 -> 44
    # read 96; written (2,7) 56
    c = run("TfIdfVectorizer", [T("x", "int64", (2, 6))], [T("y", "float32", (2, 7))],
            {"min_gram_length": 2, "max_gram_length": 3, "max_skip_count": 1, "mode": "TFIDF"}, opset=9)
    check(c, 0, 44, 0, 0, 96, 56, "int64")


def test_image_decoder():
    # encoded stream 1000 uint8 read; image size unknown until run time: written 0; 0 FLOPs
    c = run("ImageDecoder", [T("s", "uint8", (1000,))], [T("img", "uint8", None)], opset=20)
    check(c, 0, 0, 0, 0, 1000, 0, "uint8")


# --------------------------------------------------------------------------- control flow records


@pytest.mark.parametrize("op", ["If", "Loop", "Scan", "SequenceMap"])
def test_control_flow_registered(op):
    e = REGISTRY.lookup("", op, 28)
    assert e is not None and e.kind == "control_flow"
    c = e.fn(NodeContext(op, "", 28, op, {}, (T("c", "bool", ()),), (T("y", "float32", (4,)),)))
    check(c, 0, 0, 0, 0, 0, 0, "none")


# --------------------------------------------------------------------------- other domains


def test_flex_attention():
    # Q (2,4,8,16), K (2,4,6,16), V (2,4,6,32): scores 2·4·8·6 = 384
    # MACs = 384·(16 + 32) = 18432; FLOPs = 36864 + 384·(scale 1 + softmax 5) = 39168
    # read Q 1024 + K 768 + V 1536 = 3328 el · 4 = 13312; written (2,4,8,32) 2048·4 = 8192
    c = run("FlexAttention", [T("q", "float32", (2, 4, 8, 16)), T("k", "float32", (2, 4, 6, 16)),
                              T("v", "float32", (2, 4, 6, 32))],
            [T("y", "float32", (2, 4, 8, 32))], domain="ai.onnx.preview", opset=1)
    check(c, 18432, 39168, 0, 0, 13312, 8192)


def test_adagrad_two_tensors():
    # inputs R, T, X1 (4), X2 (2), G1, G2, H1, H2; outputs X1', X2', H1', H2' = 12 el -> 6 optimized
    # 9 FLOPs each -> 54; read 4 + 8 + 3·(16 + 8) = 84; written 48
    ins = [T("R", "float32", ()), T("T", "int64", ()), T("X1", "float32", (4,)), T("X2", "float32", (2,)),
           T("G1", "float32", (4,)), T("G2", "float32", (2,)), T("H1", "float32", (4,)), T("H2", "float32", (2,))]
    outs = [T("X1n", "float32", (4,)), T("X2n", "float32", (2,)), T("H1n", "float32", (4,)), T("H2n", "float32", (2,))]
    c = run("Adagrad", ins, outs, domain=TRAINING, opset=1)
    check(c, 0, 54, 0, 0, 84, 48)


@pytest.mark.parametrize("post, flops", [(0.0, 2 * 14), (0.5, 2 * 15)])
def test_adam(post, flops):
    # X (2): outputs X', V', H' = 6 el -> 2 optimized; 14 FLOPs each (+1 with norm_coefficient_post)
    # read 4 + 8 + 4·8 = 44; written 24
    ins = [T("R", "float32", ()), T("T", "int64", ())] + [T(n, "float32", (2,)) for n in "XGVH"]
    outs = [T(n, "float32", (2,)) for n in ("Xn", "Vn", "Hn")]
    c = run("Adam", ins, outs, {"norm_coefficient_post": post}, domain=TRAINING, opset=1)
    check(c, 0, flops, 0, 0, 44, 24)


@pytest.mark.parametrize("mode, flops", [("standard", 2 * 7), ("nesterov", 2 * 9)])
def test_momentum(mode, flops):
    # X (2): outputs X', V' = 4 el -> 2 optimized; read 4 + 8 + 3·8 = 36; written 16
    ins = [T("R", "float32", ()), T("T", "int64", ())] + [T(n, "float32", (2,)) for n in "XGV"]
    outs = [T("Xn", "float32", (2,)), T("Vn", "float32", (2,))]
    c = run("Momentum", ins, outs, {"mode": mode}, domain=TRAINING, opset=1)
    check(c, 0, flops, 0, 0, 36, 16)


def test_array_feature_extractor():
    # x (3,4), y (2) indices -> z (3,2) = 6 el: reads the 6 picked (24 B) + indices 16 = 40; written 24
    c = run("ArrayFeatureExtractor", [T("x", "float32", (3, 4)), T("y", "int64", (2,))], [T("z", "float32", (3, 2))],
            domain=ML, opset=1)
    check(c, 0, 0, 0, 0, 40, 24, "none")


def test_binarizer_and_label_encoder():
    # Binarizer (3,4,5) = 60 compares; read/write 240
    c = run("Binarizer", [T("x", "float32", (3, 4, 5))], [T("y", "float32", (3, 4, 5))], domain=ML, opset=1)
    check(c, 0, 60, 0, 0, 240, 240)
    # LabelEncoder string (5) -> int64 (5): 5 lookups; strings read as 0 B; written 40
    c = run("LabelEncoder", [T("x", "string", (5,))], [T("y", "int64", (5,))], domain=ML, opset=4)
    check(c, 0, 5, 0, 0, 0, 40, "string")


def test_tree_depths_helper():
    # backend test tree: node 0 -> (1, 2), nodes 1 and 2 have two leaves: depth 2
    assert tree_depths([0], [1, 0, 1], [2, 2, 3], [0, 1, 1], [0, 1, 1]) == [2]
    # a chain 0 -> 1 -> 2 (true side), every false side a leaf: depth 3; second tree rooted at 3, one level
    assert tree_depths([0, 3], [1, 2, 0, 0], [0, 0, 0, 1], [0, 0, 1, 1], [1, 1, 1, 1]) == [3, 1]


def test_tree_ensemble():
    # X (3,2): N = 3; one tree of depth 2: per row 2 compares + 1 leaf accumulate = 3 -> 9
    # read 3·2·8 = 48; written (3,2) float64 48
    attrs = {
        "tree_roots": [0], "nodes_truenodeids": [1, 0, 1], "nodes_falsenodeids": [2, 2, 3],
        "nodes_trueleafs": [0, 1, 1], "nodes_falseleafs": [0, 1, 1], "post_transform": 0,
    }
    c = run("TreeEnsemble", [T("x", "float64", (3, 2))], [T("y", "float64", (3, 2))], attrs, domain=ML, opset=5)
    check(c, 0, 9, 0, 0, 48, 48, "float64")
    # logistic post-transform: + 4 per output (3·2 = 6) -> 9 + 24 = 33
    c = run("TreeEnsemble", [T("x", "float64", (3, 2))], [T("y", "float64", (3, 2))], {**attrs, "post_transform": 2},
            domain=ML, opset=5)
    assert c.flops == 33
