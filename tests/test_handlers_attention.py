"""Handlers for attention ops (ai.onnx Attention / RotaryEmbedding; com.microsoft
Attention, QAttention, MultiHeadAttention, GroupQueryAttention, PackedAttention,
RotaryEmbedding).

Every expected number is worked out by hand in the comment next to it.  Per score
element: scale 1, softmax 5 (max, sub, exp, sum, div), each mask source 1, softcap 3
(div, tanh 1, mul);
rotary 3 per rotated element; bias add 1; RMS norm 4 per element.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from helpers import ctx_from_model
from onnx_versions import at_opset, needs_opset
from op_handlers import REGISTRY
from op_handlers.microsoft.attention import (
    group_query_attention,
    ms_attention,
    ms_rotary_embedding,
    multi_head_attention,
    packed_attention,
    q_attention,
)
from op_handlers.onnx.attention import onnx_attention, onnx_rotary_embedding
from op_handlers.base import NodeContext, TensorInfo


def T(name, shape, dtype="float32", weight=False):
    return TensorInfo(name, dtype, tuple(shape), is_const=weight, is_weight=weight)


MS = "com.microsoft"


# --------------------------------------------------------------------------- helpers for real models




def _vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


# --------------------------------------------------------------------------- registry


def test_registered_versions():
    for v in (23, 24, 25):
        assert REGISTRY.lookup("", "Attention", v).fn is onnx_attention
    assert REGISTRY.lookup("", "RotaryEmbedding", 23).fn is onnx_rotary_embedding
    for op, fn in [("Attention", ms_attention), ("QAttention", q_attention),
                   ("MultiHeadAttention", multi_head_attention),
                   ("GroupQueryAttention", group_query_attention),
                   ("PackedAttention", packed_attention), ("RotaryEmbedding", ms_rotary_embedding)]:
        assert REGISTRY.lookup(MS, op, 1).fn is fn


# --------------------------------------------------------------------------- ai.onnx Attention


def _onnx_mha_4d_ctx():
    # B 2, heads 4, q_seq 8, kv_seq 8, head 16, 4-D inputs, no mask, no past
    return NodeContext(
        "Attention", opset=23, attrs={"is_causal": 0, "softcap": 0.0},
        inputs=(T("Q", (2, 4, 8, 16)), T("K", (2, 4, 8, 16)), T("V", (2, 4, 8, 16))),
        outputs=(T("Y", (2, 4, 8, 16)),),
    )


def _check_onnx_mha_4d(c):
    # scores = batch 2 * heads 4 * q 8 * kv 8 = 512
    # MACs = 512 * (head_qk 16 + head_v 16) = 16384
    assert c.macs == 16384
    # FLOPs = 2 * 16384 + 512 * (scale 1 + softmax 5) = 32768 + 3072 = 35840
    assert c.flops == 35840
    assert c.params == 0 and c.weight_bytes == 0
    # read Q, K, V: 3 * 2*4*8*16 = 3 * 1024 floats = 12288 B; written Y 1024 floats = 4096 B
    assert c.bytes_read == 12288
    assert c.bytes_written == 4096


def test_onnx_attention_4d():
    _check_onnx_mha_4d(onnx_attention(_onnx_mha_4d_ctx()))


def _onnx_gqa_3d_past_ctx_parts():
    # B 2, q_seq 3, q_num_heads 8, kv_num_heads 2, head_qk 4, head_v 6, past 5, kv new 3,
    # float attn_mask [3, 8], is_causal 1, softcap 30
    attrs = {"q_num_heads": 8, "kv_num_heads": 2, "is_causal": 1, "softcap": 30.0}
    inputs = (T("Q", (2, 3, 32)), T("K", (2, 3, 8)), T("V", (2, 3, 12)), T("mask", (3, 8)),
              T("past_key", (2, 2, 5, 4)), T("past_value", (2, 2, 5, 6)))
    outputs = (T("Y", (2, 3, 48)), T("present_key", (2, 2, 8, 4)), T("present_value", (2, 2, 8, 6)))
    return attrs, inputs, outputs


def _check_onnx_gqa_3d_past(c):
    # total kv = past 5 + new 3 = 8; scores = B 2 * q heads 8 * q 3 * kv 8 = 384
    # MACs = 384 * (head_qk 4 + head_v 6) = 3840
    assert c.macs == 3840
    # per score: scale 1 + softmax 5 + attn_mask 1 + causal 1 + softcap (div, tanh, mul) 3 = 11
    #   -> 384 * 11 = 4224; FLOPs = 2 * 3840 + 4224 = 11904
    assert c.flops == 11904
    assert c.params == 0
    # read floats: Q 2*3*32 = 192, K 2*3*8 = 48, V 2*3*12 = 72, mask 24, past_key 2*2*5*4 = 80,
    #   past_value 2*2*5*6 = 120 -> 536 floats = 2144 B
    assert c.bytes_read == 2144
    # written: Y 2*3*48 = 288, present_key 2*2*8*4 = 128, present_value 2*2*8*6 = 192
    #   -> 608 floats = 2432 B
    assert c.bytes_written == 2432


def test_onnx_attention_3d_gqa_past_mask_causal_softcap():
    attrs, inputs, outputs = _onnx_gqa_3d_past_ctx_parts()
    c = onnx_attention(NodeContext("Attention", opset=23, attrs=attrs, inputs=inputs, outputs=outputs))
    _check_onnx_gqa_3d_past(c)


def test_onnx_attention_3d_needs_heads():
    from op_handlers.base import ShapeUnknown

    ctx = NodeContext("Attention", opset=23, attrs={},
                      inputs=(T("Q", (2, 3, 32)), T("K", (2, 3, 32)), T("V", (2, 3, 32))))
    with pytest.raises(ShapeUnknown):
        onnx_attention(ctx)


@needs_opset(23)
def test_onnx_attention_real_model_4d():
    node = helper.make_node("Attention", ["Q", "K", "V"], ["Y"])
    g = helper.make_graph(
        [node], "g",
        [_vi("Q", [2, 4, 8, 16]), _vi("K", [2, 4, 8, 16]), _vi("V", [2, 4, 8, 16])],
        [_vi("Y", None)],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 23)])
    ctx, shapes = ctx_from_model(m)
    # 4-D in, 4-D out: Y [B, Nq, Sq, Dv]
    assert shapes["Y"] == (2, 4, 8, 16)
    _check_onnx_mha_4d(onnx_attention(ctx))


def _onnx_gqa_model(opset=23):
    node = helper.make_node(
        "Attention", ["Q", "K", "V", "mask", "past_key", "past_value"],
        ["Y", "present_key", "present_value"],
        q_num_heads=8, kv_num_heads=2, is_causal=1, softcap=30.0,
    )
    g = helper.make_graph(
        [node], "g",
        [_vi("Q", [2, 3, 32]), _vi("K", [2, 3, 8]), _vi("V", [2, 3, 12]), _vi("mask", [3, 8]),
         _vi("past_key", [2, 2, 5, 4]), _vi("past_value", [2, 2, 5, 6])],
        [_vi(n, None) for n in ("Y", "present_key", "present_value")],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize("opset", [at_opset(23), at_opset(24)])
def test_onnx_attention_real_model_3d_gqa_past(opset):
    ctx, shapes = ctx_from_model(_onnx_gqa_model(opset))
    # 3-D Q: Y is [B, Sq, q_num_heads * head_v] = [2, 3, 8*6]
    assert shapes["Y"] == (2, 3, 48)
    # present = past concatenated with new along the sequence: [B, Nkv, 5 + 3, D]
    assert shapes["present_key"] == (2, 2, 8, 4)
    assert shapes["present_value"] == (2, 2, 8, 6)
    _check_onnx_gqa_3d_past(onnx_attention(ctx))


def test_onnx_attention_runs_in_onnxruntime_with_same_shapes():
    ort = pytest.importorskip("onnxruntime")
    m = _onnx_gqa_model(23)
    m.ir_version = 10
    try:
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as e:  # pragma: no cover - depends on the installed runtime
        pytest.skip(f"onnxruntime cannot load ai.onnx Attention-23: {e}")
    rng = np.random.default_rng(0)
    feeds = {
        "Q": rng.standard_normal((2, 3, 32), dtype=np.float32),
        "K": rng.standard_normal((2, 3, 8), dtype=np.float32),
        "V": rng.standard_normal((2, 3, 12), dtype=np.float32),
        "mask": np.zeros((3, 8), dtype=np.float32),
        "past_key": rng.standard_normal((2, 2, 5, 4), dtype=np.float32),
        "past_value": rng.standard_normal((2, 2, 5, 6), dtype=np.float32),
    }
    y, pk, pv = sess.run(None, feeds)
    assert y.shape == (2, 3, 48)
    assert pk.shape == (2, 2, 8, 4)
    assert pv.shape == (2, 2, 8, 6)


def test_onnx_attention_nonpad_kv_seqlen_noted():
    ctx = NodeContext(
        "Attention", opset=24, attrs={},
        inputs=(T("Q", (1, 2, 4, 8)), T("K", (1, 2, 6, 8)), T("V", (1, 2, 6, 8)), None, None, None,
                T("nonpad", (1,), "int64")),
        outputs=(T("Y", (1, 2, 4, 8)),),
    )
    c = onnx_attention(ctx)
    # full kv 6 counted: scores 1*2*4*6 = 48; MACs = 48 * 16 = 768; FLOPs = 1536 + 48*6 = 1824
    assert (c.macs, c.flops) == (768, 1824)
    assert any("nonpad_kv_seqlen" in n for n in c.notes)


# --------------------------------------------------------------------------- RotaryEmbedding


def test_onnx_rotary_embedding_4d_no_position_ids():
    # X [B 1, N 2, S 3, H 8], cos/sin [1, 3, 4] (already gathered), full rotation
    ctx = NodeContext(
        "RotaryEmbedding", opset=23, attrs={"interleaved": 0, "num_heads": 0, "rotary_embedding_dim": 0},
        inputs=(T("X", (1, 2, 3, 8)), T("cos", (1, 3, 4)), T("sin", (1, 3, 4))),
        outputs=(T("Y", (1, 2, 3, 8)),),
    )
    c = onnx_rotary_embedding(ctx)
    assert c.macs == 0
    # 3 FLOPs * (1*2*3 head vectors) * 8 rotated = 144
    assert c.flops == 144
    # read X 48 floats = 192 + cos 12 floats = 48 + sin 48 = 288; written 192
    assert c.bytes_read == 288
    assert c.bytes_written == 192
    assert c.params == 0


def test_onnx_rotary_embedding_3d_position_ids_partial():
    # X [B 2, S 5, 4 heads * 16], rotary_embedding_dim 8, cos/sin [100, 4], position_ids [2, 5]
    ctx = NodeContext(
        "RotaryEmbedding", opset=23, attrs={"num_heads": 4, "rotary_embedding_dim": 8},
        inputs=(T("X", (2, 5, 64)), T("cos", (100, 4), weight=True), T("sin", (100, 4), weight=True),
                T("pos", (2, 5), "int64")),
        outputs=(T("Y", (2, 5, 64)),),
    )
    c = onnx_rotary_embedding(ctx)
    # 3 * (2*5 tokens * 4 heads) * 8 rotated = 960
    assert c.flops == 960
    # cos/sin are tables, not parameters
    assert c.params == 0
    # read X 640 floats = 2560 + pos 10 int64 = 80 + gathered cos 10 tokens * 4 = 40 floats = 160
    #   + sin 160 = 2960 (not the 100*4*4 = 1600 B tables)
    assert c.bytes_read == 2960
    assert c.bytes_written == 2560


def test_ms_rotary_embedding_3d():
    # input [2, 3, 32], position_ids [2, 3] int64, cos/sin [16, 4], num_heads 4 -> head 8
    ctx = NodeContext(
        "RotaryEmbedding", domain=MS, opset=1, attrs={"num_heads": 4},
        inputs=(T("x", (2, 3, 32)), T("pos", (2, 3), "int64"), T("cos", (16, 4), weight=True),
                T("sin", (16, 4), weight=True)),
        outputs=(T("y", (2, 3, 32)),),
    )
    c = ms_rotary_embedding(ctx)
    # 3 * (2*3 tokens * 4 heads) * 8 = 576
    assert c.flops == 576
    # read x 192 floats = 768 + pos 6 * 8 = 48 + cos 6 tokens * 4 floats = 96 + sin 96 = 1008
    assert c.bytes_read == 1008
    assert c.bytes_written == 768


def test_ms_rotary_embedding_head_from_cache():
    # 3-D input without num_heads: head = 2 * cos last dim = 8, heads = 16 / 8 = 2
    ctx = NodeContext(
        "RotaryEmbedding", domain=MS, opset=1, attrs={},
        inputs=(T("x", (1, 2, 16)), T("pos", (1, 2), "int64"), T("cos", (8, 4)), T("sin", (8, 4))),
        outputs=(T("y", (1, 2, 16)),),
    )
    # 3 * (1*2 tokens * 2 heads) * 8 = 96
    assert ms_rotary_embedding(ctx).flops == 96


# --------------------------------------------------------------------------- com.microsoft Attention


def test_ms_attention_past_mask_unidirectional():
    # B 2, S 4, input hidden 16, weights [16, 48], bias [48], 4 heads (head 4), mask_index [2],
    # past [2, 2, 4, 3, 4] (past 3), unidirectional 1
    ctx = NodeContext(
        "Attention", domain=MS, opset=1, attrs={"num_heads": 4, "unidirectional": 1},
        inputs=(T("x", (2, 4, 16)), T("w", (16, 48), weight=True), T("b", (48,), weight=True),
                T("mask", (2,), "int32"), T("past", (2, 2, 4, 3, 4))),
        outputs=(T("y", (2, 4, 16)), T("present", (2, 2, 4, 7, 4))),
    )
    c = ms_attention(ctx)
    # projection: B 2 * S 4 * in 16 * out 48 = 6144 MACs
    # attention: total 3 + 4 = 7; scores 2 * 4 heads * 4 * 7 = 224; 224 * (4 + 4) = 1792
    # MACs = 6144 + 1792 = 7936
    assert c.macs == 7936
    # FLOPs = 2 * 7936 = 15872 + bias 2*4*48 = 384 + 224 * (1 + 5 + mask 1 + unidirectional 1) = 1792
    #       = 18048
    assert c.flops == 18048
    # params 16*48 = 768 + 48 = 816 -> 3264 B
    assert c.params == 816
    assert c.weight_bytes == 3264
    # read x 128 floats = 512 + 3264 + mask 8 + past 192 floats = 768 -> 4552
    assert c.bytes_read == 4552
    # written y 128 floats = 512 + present 448 floats = 1792 -> 2304
    assert c.bytes_written == 2304
    assert c.compute_dtype == "float32"


def test_ms_attention_qkv_hidden_sizes_rotary_no_bias():
    # B 1, S 5, input 12, qkv_hidden_sizes [8, 8, 16], 2 heads -> head_qk 4, head_v 8, do_rotary
    ctx = NodeContext(
        "Attention", domain=MS, opset=1,
        attrs={"num_heads": 2, "qkv_hidden_sizes": [8, 8, 16], "do_rotary": 1},
        inputs=(T("x", (1, 5, 12)), T("w", (12, 32), weight=True)),
        outputs=(T("y", (1, 5, 16)),),
    )
    c = ms_attention(ctx)
    # projection 1*5*12*32 = 1920; scores 1*2*5*5 = 50, attention 50 * (4 + 8) = 600 -> 2520
    assert c.macs == 2520
    # FLOPs = 5040 + 50 * 6 = 300 + rotary 3 * (Q and K) 2 * 1*5 tokens * 2 heads * 4 dims = 240 -> 5580
    assert c.flops == 5580
    assert c.params == 384
    # read x 60 floats = 240 + w 384 floats = 1536 -> 1776; written y 80 floats = 320
    assert c.bytes_read == 1776
    assert c.bytes_written == 320


def test_ms_attention_shared_buffer():
    # B 1, S 1, 2 heads of 4; past/present share a [2, 1, 2, 32, 4] buffer
    ctx = NodeContext(
        "Attention", domain=MS, opset=1, attrs={"num_heads": 2, "past_present_share_buffer": 1},
        inputs=(T("x", (1, 1, 8)), T("w", (8, 24), weight=True), T("b", (24,), weight=True), None,
                T("past", (2, 1, 2, 32, 4)), None, T("past_len", (1,), "int32")),
        outputs=(T("y", (1, 1, 8)), T("present", (2, 1, 2, 32, 4))),
    )
    c = ms_attention(ctx)
    # projection 1*8*24 = 192; total = buffer 32; scores 1*2*1*32 = 64; 64 * 8 = 512 -> 704
    assert c.macs == 704
    # FLOPs = 1408 + bias 24 + 64 * 6 = 384 -> 1816
    assert c.flops == 1816
    # written: y 8 floats = 32 + new K and V rows 1 * 2 heads * 1 * (4 + 4) = 16 floats = 64 -> 96
    assert c.bytes_written == 96
    assert c.notes


def test_q_attention():
    # input uint8 [1, 4, 8], weight int8 [8, 24], bias f32 [24], scalar scales, zero points,
    # 2 heads -> hidden 8, head 4
    ctx = NodeContext(
        "QAttention", domain=MS, opset=1, attrs={"num_heads": 2, "unidirectional": 0},
        inputs=(T("x", (1, 4, 8), "uint8"), T("w", (8, 24), "int8", True), T("b", (24,), weight=True),
                T("x_scale", (), weight=True), T("w_scale", (), weight=True), None,
                T("x_zp", (), "uint8", True), T("w_zp", (), "int8", True)),
        outputs=(T("y", (1, 4, 8)),),
    )
    c = q_attention(ctx)
    # projection 1*4*8*24 = 768; scores 1*2*4*4 = 32, attention 32 * (4 + 4) = 256 -> 1024
    assert c.macs == 1024
    # FLOPs = 2048 + scores 32 * 6 = 192 + bias 4*24 = 96 + dequant 96
    #   + input zero point 32 + weight zero point 192 = 2656
    assert c.flops == 2656
    # params: weight 192 + bias 24 = 216; the 0-d weight scale and zero point are stored bytes,
    # not parameters (docs/conventions.md), and the input scale/zp quantise activations
    assert c.params == 216
    # bytes: 192 (int8) + 96 + 4 + 1 = 293
    assert c.weight_bytes == 293
    # read: x 32 + w 192 + b 96 + x_scale 4 + w_scale 4 + x_zp 1 + w_zp 1 = 330; written y 32 floats = 128
    assert c.bytes_read == 330
    assert c.bytes_written == 128
    assert c.compute_dtype == "int8"


# --------------------------------------------------------------------------- MultiHeadAttention


def test_mha_cross_attention_bias_padding_mask():
    # query [2, 6, 32], key [2, 10, 32], value [2, 10, 64], bias [128], key_padding_mask [2, 10],
    # 4 heads -> head_qk 8, head_v 16
    ctx = NodeContext(
        "MultiHeadAttention", domain=MS, opset=1, attrs={"num_heads": 4, "unidirectional": 0},
        inputs=(T("q", (2, 6, 32)), T("k", (2, 10, 32)), T("v", (2, 10, 64)), T("bias", (128,), weight=True),
                T("kpm", (2, 10), "int32")),
        outputs=(T("out", (2, 6, 64)),),
    )
    c = multi_head_attention(ctx)
    # scores 2 * 4 * 6 * 10 = 480; MACs = 480 * (8 + 16) = 11520
    assert c.macs == 11520
    # FLOPs = 23040 + 480 * (6 + mask 1) = 3360 + bias Q 2*6*32 = 384 + K 2*10*32 = 640
    #   + V 2*10*64 = 1280  -> 23040 + 3360 + 2304 = 28704
    assert c.flops == 28704
    assert c.params == 128
    assert c.weight_bytes == 512
    # read q 384 floats = 1536 + k 640 = 2560 + v 1280 = 5120 + bias 512 + mask 20 int32 = 80 -> 9808
    assert c.bytes_read == 9808
    # written out 768 floats = 3072
    assert c.bytes_written == 3072


def test_mha_decode_with_past_bias_unidirectional():
    # query/key/value [1, 1, 16], 2 heads of 8, past [1, 2, 9, 8], attention_bias [1, 2, 1, 10]
    ctx = NodeContext(
        "MultiHeadAttention", domain=MS, opset=1, attrs={"num_heads": 2, "unidirectional": 1},
        inputs=(T("q", (1, 1, 16)), T("k", (1, 1, 16)), T("v", (1, 1, 16)), None, None,
                T("ab", (1, 2, 1, 10)), T("pk", (1, 2, 9, 8)), T("pv", (1, 2, 9, 8))),
        outputs=(T("out", (1, 1, 16)), T("present_key", (1, 2, 10, 8)), T("present_value", (1, 2, 10, 8))),
    )
    c = multi_head_attention(ctx)
    # total 9 + 1 = 10; scores 1*2*1*10 = 20; MACs = 20 * 16 = 320
    assert c.macs == 320
    # FLOPs = 640 + 20 * (6 + attention_bias 1 + unidirectional 1) = 160 -> 800
    assert c.flops == 800
    assert c.params == 0
    # read q, k, v 16 floats each = 192 + ab 20 floats = 80 + pk 144 floats = 576 + pv 576 -> 1424
    assert c.bytes_read == 1424
    # written out 64 + present_key 160 floats = 640 + present_value 640 -> 1344
    assert c.bytes_written == 1344


def test_mha_key_value_bnsh():
    # query [1, 3, 16], key/value already projected [1, 2, 7, 8] (BNSH), bias [48] only on Q
    ctx = NodeContext(
        "MultiHeadAttention", domain=MS, opset=1, attrs={"num_heads": 2},
        inputs=(T("q", (1, 3, 16)), T("k", (1, 2, 7, 8)), T("v", (1, 2, 7, 8)), T("bias", (48,), weight=True)),
        outputs=(T("out", (1, 3, 16)),),
    )
    c = multi_head_attention(ctx)
    # scores 1*2*3*7 = 42; MACs = 42 * 16 = 672
    assert c.macs == 672
    # FLOPs = 1344 + 42 * 6 = 252 + Q bias 1*3*16 = 48 -> 1644
    assert c.flops == 1644
    # read q 48 floats = 192 + k 112 floats = 448 + v 448 + bias 192 = 1280; written 192
    assert c.bytes_read == 1280
    assert c.bytes_written == 192


def test_mha_packed_qkv():
    # query packed [B 2, S 5, N 3, 3, H 4]
    ctx = NodeContext(
        "MultiHeadAttention", domain=MS, opset=1, attrs={"num_heads": 3},
        inputs=(T("qkv", (2, 5, 3, 3, 4)),),
        outputs=(T("out", (2, 5, 12)),),
    )
    c = multi_head_attention(ctx)
    # scores 2*3*5*5 = 150; MACs = 150 * 8 = 1200; FLOPs = 2400 + 150 * 6 = 3300
    assert (c.macs, c.flops) == (1200, 3300)


# --------------------------------------------------------------------------- GroupQueryAttention


def test_gqa_with_past_and_rotary():
    # query [1, 4, 64] (8 heads of 8), key/value [1, 4, 16] (2 kv heads), past [1, 2, 6, 8],
    # cos/sin [32, 4] -> rotary dim 8, causal (default)
    ctx = NodeContext(
        "GroupQueryAttention", domain=MS, opset=1,
        attrs={"num_heads": 8, "kv_num_heads": 2, "do_rotary": 1},
        inputs=(T("q", (1, 4, 64)), T("k", (1, 4, 16)), T("v", (1, 4, 16)),
                T("pk", (1, 2, 6, 8)), T("pv", (1, 2, 6, 8)), T("seqlens_k", (1,), "int32"),
                T("total", (), "int32"), T("cos", (32, 4), weight=True), T("sin", (32, 4), weight=True)),
        outputs=(T("out", (1, 4, 64)), T("present_key", (1, 2, 10, 8)), T("present_value", (1, 2, 10, 8))),
    )
    c = group_query_attention(ctx)
    # total = past 6 + new 4 = 10; scores = 1 * 8 q heads * 4 * 10 = 320; MACs = 320 * (8 + 8) = 5120
    assert c.macs == 5120
    # FLOPs = 10240 + 320 * (6 + causal 1) = 2240
    #   + rotary 3 * 8 dims * (Q 1*4*8 heads + K 1*4*2 heads = 40) = 960 -> 13440
    assert c.flops == 13440
    assert c.params == 0
    # read: q 256 floats = 1024, k 64 = 256, v 256, pk 96 = 384, pv 384, seqlens 4, total 4,
    #   cos gathered 4 tokens * 4 floats = 64 B, sin 64  -> 2440
    assert c.bytes_read == 2440
    # written: out 256 floats = 1024 + present_key 160 floats = 640 + present_value 640 = 2304
    assert c.bytes_written == 2304


def test_gqa_packed_shared_buffer_sink_softcap_qknorm():
    # packed query [2, 1, (4 + 2*2) * 8 = 64] -> 4 q heads, 2 kv heads, head 8;
    # past/present share a [2, 2, 16, 8] buffer; attention_bias [2, 1, 1, 16]; head_sink [4];
    # q_norm_weight / k_norm_weight [8]; softcap 30
    ctx = NodeContext(
        "GroupQueryAttention", domain=MS, opset=1,
        attrs={"num_heads": 4, "kv_num_heads": 2, "softcap": 30.0},
        inputs=(T("qkv", (2, 1, 64)), None, None, T("pk", (2, 2, 16, 8)), T("pv", (2, 2, 16, 8)),
                T("seqlens_k", (2,), "int32"), T("total", (), "int32"), None, None, None,
                T("ab", (2, 1, 1, 16)), T("sink", (4,), weight=True), None, None,
                T("qn", (8,), weight=True), T("kn", (8,), weight=True)),
        outputs=(T("out", (2, 1, 32)), T("present_key", (2, 2, 16, 8)), T("present_value", (2, 2, 16, 8))),
    )
    c = group_query_attention(ctx)
    # total = shared buffer 16; scores 2 * 4 * 1 * 16 = 128; MACs = 128 * 16 = 2048
    assert c.macs == 2048
    # FLOPs = 4096 + 128 * (6 + causal 1 + bias 1 + softcap 3) = 1408 + sink 2*4*1 = 8
    #   + q RMS norm 4 * 2*1*4*8 = 256 + k RMS norm 4 * 2*1*2*8 = 128  -> 5896
    assert c.flops == 5896
    # params head_sink 4 + q norm 8 + k norm 8 = 20 -> 80 B
    assert c.params == 20
    assert c.weight_bytes == 80
    # read: qkv 128 floats = 512 + pk 512 floats = 2048 + pv 2048 + seqlens 8 + total 4 + ab 32 floats
    #   = 128 + sink 16 + qn 32 + kn 32 -> 4828
    assert c.bytes_read == 4828
    # written: out 64 floats = 256 + new K rows 2*2*1*8 = 32 floats = 128 + new V rows 128 -> 512
    assert c.bytes_written == 512


# --------------------------------------------------------------------------- PackedAttention


def test_packed_attention():
    # 5 real tokens, input hidden 8, weights [8, 24], bias [24], token_offset [B 2, S 4],
    # cumulative_sequence_length [3], 2 heads of 4
    ctx = NodeContext(
        "PackedAttention", domain=MS, opset=1, attrs={"num_heads": 2},
        inputs=(T("x", (5, 8)), T("w", (8, 24), weight=True), T("b", (24,), weight=True),
                T("token_offset", (2, 4), "int32"), T("cu", (3,), "int32")),
        outputs=(T("y", (5, 8)),),
    )
    c = packed_attention(ctx)
    # projection 5 tokens * 8 * 24 = 960; attention padded: scores 2*2*4*4 = 64, 64 * 8 = 512 -> 1472
    assert c.macs == 1472
    # FLOPs = 2944 + bias 5*24 = 120 + 64 * (6 + padding mask 1) = 448 -> 3512
    assert c.flops == 3512
    assert c.params == 216
    assert c.weight_bytes == 864
    # read x 40 floats = 160 + 864 + token_offset 8 int32 = 32 + cu 12 -> 1068; written y 40 floats = 160
    assert c.bytes_read == 1068
    assert c.bytes_written == 160
