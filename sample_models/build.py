#!/usr/bin/env python3
"""Build the small sample ONNX models shipped in ``sample_models/``.

The output is deterministic: every model draws its weights from its own
``np.random.default_rng(seed)`` with a fixed seed, so running this script twice
produces byte-identical files.

Usage (from the repository root)::

    python sample_models/build.py                 # writes next to this script
    python sample_models/build.py --out /tmp/x    # writes somewhere else
    python sample_models/build.py --no-verify     # skip checker + onnxruntime run
    python sample_models/build.py --no-twins      # skip the int8 / fp16 twins

All hand-built models use opset 17 for the default domain, IR version 8 and
producer name ``onnxstat-samples``.  The precision twins of ``cnn.onnx`` and
``transformer.onnx`` (``*_int8_dynamic``, ``*_int8_qoperator``, ``*_int8_qdq``,
``*_fp16``) are made from them with onnxruntime.quantization and
onnxruntime.transformers.float16; calibration data come from a fixed seed, and
the output is byte-identical from run to run with the same onnxruntime version
(other onnxruntime versions may write different bytes).
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
PRODUCER = "onnxstat-samples"
PRODUCER_VERSION = "1"

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


class GraphBuilder:
    """Collects nodes and initializers with unique, readable names."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._counts: dict[str, int] = {}

    def _uniq(self, base: str) -> str:
        n = self._counts.get(base, 0)
        self._counts[base] = n + 1
        return f"{base}_{n}"

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def weight(self, name: str, shape, fan_in: int, gain: float = 2.0) -> str:
        std = math.sqrt(gain / fan_in)
        arr = (self.rng.standard_normal(shape) * std).astype(np.float32)
        return self.init(name, arr)

    def bias(self, name: str, n: int) -> str:
        arr = (self.rng.standard_normal(n) * 0.01).astype(np.float32)
        return self.init(name, arr)

    def const(self, value: np.ndarray, base: str = "Constant") -> str:
        """Emit a ``Constant`` node (the way exporters write small constants)."""
        out = self._uniq(base)
        self.nodes.append(
            helper.make_node(
                "Constant",
                [],
                [out],
                name=out + "_node",
                value=numpy_helper.from_array(np.asarray(value), out + "_value"),
            )
        )
        return out

    def op(self, op_type: str, inputs, n_out: int = 1, name: str | None = None, **attrs):
        name = name or self._uniq(op_type)
        outs = [f"{name}_out{i}" if n_out > 1 else f"{name}_out" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs if n_out > 1 else outs[0]


def make_model(graph: onnx.GraphProto, doc: str) -> onnx.ModelProto:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    model.model_version = 1
    return model


# --------------------------------------------------------------------------
# cnn.onnx
# --------------------------------------------------------------------------


def build_cnn() -> onnx.ModelProto:
    g = GraphBuilder(np.random.default_rng(1001))

    def conv(x, cin, cout, tag, stride=1):
        w = g.weight(f"{tag}.weight", (cout, cin, 3, 3), fan_in=cin * 9)
        b = g.bias(f"{tag}.bias", cout)
        return g.op(
            "Conv", [x, w, b], name=tag,
            kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride],
        )

    def bn(x, c, tag):
        scale = g.init(f"{tag}.weight", g.rng.uniform(0.8, 1.2, c).astype(np.float32))
        shift = g.init(f"{tag}.bias", (g.rng.standard_normal(c) * 0.05).astype(np.float32))
        mean = g.init(f"{tag}.running_mean", (g.rng.standard_normal(c) * 0.05).astype(np.float32))
        var = g.init(f"{tag}.running_var", g.rng.uniform(0.5, 1.5, c).astype(np.float32))
        return g.op("BatchNormalization", [x, scale, shift, mean, var], name=tag, epsilon=1e-5)

    x = "input"
    h = conv(x, 3, 16, "conv1")
    h = bn(h, 16, "bn1")
    h = g.op("Relu", [h], name="relu1")
    h = g.op("MaxPool", [h], name="pool1", kernel_shape=[2, 2], strides=[2, 2])

    # residual block 16 -> 16
    skip = h
    r = conv(h, 16, 16, "block.conv1")
    r = bn(r, 16, "block.bn1")
    r = g.op("Relu", [r], name="block.relu1")
    r = conv(r, 16, 16, "block.conv2")
    r = bn(r, 16, "block.bn2")
    r = g.op("Add", [r, skip], name="block.add")
    h = g.op("Relu", [r], name="block.relu2")

    h = conv(h, 16, 32, "conv2", stride=2)
    h = g.op("Relu", [h], name="relu2")
    h = g.op("GlobalAveragePool", [h], name="gap")
    h = g.op("Flatten", [h], name="flatten", axis=1)
    fw = g.weight("fc.weight", (10, 32), fan_in=32, gain=1.0)
    fb = g.bias("fc.bias", 10)
    g.nodes.append(helper.make_node("Gemm", [h, fw, fb], ["logits"], name="fc", transB=1))

    graph = helper.make_graph(
        g.nodes,
        "cnn",
        [helper.make_tensor_value_info("input", FLOAT, ["batch", 3, 64, 64])],
        [helper.make_tensor_value_info("logits", FLOAT, ["batch", 10])],
        initializer=g.inits,
    )
    return make_model(graph, "Small CNN: conv+BN+ReLU, maxpool, residual block, strided conv, GAP, Gemm.")


