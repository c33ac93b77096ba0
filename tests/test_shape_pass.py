"""The one-pass shape resolution of issue 14: exact numbers on deep contrib chains, a
fused BERT, Swin's shifted-window mask, counter Loops, empty KV caches and run-time Sqrt
sizes, and a differential test of every static shape against onnxruntime.

Models come from ``shape_models.py`` (onnx.helper + numpy); every expected number is
worked out by hand in the comment next to it.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import tempfile
from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import TensorProto

import onnxstat
import shape_models as sm
import zoo
from onnxstat.model.loader import load
from onnxstat.shapes.resolve import resolve

ort = pytest.importorskip("onnxruntime")

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(os.path.dirname(HERE), "sample_models")


def _complete(res):
    """Every node resolved: no node error or unresolved flag, totals complete."""
    bad = [(n.path, n.error) for n in res.nodes if n.error or n.unresolved]
    assert not bad, bad
    assert res.totals.unresolved_nodes == 0
    assert res.totals.complete


def _nodes_of(res, op_type):
    return [n for n in res.nodes if n.op_type == op_type]


# --------------------------------------------------------------------------- 1. contrib chain


def test_contrib_chain_200_deep_exact():
    res = onnxstat.profile(sm.contrib_chain(200, 64))
    _complete(res)
    mm = _nodes_of(res, "MatMul")
    assert len(mm) == 200
    # each MatMul [1,64]x[64,64]: numel(Y)·K = 64·64 = 4,096 MACs, all 200 of them
    assert [n.macs for n in mm] == [4096] * 200
    assert all(n.outputs[0][2] == (1, 64) for n in _nodes_of(res, "BiasGelu"))
    # MACs: 200·64·64 = 819,200
    assert res.totals.macs == 819_200
    # FLOPs per layer: MatMul 2·4,096 = 8,192; BiasGelu (1 add + 5 Gelu erf)·64 = 384
    # -> 200·(8,192 + 384) = 200·8,576 = 1,715,200
    assert res.totals.flops == 1_715_200
    # params: 200·(64·64 weight + 64 bias) = 200·4,160 = 832,000
    assert res.totals.params == 832_000


# --------------------------------------------------------------------------- 2. BERT

SEQ = 128
BERT_SHAPES = {"input_ids": (1, SEQ), "attention_mask": (1, SEQ), "token_type_ids": (1, SEQ)}


def bert_macs(layers: int) -> int:
    # hidden 64, 4 heads of 16, seq 128, FFN 256, per layer:
    #   Q, K, V projections 3·128·64·64   = 1,572,864
    #   scores Q·Kᵀ 4·128·128·16          = 1,048,576
    #   context P·V 4·128·128·16          = 1,048,576
    #   output projection 128·64·64       =   524,288
    #   FFN in 128·64·256                 = 2,097,152
    #   FFN out 128·256·64                = 2,097,152
    #   per layer                         = 8,388,608
    # 12 layers: 100,663,296; 4 layers: 33,554,432
    per_layer = 3 * 128 * 64 * 64 + 2 * 4 * 128 * 128 * 16 + 128 * 64 * 64 + 2 * 128 * 64 * 256
    assert per_layer == 8_388_608
    return layers * per_layer


def bert_params(layers: int) -> int:
    # embeddings: word 100·64 = 6,400; position 512·64 = 32,768; token type 2·64 = 128;
    #   LayerNorm 2·64 = 128 -> 39,424
    # per layer: 4 attention matrices 4·64·64 = 16,384 + their biases 4·64 = 256;
    #   FFN 64·256 + 256·64 = 32,768 + biases 256 + 64 = 320; two LayerNorms 2·128 = 256
    #   -> 16,384 + 256 + 32,768 + 320 + 256 = 49,984
    # 12 layers: 39,424 + 12·49,984 = 639,232; 4 layers: 39,424 + 4·49,984 = 239,360
    return 39_424 + layers * 49_984


@functools.lru_cache(maxsize=None)
def bert_models(layers: int, two_unsqueezes: bool = False):
    """(unfused, fused) BERT with ``layers`` layers; fused by onnxruntime.transformers."""
    pytest.importorskip("onnxruntime.transformers.optimizer")
    from onnxruntime.transformers.optimizer import optimize_model

    m = sm.bert(layers, seq=SEQ, two_unsqueezes=two_unsqueezes)
    with tempfile.TemporaryDirectory(prefix="onnxstat-bert-") as d:
        path = os.path.join(d, "bert.onnx")
        onnx.save(m, path)
        # opt_level 0: the Python fusions only (opt_level >= 1 imports torch)
        fused = optimize_model(path, model_type="bert", num_heads=4, hidden_size=64,
                               opt_level=0, use_gpu=False).model
    return m, fused


@pytest.mark.parametrize("layers,attention", [(12, False), (4, False), (12, True)],
                         ids=["12-layers", "4-layers", "12-layers-attention"])
def test_bert_fused_by_ort_optimizer_exact(layers, attention):
    unfused, fused = bert_models(layers, attention)
    ops = Counter((n.domain, n.op_type) for n in fused.graph.node)
    # what the optimizer produces for this graph: residual Add + LayerNorm -> SkipLayerNormalization
    # (2 per layer), Add bias + erf Gelu -> BiasGelu (1 per layer); the embedding
    # LayerNormalization stays (the optimizer leaves EmbedLayerNormalization out here).
    # With the one-node mask Unsqueeze the attention stays unfused (8 MatMuls per layer);
    # with two Unsqueezes it becomes com.microsoft Attention (packed QKV [64,192]) and
    # 3 MatMuls per layer remain (output projection, FFN in, FFN out)
    assert ops[("com.microsoft", "SkipLayerNormalization")] == 2 * layers
    assert ops[("com.microsoft", "BiasGelu")] == layers
    assert ops[("", "LayerNormalization")] == 1
    assert ops[("", "Erf")] == 0
    assert ops[("com.microsoft", "Attention")] == (layers if attention else 0)
    assert ops[("", "MatMul")] == (3 if attention else 8) * layers
    res = onnxstat.profile(fused, input_shapes=BERT_SHAPES)
    _complete(res)
    assert res.totals.macs == bert_macs(layers)
    assert res.totals.params == bert_params(layers)
    # every MatMul is counted, the last layer's FFN out included: 128·256·64 = 2,097,152
    mm = _nodes_of(res, "MatMul")
    assert all(n.macs > 0 for n in mm)
    last = [n for n in mm if n.inputs[1][0] == f"encoder.layer.{layers - 1}.output.dense.weight"]
    assert len(last) == 1 and last[0].macs == 2_097_152
    assert last[0].outputs[0][2] == (1, SEQ, 64)
    for n in _nodes_of(res, "SkipLayerNormalization"):
        assert n.outputs[0][2] == (1, SEQ, 64)
    for n in _nodes_of(res, "Attention"):
        # QKV 3·128·64·64 + Q·Kᵀ and P·V 2·4·128·128·16 = 1,572,864 + 2,097,152 = 3,670,016;
        # params packed QKV 64·192 + 192 = 12,480
        assert n.macs == 3_670_016 and n.params == 12_480
        assert n.outputs[0][2] == (1, SEQ, 64)


@pytest.mark.parametrize("layers", [12, 4])
def test_bert_unfused_and_fused_agree(layers):
    unfused, fused = bert_models(layers)
    a = onnxstat.profile(unfused, input_shapes=BERT_SHAPES)
    b = onnxstat.profile(fused, input_shapes=BERT_SHAPES)
    _complete(a)
    assert a.totals.macs == b.totals.macs == bert_macs(layers)
    assert a.totals.params == b.totals.params == bert_params(layers)


# --------------------------------------------------------------------------- 3. Swin


@pytest.mark.parametrize("batch,size", [(1, 30), (1, 56), (2, 30)])
def test_swin_shifted_window_attention_exact(batch, size):
    res = onnxstat.profile(sm.swin_shifted_window(), input_shapes={"x": (batch, size, size, 96)})
    _complete(res)
    # pad to a multiple of 7: 30 -> 35 (pad (7 - 30 % 7) % 7 = 5), 56 -> 56;
    # T = batch·pH·pW tokens in windows of 49, C = 96, 3 heads of 32:
    #   qkv T·96·288 + q·kᵀ (T/49)·3·49·49·32 + attn·v (same) + proj T·96·96
    #   = T·(27,648 + 4,704 + 4,704 + 9,216) = T·46,272
    # 1x30: T = 1,225 -> 56,683,200; 1x56: T = 3,136 -> 145,108,992; 2x30: 113,366,400
    padded = -(-size // 7) * 7
    tokens = batch * padded * padded
    assert 27_648 + 4_704 + 4_704 + 9_216 == 46_272
    assert res.totals.macs == tokens * 46_272
    assert res.totals.macs == {(1, 30): 56_683_200, (1, 56): 145_108_992, (2, 30): 113_366_400}[(batch, size)]
    # no dim unknown anywhere and none "set to 1"
    for n in res.nodes:
        for name, _dt, shape in n.outputs:
            assert shape is not None and all(isinstance(d, int) for d in shape), (n.path, name, shape)
    assert not [w for w in res.warnings if "set to 1" in w or "unknown" in w.lower()], res.warnings
    # the window partition and the mask have their real sizes
    sm_nodes = _nodes_of(res, "Softmax")
    assert sm_nodes[0].outputs[0][2] == (batch * (padded // 7) ** 2, 3, 49, 49)
    assert res.nodes[-1].outputs[0][2] == (batch, size, size, 96)


def test_swin_twelve_shifted_window_blocks_exact():
    # 12 blocks in a row, each reading the previous block's output shape: 1x56x56x96,
    # T = 3,136 tokens per block -> 12·3,136·46,272 = 1,741,307,904
    res = onnxstat.profile(sm.swin_shifted_window(blocks=12), input_shapes={"x": (1, 56, 56, 96)})
    _complete(res)
    assert res.totals.macs == 12 * 3_136 * 46_272 == 1_741_307_904
    assert len(_nodes_of(res, "MatMul")) == 12 * 4
    assert res.nodes[-1].outputs[0][2] == (1, 56, 56, 96)


def test_swin_params_exclude_literals():
    res = onnxstat.profile(sm.swin_shifted_window(), input_shapes={"x": (1, 30, 30, 96)})
    # qkv 96·288 + 288 = 27,936; proj 96·96 + 96 = 9,312; bias table 13·13·3 = 507 -> 37,755;
    # the mask's 9 region numbers 0..8 are 0-d literals (Expand inputs) and the int64 bias
    # index is an index: neither is a parameter (onnxstat today: 37,764, the 9 literals)
    assert res.totals.params == 27_936 + 9_312 + 507 == 37_755


# --------------------------------------------------------------------------- 4. counter Loops

# per iteration: MatMul enc [1,256,96] x W [96,256] = 256·256·96 = 6,291,456 MACs;
# MatMul s [1,256] x W2 [256,96] = 256·96 = 24,576 MACs -> 6,316,032 per iteration.
# The counter runs i = 0..500 (cond = i + 1 < 500 + 1): 501 iterations.
PER_ITER = 256 * 256 * 96 + 256 * 96
TRIP = 501


@pytest.mark.parametrize("kw", [
    dict(early_stop=True, m="max", n_carried=True),
    dict(early_stop=True, m="absent", n_carried=False),
    dict(early_stop=False, m="max", n_carried=True),
    dict(early_stop=False, m="absent", n_carried=False),
], ids=["paddle-max-carried", "early-absent-outer", "counter-max-carried", "counter-absent-outer"])
def test_counter_loop_trip_count_and_body_macs(kw):
    res = onnxstat.profile(sm.counter_loop(500, **kw))
    _complete(res)
    assert PER_ITER == 6_316_032
    # 501·6,316,032 = 3,164,332,032
    assert res.totals.macs == TRIP * PER_ITER == 3_164_332_032
    body = {n.path.rsplit("/", 1)[-1]: n for n in res.nodes if "/body/" in n.path}
    enc = body["body_MatMul_enc"]
    # the body's MatMul reads the outer [1,256,96] tensor: [1,256,256], not [1,1,256]
    assert enc.outputs[0][2] == (1, 256, 256)
    assert enc.repeat == TRIP and enc.macs == TRIP * 6_291_456
    assert body["body_MatMul_h"].macs == TRIP * 24_576
    # the weights' bytes are read every iteration: enc 256·96·4 = 98,304 B + W 96·256·4 =
    # 98,304 B per iteration -> 501·196,608 = 98,500,608; written 256·256·4 = 262,144 B
    # per iteration -> 131,334,144
    assert enc.bytes_read == TRIP * 196_608 == 98_500_608
    assert enc.bytes_written == TRIP * 262_144 == 131_334_144
    # s [1,256] 1,024 B + W2 256·96·4 = 98,304 B -> 501·99,328 = 49,763,328
    assert body["body_MatMul_h"].bytes_read == TRIP * 99_328
    # params: W [96,256] (loop-carried) once + W2 [256,96] (outer) once = 2·24,576 = 49,152
    assert res.totals.params == 49_152
    loop = _nodes_of(res, "Loop")[0]
    note = " ".join(loop.notes)
    assert "501" in note
    if kw["early_stop"]:
        # the data-dependent term may stop it earlier: 501 is an upper bound, said so
        assert "at most" in note
    else:
        assert "at most" not in note
        assert dict((o[0], o[2]) for o in loop.outputs)["s_all"] == (TRIP, 1, 256)


@pytest.mark.parametrize("m,trip", [(100, 100), (501, 501), (502, 501), (0, 0)])
def test_counter_loop_with_a_bound(m, trip):
    # M bounds the counter: min(M, 501) runs, exactly (no data-dependent term);
    # MACs trip·6,316,032: M = 100 -> 631,603,200
    res = onnxstat.profile(sm.counter_loop(500, early_stop=False, m=m))
    _complete(res)
    assert res.totals.macs == trip * PER_ITER
    loop = _nodes_of(res, "Loop")[0]
    assert dict((o[0], o[2]) for o in loop.outputs)["s_all"] == (trip, 1, 256)
    # params do not depend on the trip count: 49,152 even when the body never runs
    assert res.totals.params == 49_152


# --------------------------------------------------------------------------- 5. decoder step


def decoder_macs(seq: int, past: int) -> int:
    # Q, K, V and output projections 4·seq·64·64 = 16,384·seq;
    # scores q·Kᵀ 4 heads·seq·(past+seq)·16 and context P·V the same: 128·seq·(past+seq)
    return 16_384 * seq + 128 * seq * (past + seq)


def _decoder_shapes(seq, past):
    return {"x": (1, seq, 64), "past_key": (1, 4, past, 16), "past_value": (1, 4, past, 16)}


@pytest.mark.parametrize("seq,past,macs", [
    (8, 0, 139_264),    # 16,384·8 + 128·8·8 = 131,072 + 8,192
    (1, 127, 32_768),   # 16,384·1 + 128·1·128 = 16,384 + 16,384
    (1, 0, 16_512),     # 16,384 + 128·1·1
])
def test_decoder_step_with_empty_and_full_past(seq, past, macs):
    assert decoder_macs(seq, past) == macs
    res = onnxstat.profile(sm.decoder_step(), input_shapes=_decoder_shapes(seq, past))
    _complete(res)
    assert res.totals.macs == macs
    # params: q, k, v, o 4·(64·64 + 64) = 16,640 + the causal mask buffer (bool, consumed
    # as data by Slice) 256·256 = 65,536 -> 82,176; independent of past
    assert res.totals.params == 82_176
    outs = {name: shape for n in res.nodes for name, _dt, shape in n.outputs}
    assert outs["present_key"] == (1, 4, past + seq, 16)
    assert outs["present_value"] == (1, 4, past + seq, 16)
    assert outs["y"] == (1, seq, 64)
    # each present Concat reads the past (past·4·16·4 B, 0 when empty) and the new
    # [1,4,seq,16] (seq·256 B): past 0, seq 8 -> 2,048 B; past 127, seq 1 -> 32,768 B
    for n in _nodes_of(res, "Concat"):
        if n.outputs[0][0].startswith("present_"):
            assert n.bytes_read == 256 * (past + seq)


def test_decoder_step_with_dims_zero_past():
    res = onnxstat.profile(sm.decoder_step(), dims={"seq": 8, "past": 0})
    _complete(res)
    assert res.totals.macs == 139_264


def test_decoder_step_zero_dims_on_the_command_line(tmp_path):
    from helpers import run_cli

    path = tmp_path / "decoder.onnx"
    onnx.save(sm.decoder_step(), str(path))
    for args in (["--input-shape", "x=1x8x64", "--input-shape", "past_key=1x4x0x16",
                  "--input-shape", "past_value=1x4x0x16"], ["--dim", "seq=8", "--dim", "past=0"]):
        r = run_cli("profile", path, *args, "--format", "json")
        assert r.exit_code == 0, (r.stderr, r.stdout)
        totals = json.loads(r.stdout)["totals"]
        assert totals["macs"] == 139_264 and totals["complete"] is True


def test_unresolved_compute_node_makes_totals_incomplete():
    # an unknown custom op hides the shape a MatMul needs: its MACs are unknown, so the
    # totals say so; its weight [64,64] still counts: params 4,096
    g = sm.G("incomplete")
    y = g.op("Mystery", ["x"], domain="custom.ops")
    g.op("MatMul", [y, g.weight("w", (64, 64))], outputs=["y"])
    m = g.model([sm.vi("x", sm.F, [1, 64])], [sm.vi("y", sm.F, None)], domains=("custom.ops",))
    res = onnxstat.profile(m)
    assert res.totals.complete is False
    assert res.totals.unresolved_nodes == 1
    assert [n.unresolved for n in res.nodes if n.op_type == "MatMul"] == [True]
    assert res.totals.params == 4_096
    d = res.to_dict()
    assert d["totals"]["complete"] is False and d["totals"]["unresolved_nodes"] == 1


def test_decoder_step_empty_past_runs_in_onnxruntime():
    model = sm.decoder_step()
    feeds = {k: np.zeros(s, np.float32) for k, s in _decoder_shapes(8, 0).items()}
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y, pk, pv = sess.run(["y", "present_key", "present_value"], feeds)
    assert y.shape == (1, 8, 64) and pk.shape == pv.shape == (1, 4, 8, 16)


# --------------------------------------------------------------------------- 6. ViT Sqrt size


def test_vit_position_embedding_size_from_sqrt():
    res = onnxstat.profile(sm.vit_pos_resize(), input_shapes={"pixel_values": (1, 3, 224, 224)})
    _complete(res)
    outs = {name: shape for n in res.nodes for name, _dt, shape in n.outputs}
    # N = 1,370 - 1 = 1,369 = 37², so M = int(sqrt(1,369.0)) = 37
    assert outs["grid"] == (1, 37, 37, 384)
    # resized to 224/14 = 16 per side: tokens 256; head MatMul 256·384·10 = 983,040
    assert outs["y"] == (1, 256, 10)
    assert res.totals.macs == 983_040
    # params: pos_embed 1,370·384 = 526,080 + head 384·10 = 3,840 -> 529,920
    assert res.totals.params == 529_920


def test_vit_grid_size_from_token_count_with_sqrt():
    res = onnxstat.profile(sm.vit_token_grid(), input_shapes={"pixel_values": (1, 3, 518, 518)})
    _complete(res)
    outs = {name: shape for n in res.nodes for name, _dt, shape in n.outputs}
    # 518 / 14 = 37 patches per side: tokens 1 + 37² = 1,370; N = 1,369; M = √1,369 = 37
    assert outs["grid"] == (1, 37, 37, 384)
    # Conv 37·37·384·(3·14·14) = 1,369·384·588 = 309,109,248; head 1,369·384·10 = 5,256,960
    # -> 314,366,208
    assert res.totals.macs == 309_109_248 + 5_256_960 == 314_366_208
    # params: conv 384·588 + 384 = 226,176; cls 384; head 3,840 -> 230,400
    assert res.totals.params == 230_400


# --------------------------------------------------------------------------- 7. differential


def _feeds(model, shapes):
    rng = np.random.default_rng(0)
    inits = {t.name for t in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        dt = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        shape = shapes[vi.name]
        if np.issubdtype(dt, np.integer):
            feeds[vi.name] = np.zeros(shape, dt)  # valid ids, token types and masks
        else:
            feeds[vi.name] = rng.standard_normal(shape).astype(dt)
    return feeds


def _ort_shapes(model, shapes):
    """Every main-graph node output's (dtype, shape) as onnxruntime observes it (one CPU run).

    The zoo models' weights live in a missing external file: the model is written to a
    temporary directory next to a sparse all-zero file of the right size (values do
    not matter for shapes), which onnxruntime reads as the weights.
    """
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.add().name = o
                have.add(o)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    with tempfile.TemporaryDirectory(prefix="onnxstat-diff-") as d:
        ends: dict[str, int] = {}
        for t in m.graph.initializer:
            if t.data_location == TensorProto.EXTERNAL:
                info = {e.key: e.value for e in t.external_data}
                end = int(info.get("offset", 0)) + int(info["length"])
                ends[info["location"]] = max(ends.get(info["location"], 0), end)
        for loc, size in ends.items():
            with open(os.path.join(d, loc), "wb") as f:
                f.truncate(size)
        path = os.path.join(d, "model.onnx")
        with open(path, "wb") as f:
            f.write(m.SerializeToString())
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        values = sess.run(names, _feeds(model, shapes))
    return {n: (np.asarray(v).dtype.name, tuple(np.asarray(v).shape))
            for n, v in zip(names, values) if isinstance(v, np.ndarray)}


def _input_shapes(model, dims):
    """Concrete input shapes from the declared ones with ``dims`` for the symbols."""
    inits = {t.name for t in model.graph.initializer}
    out = {}
    for vi in model.graph.input:
        if vi.name not in inits:
            out[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else dims[d.dim_param]
                                 for d in vi.type.tensor_type.shape.dim)
    return out


def _differential_cases():
    cases = [
        ("contrib_chain", lambda: sm.contrib_chain(200, 64), {}),
        ("bert12_unfused", lambda: bert_models(12)[0], {"seq": SEQ}),
        ("bert12_fused", lambda: bert_models(12)[1], {"seq": SEQ}),
        ("bert4_fused", lambda: bert_models(4)[1], {"seq": SEQ}),
        ("bert12_attention_fused", lambda: bert_models(12, True)[1], {"seq": SEQ}),
        ("swin_30", sm.swin_shifted_window, {"batch": 1, "h": 30, "w": 30}),
        ("swin_56_b2", sm.swin_shifted_window, {"batch": 2, "h": 56, "w": 56}),
        ("swin_3_blocks_30", lambda: sm.swin_shifted_window(blocks=3), {"batch": 1, "h": 30, "w": 23}),
        ("loop_paddle", lambda: sm.counter_loop(500), {}),
        ("loop_counter", lambda: sm.counter_loop(500, early_stop=False, m="absent", n_carried=False), {}),
        ("loop_bound_100", lambda: sm.counter_loop(500, early_stop=False, m=100), {}),
        ("loop_bound_0", lambda: sm.counter_loop(500, early_stop=False, m=0), {}),
        ("decoder_past0", sm.decoder_step, {"seq": 8, "past": 0}),
        ("decoder_past127", sm.decoder_step, {"seq": 1, "past": 127}),
        ("vit_pos_resize", sm.vit_pos_resize, {"H": 224, "W": 224}),
        ("vit_token_grid", sm.vit_token_grid, {"H": 518, "W": 518}),
        ("zoo_alexnet", lambda: zoo.alexnet(1, 224), {}),
        ("zoo_resnet50", lambda: zoo.resnet50(1, 64), {}),
        ("zoo_transformer_decoder", lambda: zoo.transformer_decoder(2, 64, 4, 100),
         {"batch": 1, "seq": 16}),
        ("zoo_synthetic_chain", lambda: zoo.synthetic_chain(300), {}),
    ]
    #: sample_models/decoder.onnx (a decoder step: 5 new tokens after 3 cached ones)
    DECODER_DIMS = {"batch_size": 2, "sequence_length": 5, "past_sequence_length": 3, "total_sequence_length": 8}
    for path in sorted(glob.glob(os.path.join(SAMPLES, "*.onnx"))):
        name = os.path.basename(path)
        cases.append((f"sample_{name}", functools.partial(onnx.load, path), {"batch": 2, "seq": 5, **DECODER_DIMS}))
    return cases


#: (model, tensor) pairs whose static shape cannot equal onnxruntime's, with the reason.
#: Empty: every tensor onnxstat resolves in these models must match.
ALLOWED_MISMATCH: dict[tuple[str, str], str] = {}

#: models the tests build that are not in the differential test, and why
NOT_COMPARED = {
    "incomplete (test_unresolved_compute_node_makes_totals_incomplete)":
        "its custom.ops::Mystery node has no kernel: onnxruntime cannot run it",
    "swin 12 blocks": "the same block as swin_3_blocks_30, repeated; 3 blocks are compared",
}


@pytest.mark.parametrize("name,build,dims", _differential_cases(), ids=[c[0] for c in _differential_cases()])
def test_static_shapes_equal_onnxruntime(name, build, dims):
    model = build()
    shapes = _input_shapes(model, dims)
    observed = _ort_shapes(model, shapes)
    # the inputs given as whole shapes, and (for models with symbolic dims) as --dim values
    for given_shapes, given_dims in [(shapes, {})] + ([({}, dims)] if dims else []):
        sh = resolve(load(model), given_shapes, given_dims)
        checked, wrong, missing = 0, [], []
        for node in model.graph.node:
            for out in node.output:
                if not out or out not in observed:
                    continue
                vt = sh.lookup("", out)
                if vt is None or not vt.known:
                    missing.append(out)
                    continue
                checked += 1
                if (vt.dtype, tuple(vt.shape)) != observed[out] and (name, out) not in ALLOWED_MISMATCH:
                    wrong.append((out, (vt.dtype, tuple(vt.shape)), observed[out]))
        assert not wrong, f"{name}: static != onnxruntime: {wrong[:10]}"
        # every tensor onnxruntime produced is resolved statically as well
        assert not missing, f"{name}: {len(missing)} tensors unresolved: {missing[:10]}"
        assert checked > 0
