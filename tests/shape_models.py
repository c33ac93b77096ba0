"""Models for the shape-pass tests (issue 14), built with onnx.helper and numpy only.

Every builder returns an in-memory ``onnx.ModelProto`` with real weight data (small
random values), so onnxruntime can run it: the differential test in
``test_shape_pass.py`` compares onnxstat's static shapes with the shapes onnxruntime
observes.  The expected costs are written next to each test, computed by hand.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
I64 = TensorProto.INT64
BOOL = TensorProto.BOOL
MS = "com.microsoft"
INT64_MAX = 9223372036854775807


class G:
    """A tiny graph builder: nodes, initializers and named constants."""

    def __init__(self, name: str, seed: int = 0):
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.rng = np.random.default_rng(seed)
        self._n = 0

    def _uid(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def op(self, op_type, inputs, n_out=1, domain="", name=None, outputs=None, **attrs):
        name = name or self._uid(op_type)
        outs = outputs or ([f"{name}_out"] if n_out == 1 else [f"{name}_out{i}" for i in range(n_out)])
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, domain=domain, **attrs))
        return outs[0] if len(outs) == 1 else outs

    def weight(self, name, shape, scale=0.02):
        arr = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def init(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def const(self, value, dtype=np.int64, name=None):
        """A Constant node (0-d literals and int64 shape operands are not params)."""
        name = name or self._uid("Constant")
        arr = np.asarray(value, dtype=dtype)
        self.nodes.append(helper.make_node("Constant", [], [f"{name}_out"], name=name,
                                           value=numpy_helper.from_array(arr, name + "_value")))
        return f"{name}_out"

    def dim(self, x, i):
        """Shape(x)[i] as a 0-d int64, the way torch.onnx exports ``x.size(i)``."""
        s = self.op("Shape", [x])
        return self.op("Gather", [s, self.const(i)], axis=0)

    def unsq(self, x):
        return self.op("Unsqueeze", [x, self.const([0])])

    def cat(self, parts):
        return self.op("Concat", parts, axis=0)

    def model(self, inputs, outputs, opset=17, domains=(MS,)):
        graph = helper.make_graph(self.nodes, self.name, inputs, outputs, self.inits)
        ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
        m = helper.make_model(graph, opset_imports=ops, producer_name="onnxstat-tests")
        m.ir_version = 8
        return m


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


# --------------------------------------------------------------------------- 1. contrib chain


def contrib_chain(depth: int = 200, width: int = 64) -> onnx.ModelProto:
    """``depth`` x (MatMul [1,w]x[w,w] + com.microsoft BiasGelu with a [w] bias)."""
    g = G("contrib_chain")
    x = "x"
    for i in range(depth):
        y = g.op("MatMul", [x, g.weight(f"w{i}", (width, width), 0.1)], name=f"MatMul_{i}")
        x = g.op("BiasGelu", [y, g.weight(f"b{i}", (width,))], domain=MS, name=f"BiasGelu_{i}",
                 outputs=["y"] if i == depth - 1 else None)
    return g.model([vi("x", F, [1, width])], [vi("y", F, None)])


# --------------------------------------------------------------------------- 2. BERT


def bert(layers: int = 12, hidden: int = 64, heads: int = 4, seq: int | str = "seq",
         vocab: int = 100, max_pos: int = 512, inter: int | None = None,
         two_unsqueezes: bool = False) -> onnx.ModelProto:
    """A BERT encoder in the form torch.onnx exports HF BertModel (opset 17).

    Embeddings: Gather(word, input_ids) + Gather(position, Range(seq)) + Gather(type,
    token_type_ids), LayerNormalization.  Mask: Unsqueeze, Cast, (1 - m) * -10000.
    ``two_unsqueezes``: the mask is unsqueezed by two nodes (axis 1, then 2), the form
    older exports write and onnxruntime's Attention fusion matches.
    Per layer: Q/K/V MatMul + Add, heads split by Reshape [0,0,h,d] + Transpose, Q·Kᵀ,
    Div √d, Add mask, Softmax, ·V, Transpose + Reshape [0,0,H], output MatMul + Add,
    residual Add + LayerNormalization, FFN MatMul + Add, Gelu as x·0.5·(1+erf(x/√2)),
    MatMul + Add, residual Add + LayerNormalization.  Output "last_hidden_state".
    """
    inter = inter or 4 * hidden
    d = hidden // heads
    g = G("bert")

    def ln(x, p):
        return g.op("LayerNormalization", [x, g.init(f"{p}.weight", np.ones(hidden, np.float32)),
                                           g.init(f"{p}.bias", np.zeros(hidden, np.float32))],
                    axis=-1, epsilon=1e-12)

    def linear(x, din, dout, p):
        y = g.op("MatMul", [x, g.weight(f"{p}.weight", (din, dout))])
        return g.op("Add", [g.weight(f"{p}.bias", (dout,)), y])

    # embeddings
    n = g.dim("input_ids", 1)
    pos = g.op("Range", [g.const(0), n, g.const(1)])
    pos = g.op("Unsqueeze", [pos, g.const([0])])
    we = g.op("Gather", [g.weight("embeddings.word_embeddings.weight", (vocab, hidden)), "input_ids"], axis=0)
    te = g.op("Gather", [g.weight("embeddings.token_type_embeddings.weight", (2, hidden)), "token_type_ids"], axis=0)
    e = g.op("Add", [we, te])
    pe = g.op("Gather", [g.weight("embeddings.position_embeddings.weight", (max_pos, hidden)), pos], axis=0)
    e = g.op("Add", [e, pe])
    h = ln(e, "embeddings.LayerNorm")
    # extended attention mask
    if two_unsqueezes:
        m = g.op("Unsqueeze", [g.op("Unsqueeze", ["attention_mask", g.const([1])]), g.const([2])])
    else:
        m = g.op("Unsqueeze", ["attention_mask", g.const([1, 2])])
    m = g.op("Cast", [m], to=F)
    m = g.op("Sub", [g.const(1.0, np.float32), m])
    mask = g.op("Mul", [m, g.const(-10000.0, np.float32)])
    split = g.const([0, 0, heads, d])
    merge = g.const([0, 0, hidden])
    for i in range(layers):
        p = f"encoder.layer.{i}"
        q = linear(h, hidden, hidden, f"{p}.attention.self.query")
        k = linear(h, hidden, hidden, f"{p}.attention.self.key")
        v = linear(h, hidden, hidden, f"{p}.attention.self.value")
        q = g.op("Transpose", [g.op("Reshape", [q, split])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [k, split])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [v, split])], perm=[0, 2, 1, 3])
        s = g.op("MatMul", [q, k])
        s = g.op("Div", [s, g.const(math.sqrt(d), np.float32)])
        s = g.op("Add", [s, mask])
        s = g.op("Softmax", [s], axis=-1)
        c = g.op("MatMul", [s, v])
        c = g.op("Transpose", [c], perm=[0, 2, 1, 3])
        c = g.op("Reshape", [c, merge])
        a = linear(c, hidden, hidden, f"{p}.attention.output.dense")
        h = ln(g.op("Add", [a, h]), f"{p}.attention.output.LayerNorm")
        f = linear(h, hidden, inter, f"{p}.intermediate.dense")
        t = g.op("Div", [f, g.const(1.4142135381698608, np.float32)])
        t = g.op("Erf", [t])
        t = g.op("Add", [t, g.const(1.0, np.float32)])
        t = g.op("Mul", [f, t])
        t = g.op("Mul", [t, g.const(0.5, np.float32)])
        o = linear(t, inter, hidden, f"{p}.output.dense")
        h = ln(g.op("Add", [o, h]), f"{p}.output.LayerNorm")
    g.nodes.append(helper.make_node("Identity", [h], ["last_hidden_state"], name="output"))
    ins = [vi("input_ids", I64, [1, seq]), vi("attention_mask", I64, [1, seq]),
           vi("token_type_ids", I64, [1, seq])]
    m = g.model(ins, [vi("last_hidden_state", F, [1, seq, hidden])], domains=())
    m.producer_name = "pytorch"  # the form torch.onnx writes; the optimizer checks it
    return m


# --------------------------------------------------------------------------- 3. Swin shifted window


def swin_shifted_window(C: int = 96, heads: int = 3, ws: int = 7, shift: int = 3, blocks: int = 1) -> onnx.ModelProto:
    """torchvision's ``shifted_window_attention`` as torch.onnx exports it, input
    "x" [B, H, W, C] with H and W symbolic ("h", "w").

    pad_b = (ws - H % ws) % ws (Mod), Pad, roll by -shift via Slice + Concat,
    window partition Reshape [B, pH/ws, ws, pW/ws, ws, C] + Transpose + Reshape
    [B·nW, ws², C] with every size computed by Shape -> Gather -> Div chains, qkv
    MatMul, Reshape/Transpose into heads, q·kᵀ, relative position bias (Gather from a
    [(2ws-1)², heads] table), attention mask built on ConstantOfShape([pH, pW]) with
    ScatterND slice assignment (rows/cols from Range + Slice with negative bounds),
    window view, Sub of unsqueezes, Where(!= 0, -100, 0), Softmax, ·v, proj MatMul,
    window reverse, roll back, crop [:, :H, :W].
    """
    g = G("swin_shifted_window")
    x = "x"
    for i in range(blocks):
        x = _swin_block(g, x, C, heads, ws, shift, output="y" if i == blocks - 1 else None)
    return g.model([vi("x", F, ["batch", "h", "w", C])], [vi("y", F, None)], domains=())


def _swin_block(g: G, x: str, C: int, heads: int, ws: int, shift: int, output=None) -> str:
    """One shifted-window attention block on x [B, H, W, C]; returns [B, H, W, C]."""
    hd = C // heads
    c = g.const
    blk = g._uid("blk")
    B, H, W = g.dim(x, 0), g.dim(x, 1), g.dim(x, 2)
    wsc = c(ws)

    def pad_of(n):  # (ws - n % ws) % ws
        return g.op("Mod", [g.op("Sub", [wsc, g.op("Mod", [n, wsc])]), wsc])

    pad_b, pad_r = pad_of(H), pad_of(W)
    zero = c([0])
    pads = g.cat([zero, zero, zero, zero, zero, g.unsq(pad_b), g.unsq(pad_r), zero])
    x = g.op("Pad", [x, pads])
    pH, pW = g.dim(x, 1), g.dim(x, 2)

    def roll(t, s, axis):  # torch.roll(t, s, axis) = cat(t[-s:], t[:-s]) along axis
        big = c([INT64_MAX])
        a = g.op("Slice", [t, c([-s]), big, c([axis])])
        b = g.op("Slice", [t, c([0]), c([-s]), c([axis])])
        return g.op("Concat", [a, b], axis=axis)

    x = roll(roll(x, -shift, 1), -shift, 2)
    nH, nW_ = g.op("Div", [pH, wsc]), g.op("Div", [pW, wsc])
    nwin = g.op("Mul", [nH, nW_])
    x = g.op("Reshape", [x, g.cat([g.unsq(B), g.unsq(nH), c([ws]), g.unsq(nW_), c([ws, C])])])
    x = g.op("Transpose", [x], perm=[0, 1, 3, 2, 4, 5])
    x = g.op("Reshape", [x, g.cat([g.unsq(g.op("Mul", [B, nwin])), c([ws * ws, C])])])
    N0, N1 = g.dim(x, 0), g.dim(x, 1)
    qkv = g.op("Add", [g.op("MatMul", [x, g.weight(f"{blk}.qkv.weight", (C, 3 * C))]),
                       g.weight(f"{blk}.qkv.bias", (3 * C,))])
    qkv = g.op("Reshape", [qkv, g.cat([g.unsq(N0), g.unsq(N1), c([3, heads, hd])])])
    qkv = g.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])
    q = g.op("Gather", [qkv, c(0)], axis=0)
    k = g.op("Gather", [qkv, c(1)], axis=0)
    v = g.op("Gather", [qkv, c(2)], axis=0)
    q = g.op("Mul", [q, g.const(hd ** -0.5, np.float32)])
    attn = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
    # relative position bias: table[(2ws-1)^2, heads] gathered by a constant index
    coords = np.stack(np.meshgrid(np.arange(ws), np.arange(ws), indexing="ij")).reshape(2, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0) + (ws - 1)
    index = (rel[:, :, 0] * (2 * ws - 1) + rel[:, :, 1]).reshape(-1)
    bias = g.op("Gather", [g.weight(f"{blk}.relative_position_bias_table", ((2 * ws - 1) ** 2, heads)),
                           c(index)], axis=0)
    bias = g.op("Reshape", [bias, c([ws * ws, ws * ws, -1])])
    bias = g.op("Unsqueeze", [g.op("Transpose", [bias], perm=[2, 0, 1]), c([0])])
    attn = g.op("Add", [attn, bias])
    # attention mask: zeros([pH, pW]) with 9 regions assigned 0..8
    mask = g.op("ConstantOfShape", [g.cat([g.unsq(pH), g.unsq(pW)])],
                value=numpy_helper.from_array(np.zeros(1, np.float32)))
    rows, cols = g.op("Range", [c(0), pH, c(1)]), g.op("Range", [c(0), pW, c(1)])
    bounds = [(0, -ws), (-ws, -shift), (-shift, INT64_MAX)]
    count = 0
    for h0, h1 in bounds:
        r = g.op("Slice", [rows, c([h0]), c([h1])])
        for w0, w1 in bounds:
            cc = g.op("Slice", [cols, c([w0]), c([w1])])
            # indices [len_r, len_c, 2]: expand rows and cols against each other
            shp = g.cat([g.op("Shape", [r]), g.op("Shape", [cc])])
            ri = g.op("Expand", [g.op("Unsqueeze", [r, c([1])]), shp])
            ci = g.op("Expand", [g.op("Unsqueeze", [cc, c([0])]), shp])
            idx = g.op("Concat", [g.op("Unsqueeze", [ri, c([2])]), g.op("Unsqueeze", [ci, c([2])])], axis=2)
            upd = g.op("Expand", [g.const(float(count), np.float32), shp])
            mask = g.op("ScatterND", [mask, idx, upd])
            count += 1
    mask = g.op("Reshape", [mask, g.cat([g.unsq(nH), c([ws]), g.unsq(nW_), c([ws])])])
    mask = g.op("Transpose", [mask], perm=[0, 2, 1, 3])
    mask = g.op("Reshape", [mask, g.cat([g.unsq(nwin), c([ws * ws])])])
    mask = g.op("Sub", [g.op("Unsqueeze", [mask, c([1])]), g.op("Unsqueeze", [mask, c([2])])])
    nz = g.op("Not", [g.op("Equal", [mask, g.const(0.0, np.float32)])])
    mask = g.op("Where", [nz, g.const(-100.0, np.float32), g.const(0.0, np.float32)])
    attn = g.op("Reshape", [attn, g.cat([g.unsq(g.op("Div", [N0, nwin])), g.unsq(nwin), c([heads]),
                                         g.unsq(N1), g.unsq(N1)])])
    attn = g.op("Add", [attn, g.op("Unsqueeze", [mask, c([0, 2])])])
    attn = g.op("Reshape", [attn, g.cat([c([-1, heads]), g.unsq(N1), g.unsq(N1)])])
    attn = g.op("Softmax", [attn], axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [attn, v])], perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.cat([g.unsq(N0), g.unsq(N1), c([C])])])
    o = g.op("Add", [g.op("MatMul", [o, g.weight(f"{blk}.proj.weight", (C, C))]), g.weight(f"{blk}.proj.bias", (C,))])
    o = g.op("Reshape", [o, g.cat([g.unsq(B), g.unsq(nH), g.unsq(nW_), c([ws, ws, C])])])
    o = g.op("Transpose", [o], perm=[0, 1, 3, 2, 4, 5])
    o = g.op("Reshape", [o, g.cat([g.unsq(B), g.unsq(pH), g.unsq(pW), c([C])])])

    o = roll(roll(o, shift, 1), shift, 2)
    o = g.op("Slice", [o, c([0, 0]), g.cat([g.unsq(H), g.unsq(W)]), c([1, 2])],
             outputs=[output] if output else None)
    return o


# --------------------------------------------------------------------------- 4. counter Loops


def counter_loop(limit: int = 500, *, early_stop: bool = True, m: str = "max",
                 n_carried: bool = True) -> onnx.ModelProto:
    """A Paddle-style decoder Loop: ``i = i + 1; cond = i < limit + 1`` (501 runs).

    Main graph: "enc" [1, 256, 96] input; h0 = ReduceMean(enc, axis 1) [1, 96];
    N = Add(limit, 1) (0-d); cond0 = Less(0, N).  The Loop carries (i, N?, W, h): W
    [96, 256] is an initializer handed in as a loop-carried value and passed through.
    Body: a = MatMul(enc (outer), W) [1,256,256]; s = ReduceMean(a, axis 1) [1,256];
    h' = h + MatMul(s, W2 (outer initializer [256, 96])) [1,96]; i' = i + 1;
    cond = Less(i', N) [And ReduceMax(h') < 1e30 when ``early_stop``, data-dependent].
    Scan output: s per iteration, [trip, 1, 256] (only without ``early_stop``).
    ``m``: "max" (M = INT64_MAX), "absent" or an int bound; ``n_carried``: N is a carried
    pass-through (else the body reads it from the outer scope).
    """
    g = G("counter_loop")
    c = g.const
    W = g.weight("W", (96, 256), 0.05)
    W2 = g.weight("W2", (256, 96), 0.05)
    h0 = g.op("ReduceMean", ["enc"], axes=[1], keepdims=0)
    N = g.op("Add", [c(limit), c(1)], outputs=["N"])
    i0 = c(0)
    cond0 = g.op("Less", [i0, N])
    # body
    b = G("body")
    b._n = 1000
    bin_ = [vi("it", I64, []), vi("cond_in", BOOL, []), vi("i", I64, [])]
    if n_carried:
        bin_.append(vi("N_in", I64, []))
    bin_ += [vi("W_in", F, [96, 256]), vi("h", F, [1, 96])]
    n_ref = "N_in" if n_carried else "N"
    a = b.op("MatMul", ["enc", "W_in"], name="body_MatMul_enc")
    s = b.op("ReduceMean", [a], axes=[1], keepdims=0, name="body_ReduceMean")
    h1 = b.op("Add", ["h", b.op("MatMul", [s, W2], name="body_MatMul_h")], outputs=["h_out"])
    i1 = b.op("Add", ["i", b.const(1)], outputs=["i_out"])
    cond = b.op("Less", [i1, n_ref])
    if early_stop:
        go_on = b.op("Less", [b.op("ReduceMax", [h1], keepdims=0), b.const(1e30, np.float32)])
        cond = b.op("And", [cond, go_on])
    b.nodes.append(helper.make_node("Identity", [cond], ["cond_out"]))
    bout = [vi("cond_out", BOOL, []), vi("i_out", I64, [])]
    if n_carried:
        bout.append(vi("N_in", I64, []))
    bout += [vi("W_in", F, [96, 256]), vi("h_out", F, [1, 96])]
    if not early_stop:
        b.nodes.append(helper.make_node("Identity", [s], ["s_scan"]))
        bout.append(vi("s_scan", F, [1, 256]))
    body = helper.make_graph(b.nodes, "body", bin_, bout)
    M = c(INT64_MAX) if m == "max" else "" if m == "absent" else c(int(m))
    ins = [M, cond0, i0] + ([N] if n_carried else []) + [W, h0]
    outs = ["i_final"] + (["N_final"] if n_carried else []) + ["W_final", "h_final"]
    if not early_stop:
        outs.append("s_all")
    g.nodes.append(helper.make_node("Loop", ins, outs, name="Loop_decoder", body=body))
    y = g.op("Mul", ["h_final", c(2.0, np.float32)], outputs=["y"])
    gouts = [vi(y, F, None), vi("i_final", I64, None)]
    if not early_stop:
        gouts.append(vi("s_all", F, None))
    return g.model([vi("enc", F, [1, 256, 96])], gouts, domains=())


# --------------------------------------------------------------------------- 5. decoder step


def decoder_step(hidden: int = 64, heads: int = 4, max_pos: int = 256) -> onnx.ModelProto:
    """One GPT-2-like attention block with a KV cache.

    Inputs "x" [1, seq, 64], "past_key" / "past_value" [1, 4, past, 16].  Q/K/V MatMul
    + Add, heads split; K = Concat(past_key, k, axis 2), V likewise (present_* outputs);
    causal mask Slice(bias[1,1,256,256], [total-seq, 0] : [total, total]) with total =
    Shape(K)[2]; scores q·Kᵀ / 4, Where(mask, s, -1e4), Softmax, ·V, merge, proj MatMul.
    """
    d = hidden // heads
    g = G("decoder_step")
    c = g.const

    def linear(x, p):
        return g.op("Add", [g.op("MatMul", [x, g.weight(f"{p}.weight", (hidden, hidden))]),
                            g.weight(f"{p}.bias", (hidden,))])

    split = c([0, 0, heads, d])
    q = g.op("Transpose", [g.op("Reshape", [linear("x", "q"), split])], perm=[0, 2, 1, 3])
    k = g.op("Transpose", [g.op("Reshape", [linear("x", "k"), split])], perm=[0, 2, 1, 3])
    v = g.op("Transpose", [g.op("Reshape", [linear("x", "v"), split])], perm=[0, 2, 1, 3])
    K = g.op("Concat", ["past_key", k], axis=2, outputs=["present_key"])
    V = g.op("Concat", ["past_value", v], axis=2, outputs=["present_value"])
    s = g.op("MatMul", [q, g.op("Transpose", [K], perm=[0, 1, 3, 2])])
    s = g.op("Div", [s, g.const(math.sqrt(d), np.float32)])
    total = g.dim(K, 2)
    seq = g.dim(q, 2)
    tri = np.tril(np.ones((max_pos, max_pos), dtype=bool)).reshape(1, 1, max_pos, max_pos)
    bias = g.init("causal_bias", tri)
    start = g.unsq(g.op("Sub", [total, seq]))
    mask = g.op("Slice", [bias, g.cat([start, c([0])]), g.cat([g.unsq(total), g.unsq(total)]), c([2, 3])])
    s = g.op("Where", [mask, s, g.const(-1e4, np.float32)])
    p = g.op("Softmax", [s], axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [p, V])], perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, c([0, 0, hidden])])
    o = g.op("Add", [g.op("MatMul", [o, g.weight("o.weight", (hidden, hidden))]), g.weight("o.bias", (hidden,))],
             outputs=["y"])
    ins = [vi("x", F, [1, "seq", hidden]), vi("past_key", F, [1, heads, "past", d]),
           vi("past_value", F, [1, heads, "past", d])]
    outs = [vi("y", F, None), vi("present_key", F, None), vi("present_value", F, None)]
    return g.model(ins, outs, domains=())


# --------------------------------------------------------------------------- 6. ViT pos-embed resize


def vit_pos_resize(grid: int = 37, dim: int = 384, patch: int = 14) -> onnx.ModelProto:
    """DINOv2-style ``interpolate_pos_encoding``: pos_embed [1, 1 + grid², dim];
    M = int(sqrt(N)) with N = pos_embed.shape[1] - 1 computed at run time (Shape ->
    Gather -> Sub -> Cast float -> Sqrt -> Cast int64 -> Concat -> Reshape) gives
    "grid" [1, grid, grid, dim]; then Transpose, bicubic Resize to (H/patch, W/patch)
    of the input image "pixel_values" [1, 3, H, W], back to tokens [1, h·w, dim] and a
    MatMul with "head" [dim, 10].
    """
    g = G("vit_pos_resize")
    c = g.const
    pos = g.weight("pos_embed", (1, 1 + grid * grid, dim))
    patches = g.op("Slice", [pos, c([1]), c([INT64_MAX]), c([1])])
    n = g.dim(patches, 1)
    m = g.op("Cast", [g.op("Sqrt", [g.op("Cast", [n], to=F)])], to=I64)
    grid_t = g.op("Reshape", [patches, g.cat([c([1]), g.unsq(m), g.unsq(m), c([dim])])], outputs=["grid"])
    t = g.op("Transpose", [grid_t], perm=[0, 3, 1, 2])
    h = g.op("Div", [g.dim("pixel_values", 2), c(patch)])
    w = g.op("Div", [g.dim("pixel_values", 3), c(patch)])
    sizes = g.cat([c([1, dim]), g.unsq(h), g.unsq(w)])
    r = g.op("Resize", [t, "", "", sizes], mode="cubic")
    r = g.op("Transpose", [r], perm=[0, 2, 3, 1])
    r = g.op("Reshape", [r, c([1, -1, dim])])
    g.op("MatMul", [r, g.weight("head", (dim, 10))], outputs=["y"])
    return g.model([vi("pixel_values", F, [1, 3, "H", "W"])], [vi("y", F, None)], domains=())


def vit_token_grid(dim: int = 384, patch: int = 14) -> onnx.ModelProto:
    """The grid size taken from the tokens at run time: "pixel_values" [1, 3, H, W] ->
    Conv patch embedding (patch x patch, stride patch) -> Reshape [1, dim, -1] ->
    Transpose -> Concat cls token -> tokens [1, 1 + n, dim]; N = Shape(tokens)[1] - 1,
    M = int(sqrt(float(N))) (Cast, Sqrt, Cast), Slice tokens[:, 1:] and Reshape to
    "grid" [1, M, M, dim]; then a LayerNormalization-free head: MatMul with [dim, 10].
    """
    g = G("vit_token_grid")
    c = g.const
    x = g.op("Conv", ["pixel_values", g.weight("patch.weight", (dim, 3, patch, patch)),
                      g.weight("patch.bias", (dim,))], kernel_shape=[patch, patch], strides=[patch, patch])
    x = g.op("Transpose", [g.op("Reshape", [x, c([1, dim, -1])])], perm=[0, 2, 1])
    t = g.op("Concat", [g.weight("cls_token", (1, 1, dim)), x], axis=1)
    n = g.op("Sub", [g.dim(t, 1), c(1)])
    m = g.op("Cast", [g.op("Sqrt", [g.op("Cast", [n], to=F)])], to=I64)
    p = g.op("Slice", [t, c([1]), c([INT64_MAX]), c([1])])
    grid_t = g.op("Reshape", [p, g.cat([c([1]), g.unsq(m), g.unsq(m), c([dim])])], outputs=["grid"])
    g.op("MatMul", [grid_t, g.weight("head", (dim, 10))], outputs=["y"])
    return g.model([vi("pixel_values", F, [1, 3, "H", "W"])], [vi("y", F, None)], domains=())