def to_constant_nodes(model: onnx.ModelProto, name: str) -> onnx.ModelProto:
    """Move every initializer into a ``Constant`` node at the top of the graph."""
    m = copy.deepcopy(model)
    consts = [
        helper.make_node("Constant", [], [t.name], name=t.name + "_const", value=t)
        for t in m.graph.initializer
    ]
    nodes = consts + list(m.graph.node)
    del m.graph.initializer[:]
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    m.graph.name = name
    m.doc_string = model.doc_string + " Weights stored as Constant nodes instead of initializers."
    return m


# --------------------------------------------------------------------------
# mlp.onnx
# --------------------------------------------------------------------------


def build_mlp() -> onnx.ModelProto:
    g = GraphBuilder(np.random.default_rng(1002))
    h = "x"
    dims = [784, 256, 128, 10]
    for i, (din, dout) in enumerate(zip(dims[:-1], dims[1:])):
        w = g.weight(f"fc{i + 1}.weight", (dout, din), fan_in=din)
        b = g.bias(f"fc{i + 1}.bias", dout)
        h = g.op("Gemm", [h, w, b], name=f"fc{i + 1}", transB=1)
        if i < len(dims) - 2:
            h = g.op("Relu", [h], name=f"relu{i + 1}")
    g.nodes.append(helper.make_node("Softmax", [h], ["probs"], name="softmax", axis=-1))
    graph = helper.make_graph(
        g.nodes,
        "mlp",
        [helper.make_tensor_value_info("x", FLOAT, [1, 784])],
        [helper.make_tensor_value_info("probs", FLOAT, [1, 10])],
        initializer=g.inits,
    )
    return make_model(graph, "MLP 784-256-128-10 with ReLU and Softmax.")


# --------------------------------------------------------------------------
# transformer.onnx
# --------------------------------------------------------------------------


