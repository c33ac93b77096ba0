"""Small decoder-only language models with a KV cache, built with onnx.helper + numpy.

Used by ``build.py`` (the bundled ``decoder.onnx``) and by the tests of
``onnxstat llm`` (``tests/test_llm.py``).  Weights come from
``np.random.default_rng(seed)``: the same arguments give byte-identical models.

* :func:`gpt2_decoder`: GPT-2 style (learned positions, LayerNorm, fused QKV
  projection with bias, multi-head attention, GELU MLP), inputs and outputs named
  as transformers/optimum exports them: ``input_ids``, ``attention_mask``
  [batch_size, "past_sequence_length + sequence_length"], ``position_ids``,
  ``past_key_values.N.key``/``.value`` -> ``logits``, ``present.N.key``/``.value``.
* :func:`llama_decoder`: Llama style (RMS norm, rotary position embedding built
  from ops, grouped-query attention with kv heads repeated by Expand, SiLU-gated
  MLP, untied lm_head); the mask's dim is named ``total_sequence_length``.
* :func:`gqa_decoder`: onnxruntime-genai style: com.microsoft
  SimplifiedLayerNormalization, GroupQueryAttention (rotary inside, ``do_rotary``)
  and MatMulNBits int4 projections (made by onnxruntime.quantization's
  MatMulNBitsQuantizer), inputs ``seqlens_k`` and ``total_sequence_length``,
  caches ``past_key_N``/``past_value_N`` -> ``present_key_N``/``present_value_N``.

Every model takes its past caches as [batch, kv_heads, past, head_dim] and
returns ``present`` = past followed by the new tokens.  Hand formulas for their
MACs are in ``tests/test_llm.py``.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64
INT32 = TensorProto.INT32


class _G:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def w(self, name: str, shape, scale: float | None = None) -> str:
        fan_in = shape[0] if len(shape) > 1 else 1
        std = scale if scale is not None else 1.0 / np.sqrt(fan_in)
        self.inits.append(numpy_helper.from_array((self.rng.standard_normal(shape) * std).astype(np.float32), name))
        return name

    def c(self, value, name: str) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs, name: str, n_out: int = 1, domain: str = "", outputs=None, **attrs):
        outs = outputs or ([f"{name}_out{i}" for i in range(n_out)] if n_out > 1 else [f"{name}_out"])
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, domain=domain or None, **attrs))
        return outs if len(outs) > 1 else outs[0]

    def model(self, name, inputs, outputs, doc, ms: bool = False) -> onnx.ModelProto:
        g = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        ops = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid("com.microsoft", 1)] if ms else [])
        m = helper.make_model(g, opset_imports=ops, producer_name="onnxstat-samples", producer_version="1",
                              doc_string=doc)
        m.ir_version = IR_VERSION
        return m


def _causal_bias(g: _G, mask: str, seq_of: str, prefix: str) -> str:
    """[B, 1, S, T] additive bias: 0 where key t <= past + s and mask[b, t] = 1, else -1e4."""
    ms = g.op("Shape", [mask], f"{prefix}/mask_shape")
    t = g.op("Gather", [ms, g.c(np.array(1, np.int64), f"{prefix}/one_idx")], f"{prefix}/total", axis=0)
    ss = g.op("Shape", [seq_of], f"{prefix}/ids_shape")
    s = g.op("Gather", [ss, g.c(np.array(1, np.int64), f"{prefix}/one_idx2")], f"{prefix}/seq", axis=0)
    past = g.op("Sub", [t, s], f"{prefix}/past")
    st = g.op("Concat", [g.op("Unsqueeze", [s, g.c(np.array([0], np.int64), f"{prefix}/ax0")], f"{prefix}/us"),
                         g.op("Unsqueeze", [t, f"{prefix}/ax0"], f"{prefix}/ut")], f"{prefix}/st", axis=0)
    ones = g.op("ConstantOfShape", [st], f"{prefix}/ones", value=numpy_helper.from_array(np.array([1.0], np.float32)))
    causal = g.op("Trilu", [ones, past], f"{prefix}/causal", upper=0)  # [S, T]
    m = g.op("Cast", [mask], f"{prefix}/mask_f", to=FLOAT)
    m = g.op("Unsqueeze", [m, g.c(np.array([1, 2], np.int64), f"{prefix}/ax12")], f"{prefix}/mask4")  # [B,1,1,T]
    allowed = g.op("Mul", [causal, m], f"{prefix}/allowed")  # [B, 1, S, T]
    minus = g.op("Sub", [allowed, g.c(np.array(1.0, np.float32), f"{prefix}/onef")], f"{prefix}/minus")
    return g.op("Mul", [minus, g.c(np.array(1e4, np.float32), f"{prefix}/big")], f"{prefix}/bias")


def _io(batch, seq, past, total, layers, kv_heads, head_dim, vocab, *, mask_dim, kv_names, mask=True, positions=True,
        dtype=FLOAT):
    ins = [helper.make_tensor_value_info("input_ids", INT64, [batch, seq])]
    if mask:
        ins.append(helper.make_tensor_value_info("attention_mask", INT64, [batch, mask_dim]))
    if positions:
        ins.append(helper.make_tensor_value_info("position_ids", INT64, [batch, seq]))
    outs = [helper.make_tensor_value_info("logits", FLOAT, [batch, seq, vocab])]
    for i in range(layers):
        for kv in ("key", "value"):
            p, q = kv_names(i, kv)
            ins.append(helper.make_tensor_value_info(p, dtype, [batch, kv_heads, past, head_dim]))
            outs.append(helper.make_tensor_value_info(q, dtype, [batch, kv_heads, total, head_dim]))
    return ins, outs


def _heads(g: _G, x: str, n: int, d: int, name: str) -> str:
    """[B, S, n*d] -> [B, n, S, d]."""
    r = g.op("Reshape", [x, g.c(np.array([0, 0, n, d], np.int64), f"{name}/shape")], f"{name}/Reshape")
    return g.op("Transpose", [r], f"{name}/Transpose", perm=[0, 2, 1, 3])


def _merge(g: _G, x: str, width: int, name: str) -> str:
    t = g.op("Transpose", [x], f"{name}/Transpose", perm=[0, 2, 1, 3])
    return g.op("Reshape", [t, g.c(np.array([0, 0, width], np.int64), f"{name}/shape")], f"{name}/Reshape")


def _attend(g: _G, q: str, k: str, v: str, bias: str, head_dim: int, name: str) -> str:
    kt = g.op("Transpose", [k], f"{name}/k_T", perm=[0, 1, 3, 2])
    s = g.op("MatMul", [q, kt], f"{name}/MatMul_qk")
    s = g.op("Div", [s, g.c(np.array(np.sqrt(head_dim), np.float32), f"{name}/scale")], f"{name}/Div")
    s = g.op("Add", [s, bias], f"{name}/Add_mask")
    p = g.op("Softmax", [s], f"{name}/Softmax", axis=-1)
    return g.op("MatMul", [p, v], f"{name}/MatMul_pv")


def gpt2_decoder(layers: int = 2, hidden: int = 64, heads: int = 4, vocab: int = 128, max_positions: int = 256,
                 seed: int = 0) -> onnx.ModelProto:
    """GPT-2 style decoder with past (see the module docstring)."""
    d = hidden // heads
    g = _G(seed)
    tok = g.op("Gather", [g.w("wte", (vocab, hidden), 0.5), "input_ids"], "/wte/Gather", axis=0)
    pos = g.op("Gather", [g.w("wpe", (max_positions, hidden), 0.1), "position_ids"], "/wpe/Gather", axis=0)
    h = g.op("Add", [tok, pos], "/embed/Add")
    bias = _causal_bias(g, "attention_mask", "input_ids", "/mask")

    def ln(x, name):
        return g.op("LayerNormalization", [x, g.c(np.ones(hidden, np.float32), f"{name}.weight"),
                                           g.c(np.zeros(hidden, np.float32), f"{name}.bias")], f"/{name}/LN", axis=-1)

    def linear(x, din, dout, name):
        y = g.op("MatMul", [x, g.w(f"{name}.weight", (din, dout))], f"/{name}/MatMul")
        return g.op("Add", [y, g.w(f"{name}.bias", (dout,), 0.01)], f"/{name}/Add")

    for i in range(layers):
        pre = f"h.{i}"
        x = ln(h, f"{pre}.ln_1")
        qkv = linear(x, hidden, 3 * hidden, f"{pre}.attn.c_attn")
        q, k, v = g.op("Split", [qkv, g.c(np.array([hidden] * 3, np.int64), f"/{pre}/split")], f"/{pre}/attn/Split",
                       n_out=3, axis=-1)
        q, k, v = (_heads(g, t, heads, d, f"/{pre}/attn/{n}") for t, n in ((q, "q"), (k, "k"), (v, "v")))
        k = g.op("Concat", [f"past_key_values.{i}.key", k], f"/{pre}/attn/Concat_k", axis=2,
                 outputs=[f"present.{i}.key"])
        v = g.op("Concat", [f"past_key_values.{i}.value", v], f"/{pre}/attn/Concat_v", axis=2,
                 outputs=[f"present.{i}.value"])
        o = _merge(g, _attend(g, q, k, v, bias, d, f"/{pre}/attn"), hidden, f"/{pre}/attn/o")
        h = g.op("Add", [h, linear(o, hidden, hidden, f"{pre}.attn.c_proj")], f"/{pre}/Add_attn")
        x = ln(h, f"{pre}.ln_2")
        f = linear(x, hidden, 4 * hidden, f"{pre}.mlp.c_fc")
        f = g.op("Mul", [f, g.op("Sigmoid", [g.op("Mul", [f, g.c(np.array(1.702, np.float32), f"/{pre}/gelu_c")],
                                                      f"/{pre}/mlp/gelu_scale")], f"/{pre}/mlp/gelu_sig")],
                 f"/{pre}/mlp/gelu")
        h = g.op("Add", [h, linear(f, 4 * hidden, hidden, f"{pre}.mlp.c_proj")], f"/{pre}/Add_mlp")
    h = ln(h, "ln_f")
    g.op("MatMul", [h, g.w("lm_head.weight", (hidden, vocab))], "/lm_head/MatMul", outputs=["logits"])
    ins, outs = _io("batch_size", "sequence_length", "past_sequence_length", "past_sequence_length + sequence_length",
                    layers, heads, d, vocab, mask_dim="past_sequence_length + sequence_length",
                    kv_names=lambda i, kv: (f"past_key_values.{i}.{kv}", f"present.{i}.{kv}"))
    return g.model("gpt2_decoder", ins, outs,
                   f"GPT-2 style decoder with past: {layers} layers, hidden {hidden}, {heads} heads, vocab {vocab}")


def _rope_tables(max_positions: int, head_dim: int, theta: float = 10000.0):
    inv = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    ang = np.outer(np.arange(max_positions, dtype=np.float64), inv)
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def _residual_mlp(g: _G, h: str, attn_out: str, rms, proj, pre: str, hidden: int, intermediate: int) -> str:
    """h + attention, then h + down(silu(gate(norm(h))) * up(norm(h))) (Llama's block tail)."""
    h = g.op("Add", [h, attn_out], f"/{pre}/Add_attn")
    x = rms(h, f"{pre}.post_attention_layernorm")
    gate = proj(x, hidden, intermediate, f"{pre}.mlp.gate_proj")
    up = proj(x, hidden, intermediate, f"{pre}.mlp.up_proj")
    act = g.op("Mul", [gate, g.op("Sigmoid", [gate], f"/{pre}/mlp/Sigmoid")], f"/{pre}/mlp/silu")
    down = proj(g.op("Mul", [act, up], f"/{pre}/mlp/Mul"), intermediate, hidden, f"{pre}.mlp.down_proj")
    return g.op("Add", [h, down], f"/{pre}/Add_mlp")


def llama_decoder(layers: int = 2, hidden: int = 64, heads: int = 4, kv_heads: int = 2, intermediate: int = 128,
                  vocab: int = 128, max_positions: int = 256, seed: int = 1) -> onnx.ModelProto:
    """Llama style decoder with past, grouped-query attention and RoPE (see the module docstring)."""
    d = hidden // heads
    half = d // 2
    rep = heads // kv_heads
    g = _G(seed)
    h = g.op("Gather", [g.w("embed_tokens.weight", (vocab, hidden), 0.5), "input_ids"], "/embed/Gather", axis=0)
    bias = _causal_bias(g, "attention_mask", "input_ids", "/mask")
    cos_t, sin_t = _rope_tables(max_positions, d)
    ax1 = g.c(np.array([1], np.int64), "/rope/ax1")
    cos = g.op("Unsqueeze", [g.op("Gather", [g.c(cos_t, "cos_cached"), "position_ids"], "/rope/cos", axis=0), ax1],
               "/rope/cos4")  # [B, 1, S, d/2]
    sin = g.op("Unsqueeze", [g.op("Gather", [g.c(sin_t, "sin_cached"), "position_ids"], "/rope/sin", axis=0), ax1],
               "/rope/sin4")
    split = g.c(np.array([half, half], np.int64), "/rope/split")

    def rope(x, name):
        x1, x2 = g.op("Split", [x, split], f"{name}/Split", n_out=2, axis=-1)
        a = g.op("Sub", [g.op("Mul", [x1, cos], f"{name}/x1c"), g.op("Mul", [x2, sin], f"{name}/x2s")], f"{name}/a")
        b = g.op("Add", [g.op("Mul", [x2, cos], f"{name}/x2c"), g.op("Mul", [x1, sin], f"{name}/x1s")], f"{name}/b")
        return g.op("Concat", [a, b], f"{name}/Concat", axis=-1)

    def rms(x, name):
        p = g.op("Pow", [x, g.c(np.array(2.0, np.float32), f"/{name}/two")], f"/{name}/Pow")
        m = g.op("ReduceMean", [p], f"/{name}/ReduceMean", axes=[-1], keepdims=1)
        s = g.op("Sqrt", [g.op("Add", [m, g.c(np.array(1e-6, np.float32), f"/{name}/eps")], f"/{name}/Add")],
                 f"/{name}/Sqrt")
        return g.op("Mul", [g.op("Div", [x, s], f"/{name}/Div"), g.c(np.ones(hidden, np.float32), f"{name}.weight")],
                    f"/{name}/Mul")

    def proj(x, din, dout, name):
        return g.op("MatMul", [x, g.w(f"{name}.weight", (din, dout))], f"/{name}/MatMul")

    def repeat_kv(x, name):  # [B, Nkv, T, d] -> [B, Nq, T, d]
        u = g.op("Unsqueeze", [x, g.c(np.array([2], np.int64), f"{name}/ax2")], f"{name}/Unsqueeze")
        e = g.op("Expand", [u, g.c(np.array([1, 1, rep, 1, 1], np.int64), f"{name}/rep")], f"{name}/Expand")
        return g.op("Reshape", [e, g.c(np.array([0, heads, -1, d], np.int64), f"{name}/shape")], f"{name}/Reshape")

    for i in range(layers):
        pre = f"layers.{i}"
        at = f"/{pre}/self_attn"
        x = rms(h, f"{pre}.input_layernorm")
        q = rope(_heads(g, proj(x, hidden, heads * d, f"{pre}.self_attn.q_proj"), heads, d, f"{at}/q"), f"{at}/rope_q")
        k = rope(_heads(g, proj(x, hidden, kv_heads * d, f"{pre}.self_attn.k_proj"), kv_heads, d, f"{at}/k"),
                 f"{at}/rope_k")
        v = _heads(g, proj(x, hidden, kv_heads * d, f"{pre}.self_attn.v_proj"), kv_heads, d, f"{at}/v")
        k = g.op("Concat", [f"past_key_values.{i}.key", k], f"{at}/Concat_k", axis=2, outputs=[f"present.{i}.key"])
        v = g.op("Concat", [f"past_key_values.{i}.value", v], f"{at}/Concat_v", axis=2, outputs=[f"present.{i}.value"])
        o = _attend(g, q, repeat_kv(k, f"{at}/rep_k"), repeat_kv(v, f"{at}/rep_v"), bias, d, at)
        o = proj(_merge(g, o, heads * d, f"{at}/o"), heads * d, hidden, f"{pre}.self_attn.o_proj")
        h = _residual_mlp(g, h, o, rms, proj, pre, hidden, intermediate)
    g.op("MatMul", [rms(h, "norm"), g.w("lm_head.weight", (hidden, vocab))], "/lm_head/MatMul", outputs=["logits"])
    ins, outs = _io("batch_size", "sequence_length", "past_sequence_length", "total_sequence_length", layers, kv_heads,
                    d, vocab, mask_dim="total_sequence_length",
                    kv_names=lambda i, kv: (f"past_key_values.{i}.{kv}", f"present.{i}.{kv}"))
    return g.model("llama_decoder", ins, outs,
                   f"Llama style decoder with past: {layers} layers, hidden {hidden}, {heads} query heads, "
                   f"{kv_heads} kv heads, RoPE, MLP {intermediate}, vocab {vocab}")


def gqa_decoder(layers: int = 2, hidden: int = 64, heads: int = 4, kv_heads: int = 2, intermediate: int = 128,
                vocab: int = 128, max_positions: int = 256, seed: int = 2, block_size: int = 32) -> onnx.ModelProto:
    """onnxruntime-genai style decoder: GroupQueryAttention + MatMulNBits int4 (see the module docstring)."""
    d = hidden // heads
    g = _G(seed)
    h = g.op("Gather", [g.w("embed_tokens.weight", (vocab, hidden), 0.5), "input_ids"], "/embed/Gather", axis=0)
    cos_t, sin_t = _rope_tables(max_positions, d)
    g.c(cos_t, "cos_cache")
    g.c(sin_t, "sin_cache")

    def rms(x, name):
        return g.op("SimplifiedLayerNormalization", [x, g.c(np.ones(hidden, np.float32), f"{name}.weight")],
                    f"/{name}/SimplifiedLayerNorm", axis=-1, epsilon=1e-6)

    def proj(x, din, dout, name):
        return g.op("MatMul", [x, g.w(f"{name}.weight", (din, dout))], f"/{name}/MatMul")

    for i in range(layers):
        pre = f"layers.{i}"
        at = f"/{pre}/attn"
        x = rms(h, f"{pre}.input_layernorm")
        q = proj(x, hidden, heads * d, f"{pre}.attn.q_proj")
        k = proj(x, hidden, kv_heads * d, f"{pre}.attn.k_proj")
        v = proj(x, hidden, kv_heads * d, f"{pre}.attn.v_proj")
        o = g.op("GroupQueryAttention",
                 [q, k, v, f"past_key_{i}", f"past_value_{i}", "seqlens_k", "total_sequence_length",
                  "cos_cache", "sin_cache"],
                 f"{at}/GroupQueryAttention", domain="com.microsoft",
                 outputs=[f"{at}/gqa_out", f"present_key_{i}", f"present_value_{i}"],
                 num_heads=heads, kv_num_heads=kv_heads, do_rotary=1, rotary_interleaved=0)
        o = proj(o[0], heads * d, hidden, f"{pre}.attn.o_proj")
        h = _residual_mlp(g, h, o, rms, proj, pre, hidden, intermediate)
    g.op("MatMul", [rms(h, "norm"), g.w("lm_head.weight", (hidden, vocab))], "/lm_head/MatMul", outputs=["logits"])
    ins, outs = _io("batch_size", "sequence_length", "past_sequence_length", "total_sequence_length", layers, kv_heads,
                    d, vocab, mask_dim=None, mask=False, positions=False,
                    kv_names=lambda i, kv: (f"past_{kv}_{i}", f"present_{kv}_{i}"))
    ins[1:1] = [helper.make_tensor_value_info("seqlens_k", INT32, ["batch_size"]),
                helper.make_tensor_value_info("total_sequence_length", INT32, [])]
    model = g.model("gqa_decoder", ins, outs,
                    f"onnxruntime-genai style decoder: {layers} layers, hidden {hidden}, GroupQueryAttention "
                    f"{heads}/{kv_heads} heads with rotary, MatMulNBits int4 (block {block_size}), vocab {vocab}",
                    ms=True)
    return _int4(model, block_size)


def _int4(model: onnx.ModelProto, block_size: int) -> onnx.ModelProto:
    """Every MatMul with a constant weight -> com.microsoft MatMulNBits (4 bits, symmetric)."""
    import logging

    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    log = logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer")
    level = log.level
    log.setLevel(logging.WARNING)  # one INFO line per node otherwise
    try:
        q = MatMulNBitsQuantizer(model, block_size=block_size, is_symmetric=True)
        q.process()
    finally:
        log.setLevel(level)
    out = q.model.model
    out.producer_name, out.producer_version = "onnxstat-samples", "1"
    return out


__all__ = ["gpt2_decoder", "llama_decoder", "gqa_decoder"]