def build_transformer() -> onnx.ModelProto:
    d_model, n_heads, head_dim, d_ff = 64, 4, 16, 256
    g = GraphBuilder(np.random.default_rng(1003))

    def i64(*v):
        return np.array(v, dtype=np.int64)

    def scalar(v):
        return np.array(v, dtype=np.int64)  # 0-d, as the exporter writes Gather indices

    def f32(v):
        return np.array(v, dtype=np.float32)

    def layer_norm(x, tag):
        s = g.init(f"{tag}.weight", g.rng.uniform(0.9, 1.1, d_model).astype(np.float32))
        b = g.init(f"{tag}.bias", (g.rng.standard_normal(d_model) * 0.02).astype(np.float32))
        return g.op("LayerNormalization", [x, s, b], name=tag, axis=-1, epsilon=1e-5)

    def linear(x, din, dout, tag):
        # torch.onnx.export writes nn.Linear on 3-D input as MatMul(x, W^T) + Add(bias)
        w = g.weight(f"{tag}.weight_t", (din, dout), fan_in=din, gain=1.0)
        b = g.bias(f"{tag}.bias", dout)
        mm = g.op("MatMul", [x, w], name=f"{tag}.MatMul")
        return g.op("Add", [b, mm], name=f"{tag}.Add")

    x = "x"
    # Shape chain shared by the reshapes: batch = Shape(x)[0], seq = Shape(x)[1]
    shp = g.op("Shape", [x], name="Shape_x")
    batch = g.op("Gather", [shp, g.const(scalar(0))], name="Gather_batch", axis=0)
    seq = g.op("Gather", [shp, g.const(scalar(1))], name="Gather_seq", axis=0)

    def split_heads_shape():
        b = g.op("Unsqueeze", [batch, g.const(i64(0))])
        s = g.op("Unsqueeze", [seq, g.const(i64(0))])
        return g.op("Concat", [b, s, g.const(i64(n_heads)), g.const(i64(head_dim))], axis=0)

    def merge_heads_shape():
        b = g.op("Unsqueeze", [batch, g.const(i64(0))])
        s = g.op("Unsqueeze", [seq, g.const(i64(0))])
        return g.op("Concat", [b, s, g.const(i64(d_model))], axis=0)

    # ---- attention sub-block (pre-norm)
    h = layer_norm(x, "ln1")
    heads = {}
    for p in ("q", "k", "v"):
        t = linear(h, d_model, d_model, f"attn.{p}_proj")
        t = g.op("Reshape", [t, split_heads_shape()], name=f"attn.{p}_reshape")
        heads[p] = g.op("Transpose", [t], name=f"attn.{p}_transpose", perm=[0, 2, 1, 3])
    k_t = g.op("Transpose", [heads["k"]], name="attn.k_transpose_T", perm=[0, 1, 3, 2])
    scores = g.op("MatMul", [heads["q"], k_t], name="attn.qk_matmul")
    scores = g.op("Div", [scores, g.const(f32(math.sqrt(head_dim)))], name="attn.scale")
    probs = g.op("Softmax", [scores], name="attn.softmax", axis=-1)
    ctx = g.op("MatMul", [probs, heads["v"]], name="attn.pv_matmul")
    ctx = g.op("Transpose", [ctx], name="attn.merge_transpose", perm=[0, 2, 1, 3])
    ctx = g.op("Reshape", [ctx, merge_heads_shape()], name="attn.merge_reshape")
    attn = linear(ctx, d_model, d_model, "attn.out_proj")
    h1 = g.op("Add", [x, attn], name="residual1")

    # ---- MLP sub-block with erf GELU
    h = layer_norm(h1, "ln2")
    h = linear(h, d_model, d_ff, "mlp.fc1")
    t = g.op("Div", [h, g.const(f32(math.sqrt(2.0)))], name="gelu.div")
    t = g.op("Erf", [t], name="gelu.erf")
    t = g.op("Add", [t, g.const(f32(1.0))], name="gelu.add")
    t = g.op("Mul", [h, t], name="gelu.mul")
    t = g.op("Mul", [t, g.const(f32(0.5))], name="gelu.half")
    t = linear(t, d_ff, d_model, "mlp.fc2")
    g.nodes.append(helper.make_node("Add", [h1, t], ["y"], name="residual2"))

    graph = helper.make_graph(
        g.nodes,
        "transformer",
        [helper.make_tensor_value_info("x", FLOAT, ["batch", "seq", d_model])],
        [helper.make_tensor_value_info("y", FLOAT, ["batch", "seq", d_model])],
        initializer=g.inits,
    )
    return make_model(
        graph,
        "One pre-norm transformer encoder block (d_model 64, 4 heads, MLP 256, erf GELU) "
        "in the layout torch.onnx.export writes.",
    )


# --------------------------------------------------------------------------
# lstm.onnx
# --------------------------------------------------------------------------


def build_lstm() -> onnx.ModelProto:
    din, hid, dout = 16, 32, 4
    g = GraphBuilder(np.random.default_rng(1004))
    w = g.weight("lstm.W", (1, 4 * hid, din), fan_in=din, gain=1.0)
    r = g.weight("lstm.R", (1, 4 * hid, hid), fan_in=hid, gain=1.0)
    b = g.init("lstm.B", (g.rng.standard_normal((1, 8 * hid)) * 0.01).astype(np.float32))
    y = g.op("LSTM", ["x", w, r, b], name="lstm", hidden_size=hid, direction="forward")
    # Y is [seq, num_directions, batch, hidden]; drop num_directions
    axes = g.init("squeeze_axes", np.array([1], dtype=np.int64))
    y = g.op("Squeeze", [y, axes], name="squeeze_dir")
    pw = g.weight("proj.weight_t", (hid, dout), fan_in=hid, gain=1.0)
    pb = g.bias("proj.bias", dout)
    y = g.op("MatMul", [y, pw], name="proj.MatMul")
    g.nodes.append(helper.make_node("Add", [y, pb], ["y"], name="proj.Add"))
    graph = helper.make_graph(
        g.nodes,
        "lstm",
        [helper.make_tensor_value_info("x", FLOAT, ["seq", 1, din])],
        [helper.make_tensor_value_info("y", FLOAT, ["seq", 1, dout])],
        initializer=g.inits,
    )
    return make_model(graph, "Forward LSTM (16 -> 32 hidden) with a 32 -> 4 projection on every step.")


# --------------------------------------------------------------------------
# writing and verification
# --------------------------------------------------------------------------


def save(model: onnx.ModelProto, path: Path) -> None:
    path.write_bytes(model.SerializeToString(deterministic=True))


def save_external(model: onnx.ModelProto, path: Path, location: str) -> None:
    data = path.parent / location
    # onnx appends to an existing data file, so start from scratch every time.
    for p in (path, data):
        if p.exists():
            p.unlink()
    onnx.save_model(
        copy.deepcopy(model),
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=location,
        size_threshold=0,
    )


def verify(path: Path) -> str:
    onnx.checker.check_model(str(path), full_check=True)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for inp in sess.get_inputs():
        shape = [d if isinstance(d, int) else 2 for d in inp.shape]
        feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    outs = sess.run(None, feeds)
    for o in outs:
        if not np.all(np.isfinite(o)):
            raise RuntimeError(f"{path.name}: non-finite output")
    ins = ", ".join(f"{k}{list(v.shape)}" for k, v in feeds.items())
    res = ", ".join(f"{o.name}{list(a.shape)}" for o, a in zip(sess.get_outputs(), outs))
    return f"{ins} -> {res}"


# --------------------------------------------------------------------------
# decoder.onnx: a small Llama-style decoder with a KV cache (for onnxstat llm)
# --------------------------------------------------------------------------


def build_decoder() -> onnx.ModelProto:
    """Llama style, 2 layers, hidden 64, 4 query / 2 kv heads of 16, RoPE, MLP 96, vocab 96
    (sample_models/decoders.py: ``llama_decoder``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from decoders import llama_decoder

    return llama_decoder(layers=2, hidden=64, heads=4, kv_heads=2, intermediate=96, vocab=96, max_positions=128, seed=1)


def verify_decoder(path: Path, prompt: int = 5, steps: int = 3) -> str:
    """Checker, then a greedy loop in onnxruntime: prefill at past 0, present fed back as past."""
    onnx.checker.check_model(str(path), full_check=True)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    past = {i.name: np.zeros((1, i.shape[1], 0, i.shape[3]), np.float32) for i in sess.get_inputs() if "past" in i.name}
    ids = np.arange(1, prompt + 1, dtype=np.int64)[None]
    n, tokens = 0, []
    for _ in range(steps):
        t = n + ids.shape[1]
        res = dict(zip(names, sess.run(None, {"input_ids": ids, "attention_mask": np.ones((1, t), np.int64),
                                              "position_ids": np.arange(n, t, dtype=np.int64)[None], **past})))
        ids = res["logits"][:, -1].argmax(-1).reshape(1, 1).astype(np.int64)
        tokens.append(int(ids[0, 0]))
        past = {k: res[k.replace("past_key_values", "present")] for k in past}
        n = t
    return f"prompt {prompt} tokens -> greedy {tokens}"


# --------------------------------------------------------------------------
# precision twins: int8 (dynamic, static QOperator, static QDQ) and fp16
# --------------------------------------------------------------------------

#: fp32 model -> (input name, calibration shape, calibration seed).  The transformer
#: has symbolic dims (batch, seq); it is calibrated at batch 1, seq 8 and keeps its
#: symbolic dims in the quantised files.
TWIN_SOURCES = {
    "cnn": ("input", (1, 3, 64, 64), 2001),
    "transformer": ("x", (1, 8, 64), 2003),
}
#: twin suffix -> how it is made
TWIN_KINDS = ("int8_dynamic", "int8_qoperator", "int8_qdq", "fp16")
CALIBRATION_SAMPLES = 8


def calibration_reader(input_name: str, shape, seed: int, n: int = CALIBRATION_SAMPLES):
    """A CalibrationDataReader giving ``n`` standard-normal float32 batches from a fixed seed."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(seed)
            self._batches = [{input_name: rng.standard_normal(shape).astype(np.float32)} for _ in range(n)]
            self._it = iter(self._batches)

        def get_next(self):
            return next(self._it, None)

        def rewind(self):
            self._it = iter(self._batches)

    return Reader()


def topo_sort(model: onnx.ModelProto) -> onnx.ModelProto:
    """Reorder the main graph's nodes topologically (stable: keeps file order where free).

    onnxruntime.transformers.float16 appends the input Cast nodes at the end of the
    graph; onnxruntime accepts that, onnx.checker and onnx shape inference do not.
    """
    m = copy.deepcopy(model)
    nodes = list(m.graph.node)
    available = {i.name for i in m.graph.input} | {t.name for t in m.graph.initializer} | {""}
    done = [False] * len(nodes)
    order = []
    while len(order) < len(nodes):
        progressed = False
        for i, n in enumerate(nodes):
            if not done[i] and all(x in available for x in n.input):
                done[i] = True
                order.append(n)
                available.update(n.output)
                progressed = True
                break  # restart from the top: earliest ready node first
        if not progressed:
            raise RuntimeError(f"{m.graph.name}: graph has a cycle or a dangling input")
    del m.graph.node[:]
    m.graph.node.extend(order)
    return m


def quantize_twin(fp32: onnx.ModelProto, kind: str, input_name: str, calib_shape, seed: int) -> onnx.ModelProto:
    """An int8 twin made with onnxruntime.quantization (per-tensor, int8 weights).

    The fp32 model first goes through ``quant_pre_process`` (symbolic shape inference
    and onnxruntime's graph optimisation, which folds BatchNormalization into the
    preceding Conv), as onnxruntime's quantisation guide recommends.

    * ``int8_dynamic``: quantize_dynamic -- ConvInteger / MatMulInteger with int8
      weights, activations quantised to uint8 at run time by DynamicQuantizeLinear;
      biases stay float32 (added after the integer op).
    * ``int8_qoperator``: quantize_static, QuantFormat.QOperator -- QLinearConv,
      QLinearMatMul, QGemm and com.microsoft QLinear* ops, uint8 activations, int8
      weights, biases int32.
    * ``int8_qdq``: quantize_static, QuantFormat.QDQ -- the float ops wrapped in
      QuantizeLinear/DequantizeLinear pairs, int8 activations and weights, biases
      int32 (DequantizeLinear of an int32 initializer).
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "fp32.onnx")
        pre = os.path.join(tmp, "pre.onnx")
        dst = os.path.join(tmp, "int8.onnx")
        save(fp32, Path(src))
        quant_pre_process(src, pre)
        if kind == "int8_dynamic":
            quantize_dynamic(pre, dst, weight_type=QuantType.QInt8, per_channel=False)
        elif kind in ("int8_qoperator", "int8_qdq"):
            # QOperator with int8 activations is slow on x64 (onnxruntime warns), so
            # it uses uint8 activations (U8S8); QDQ uses int8 activations (S8S8).
            qop = kind == "int8_qoperator"
            quantize_static(
                pre, dst, calibration_reader(input_name, calib_shape, seed),
                quant_format=QuantFormat.QOperator if qop else QuantFormat.QDQ, per_channel=False,
                activation_type=QuantType.QUInt8 if qop else QuantType.QInt8, weight_type=QuantType.QInt8,
            )
        else:  # pragma: no cover - programming error
            raise ValueError(kind)
        return onnx.load(dst)


def fp16_twin(fp32: onnx.ModelProto) -> onnx.ModelProto:
    """fp16 twin: onnxruntime.transformers.float16 with float32 inputs/outputs (Cast nodes)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    m = convert_float_to_float16(copy.deepcopy(fp32), keep_io_types=True)
    m = topo_sort(m)
    m.doc_string = fp32.doc_string + " float16 weights and compute; float32 input/output through Cast nodes."
    return m


def build_twins(sources: dict[str, onnx.ModelProto]) -> list[tuple[str, onnx.ModelProto]]:
    """All precision twins, in a fixed order: (file name, model)."""
    import logging
    import warnings

    out = []
    for base, (input_name, calib_shape, seed) in TWIN_SOURCES.items():
        fp32 = sources[base]
        for kind in TWIN_KINDS:
            # onnxruntime.quantization logs every int64 shape tensor it skips
            logging.disable(logging.WARNING)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if kind == "fp16":
                        m = fp16_twin(fp32)
                    else:
                        m = quantize_twin(fp32, kind, input_name, calib_shape, seed)
            finally:
                logging.disable(logging.NOTSET)
            m.graph.name = f"{base}_{kind}"
            out.append((f"{base}_{kind}.onnx", m))
    return out


def verify_twin(path: Path, ref: Path) -> str:
    """Run twin and fp32 reference on the same random input; report the largest deviation."""
    import onnxruntime as ort

    if "qoperator" not in path.name:  # com.microsoft QLinear* schemas are unknown to onnx
        onnx.checker.check_model(str(path), full_check=True)
    else:
        onnx.checker.check_model(str(path))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    twin = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    base = ort.InferenceSession(str(ref), so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for inp in base.get_inputs():
        shape = [d if isinstance(d, int) else 2 for d in inp.shape]
        feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    a = twin.run(None, feeds)[0]
    b = base.run(None, feeds)[0]
    if a.shape != b.shape or not np.all(np.isfinite(a)):
        raise RuntimeError(f"{path.name}: output {a.shape} differs from {ref.name} {b.shape} or is not finite")
    err = float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))
    return f"max |twin - fp32| / max |fp32| = {err:.3g}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                    help="output directory (default: this script's folder)")
    ap.add_argument("--no-verify", action="store_true",
                    help="skip onnx.checker full_check and the onnxruntime run")
    ap.add_argument("--no-twins", action="store_true",
                    help="skip the int8/fp16 twins (they need onnxruntime.quantization)")
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    cnn = build_cnn()
    written = []
    for fname, model in (
        ("cnn.onnx", cnn),
        ("mlp.onnx", build_mlp()),
        ("transformer.onnx", build_transformer()),
        ("lstm.onnx", build_lstm()),
        ("cnn_constants.onnx", to_constant_nodes(cnn, "cnn_constants")),
    ):
        save(model, out / fname)
        written.append(out / fname)

    ext = copy.deepcopy(cnn)
    ext.graph.name = "cnn_external"
    save_external(ext, out / "cnn_external.onnx", "cnn_external.onnx.data")
    written.append(out / "cnn_external.onnx")

    for p in written:
        info = "" if args.no_verify else "  ok: " + verify(p)
        print(f"{p.name:<22} {p.stat().st_size:>9} B{info}")
    data = out / "cnn_external.onnx.data"
    print(f"{data.name:<22} {data.stat().st_size:>9} B")
    p = out / "decoder.onnx"
    save(build_decoder(), p)
    info = "" if args.no_verify else "  ok: " + verify_decoder(p)
    print(f"{p.name:<22} {p.stat().st_size:>9} B{info}")

    if args.no_twins:
        return 0
    sources = {"cnn": cnn, "transformer": build_transformer()}
    for fname, model in build_twins(sources):
        p = out / fname
        save(model, p)
        ref = out / (fname.split("_")[0] + ".onnx")
        info = "" if args.no_verify else "  ok: " + verify_twin(p, ref)
        print(f"{p.name:<32} {p.stat().st_size:>9} B{info}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
