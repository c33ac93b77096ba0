"""Reference architectures for tests, built with onnx.helper only (no torch).

Every weight of ``alexnet``, ``resnet50`` and ``transformer_decoder`` is an
initializer whose data lives in an external file that does NOT exist
(``data_location = EXTERNAL``; ``location = "<name>.weights.bin"`` with offset
and length filled in; dims and data_type set; no data). The models are
therefore a few kB in memory and on disk, but every tool that reads shapes,
dtypes and sizes sees the real architecture.

onnx >= 1.16's checker insists that an external ``location`` is a regular
file, even without ``full_check``; use :func:`check_model` here, which checks
the model from a temporary directory holding empty placeholder files.

Known costs below are independent figures (not computed from these graphs);
tests compare onnxstat's results against them.
"""

from __future__ import annotations

import math
import os
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
PRODUCER = "onnxstat-tests-zoo"

# ---------------------------------------------------------------------------
# Known figures (batch 1, 3x224x224 input unless stated)
# ---------------------------------------------------------------------------

# torchvision.models.alexnet: Conv + Linear multiply-accumulates, as reported
# by thop / ptflops for Conv2d+Linear layers (torchvision docs: 0.71 GFLOPS).
# Per layer (out_h*out_w*c_out*c_in*k*k, or in*out for Linear):
#   conv1 55*55*64*3*11*11      =  70,276,800
#   conv2 27*27*192*64*5*5      = 223,948,800
#   conv3 13*13*384*192*3*3     = 112,140,288
#   conv4 13*13*256*384*3*3     = 149,520,384
#   conv5 13*13*256*256*3*3     =  99,680,256
#   fc6 9216*4096 + fc7 4096*4096 + fc8 4096*1000 = 58,621,952
# Bias additions are not counted. Batch 2 doubles it exactly.
ALEXNET_224_CONV_GEMM_MACS = 714_188_480

# torchvision docs, AlexNet_Weights.IMAGENET1K_V1: num_params 61,100,840.
# Independent of input size (the classifier always sees 256x6x6).
ALEXNET_PARAMS = 61_100_840

# torchvision.models.resnet50 Conv2d+Linear MACs as reported by thop
# (torchvision docs: 4.09 GFLOPS): 4,087,136,256 conv + 2,048,000 fc.
RESNET50_224_CONV_GEMM_MACS = 4_089_184_256

# torchvision docs, ResNet50_Weights.IMAGENET1K_V1: num_params 25,557,032.
# That counts each BatchNorm's weight+bias (2 per channel; running stats are
# buffers, not params). torch.onnx.export folds each BN into the preceding
# conv, which had no bias and gains one (1 per channel). BN channels:
#   stem 64
#   layer1 3*(64+64+256)     + downsample 256  =  1,408
#   layer2 4*(128+128+512)   + downsample 512  =  3,584
#   layer3 6*(256+256+1024)  + downsample 1024 = 10,240
#   layer4 3*(512+512+2048)  + downsample 2048 = 11,264
#   total 26,560 channels
# Folded params = 25,557,032 - 2*26,560 + 26,560 = 25,530,472
# (= 23,454,912 conv weights + 26,560 conv biases + 2,049,000 fc).
RESNET50_PARAMS = 25_557_032
RESNET50_FOLDED_PARAMS = 25_530_472

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


class _ExternalWeights:
    """Declares initializers whose bytes live (nominally) in one missing file."""

    def __init__(self, location: str):
        self.location = location
        self.offset = 0
        self.tensors: list[TensorProto] = []

    def add(self, name: str, shape, data_type: int = FLOAT) -> str:
        t = TensorProto()
        t.name = name
        t.data_type = data_type
        t.dims.extend(int(d) for d in shape)
        t.data_location = TensorProto.EXTERNAL
        itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(data_type)).itemsize
        length = int(np.prod(shape, dtype=np.int64)) * itemsize
        for key, value in (
            ("location", self.location),
            ("offset", str(self.offset)),
            ("length", str(length)),
        ):
            entry = t.external_data.add()
            entry.key = key
            entry.value = value
        self.offset += length
        self.tensors.append(t)
        return name


class _Graph:
    def __init__(self, name: str):
        self.name = name
        self.w = _ExternalWeights(f"{name}.weights.bin")
        self.nodes: list[onnx.NodeProto] = []
        self._n = 0

    def op(self, op_type: str, inputs, name: str, output: str | None = None, **attrs) -> str:
        out = output or f"{name}_output_0"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=name, **attrs))
        return out

    def const(self, value, name: str) -> str:
        arr = np.asarray(value)
        out = f"{name}_output_0"
        self.nodes.append(
            helper.make_node(
                "Constant", [], [out], name=name, value=numpy_helper.from_array(arr, name + "_value")
            )
        )
        return out

    def model(self, inputs, outputs, doc: str) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, inputs, outputs, initializer=self.w.tensors)
        m = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name=PRODUCER,
            doc_string=doc,
        )
        m.ir_version = IR_VERSION
        return m


def external_locations(model: onnx.ModelProto) -> set[str]:
    """The external data file names an in-memory model refers to."""
    locs = set()
    for t in model.graph.initializer:
        if t.data_location == TensorProto.EXTERNAL:
            locs.update(e.value for e in t.external_data if e.key == "location")
    return locs


def check_model(model: onnx.ModelProto, full_check: bool = False) -> None:
    """``onnx.checker.check_model`` for a zoo model whose weight file is missing.

    The checker requires every external ``location`` to be a regular file
    relative to the model's directory, so the model is written to a temporary
    directory next to empty placeholder files (no weight bytes anywhere).
    """
    with tempfile.TemporaryDirectory(prefix="onnxstat-zoo-") as d:
        path = os.path.join(d, (model.graph.name or "model") + ".onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        for loc in external_locations(model):
            open(os.path.join(d, loc), "wb").close()
        onnx.checker.check_model(path, full_check=full_check)


def _pool_out(n: int, k: int, s: int, p: int = 0) -> int:
    return (n + 2 * p - k) // s + 1


def _adaptive_avgpool_as_avgpool(n_in: int, n_out: int) -> tuple[int, int]:
    """Kernel and stride of an AveragePool equal to AdaptiveAvgPool(n_in -> n_out).

    PyTorch's adaptive bin i spans [floor(i*n_in/n_out), ceil((i+1)*n_in/n_out)).
    When every bin has the same width k and consecutive bins start s apart, a
    plain AveragePool(kernel=k, stride=s, no padding) is exactly the same
    operation. When n_in is divisible by n_out this is k = s = n_in // n_out,
    which is what torch.onnx.export writes. Otherwise the exporter refuses
    ("output size that are not factor of input size"), but the uniform case
    (e.g. 13 -> 6: bins of width 3 every 2) is still exact, so it is used here.
    Non-uniform bins cannot be expressed with one AveragePool: ValueError.
    """
    starts = [(i * n_in) // n_out for i in range(n_out)]
    ends = [-((-(i + 1) * n_in) // n_out) for i in range(n_out)]
    widths = {e - b for b, e in zip(starts, ends)}
    steps = {b2 - b1 for b1, b2 in zip(starts, starts[1:])} or {1}
    if len(widths) != 1 or len(steps) != 1 or 0 in steps:
        raise ValueError(
            f"AdaptiveAvgPool {n_in}->{n_out} cannot be written as one AveragePool "
            "(PyTorch's adaptive bins are not equally wide and equally spaced)"
        )
    return widths.pop(), steps.pop()


# ---------------------------------------------------------------------------
# AlexNet
# ---------------------------------------------------------------------------


def alexnet(batch: int = 1, size: int = 224) -> onnx.ModelProto:
    """torchvision AlexNet as torch.onnx.export (opset 17, eval) writes it.

    Input "input" [batch, 3, size, size], output "output" [batch, 1000].
    Dropout is omitted (eval mode exports none). AdaptiveAvgPool2d((6, 6))
    becomes AveragePool: at 224 the map is already 6x6, so kernel = stride = 1
    (identity, as the exporter writes it); at 448 the map is 13x13 and the
    AveragePool is kernel 3, stride 2, which equals PyTorch's adaptive bins
    exactly (see _adaptive_avgpool_as_avgpool).
    """
    g = _Graph("alexnet")
    x = "input"
    n = size

    def conv(x, cin, cout, k, s, p, idx):
        nonlocal n
        w = g.w.add(f"features.{idx}.weight", (cout, cin, k, k))
        b = g.w.add(f"features.{idx}.bias", (cout,))
        n = _pool_out(n, k, s, p)
        y = g.op(
            "Conv", [x, w, b], f"/features/features.{idx}/Conv",
            dilations=[1, 1], group=1, kernel_shape=[k, k], pads=[p, p, p, p], strides=[s, s],
        )
        return g.op("Relu", [y], f"/features/features.{idx + 1}/Relu")

    def maxpool(x, idx):
        nonlocal n
        n = _pool_out(n, 3, 2)
        return g.op(
            "MaxPool", [x], f"/features/features.{idx}/MaxPool",
            ceil_mode=0, dilations=[1, 1], kernel_shape=[3, 3], pads=[0, 0, 0, 0], strides=[2, 2],
        )

    h = conv(x, 3, 64, 11, 4, 2, 0)
    h = maxpool(h, 2)
    h = conv(h, 64, 192, 5, 1, 2, 3)
    h = maxpool(h, 5)
    h = conv(h, 192, 384, 3, 1, 1, 6)
    h = conv(h, 384, 256, 3, 1, 1, 8)
    h = conv(h, 256, 256, 3, 1, 1, 10)
    h = maxpool(h, 12)
    if n < 1:
        raise ValueError(f"input size {size} is too small for AlexNet")
    k, s = _adaptive_avgpool_as_avgpool(n, 6)
    h = g.op(
        "AveragePool", [h], "/avgpool/AveragePool",
        ceil_mode=0, kernel_shape=[k, k], pads=[0, 0, 0, 0], strides=[s, s],
    )
    h = g.op("Flatten", [h], "/Flatten", axis=1)
    for i, (din, dout) in enumerate(((9216, 4096), (4096, 4096), (4096, 1000))):
        idx = (1, 4, 6)[i]
        w = g.w.add(f"classifier.{idx}.weight", (dout, din))
        b = g.w.add(f"classifier.{idx}.bias", (dout,))
        last = i == 2
        h = g.op(
            "Gemm", [h, w, b], f"/classifier/classifier.{idx}/Gemm",
            output="output" if last else None, alpha=1.0, beta=1.0, transB=1,
        )
        if not last:
            h = g.op("Relu", [h], f"/classifier/classifier.{idx + 1}/Relu")
    return g.model(
        [helper.make_tensor_value_info("input", FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("output", FLOAT, [batch, 1000])],
        "torchvision AlexNet (eval), weights external and missing",
    )


# ---------------------------------------------------------------------------
# ResNet-50
# ---------------------------------------------------------------------------


def resnet50(batch: int = 1, size: int = 224) -> onnx.ModelProto:
    """torchvision ResNet-50 (v1.5) as torch.onnx.export writes it in eval mode.

    BatchNorm is folded into the convolutions (each conv gets a bias), so the
    graph is Conv/Relu/MaxPool/Add/GlobalAveragePool/Flatten/Gemm only.
    Bottleneck blocks [3, 4, 6, 3], stride on the 3x3 conv, 1x1 downsample
    conv on the first block of each stage. Input "input" [batch, 3, size,
    size], output "output" [batch, 1000].
    """
    g = _Graph("resnet50")

    def conv(x, cin, cout, k, s, p, prefix, relu=True):
        w = g.w.add(f"{prefix}.weight", (cout, cin, k, k))
        b = g.w.add(f"{prefix}.bias", (cout,))
        node = "/" + prefix.replace(".", "/")
        y = g.op(
            "Conv", [x, w, b], f"{node}/Conv",
            dilations=[1, 1], group=1, kernel_shape=[k, k], pads=[p, p, p, p], strides=[s, s],
        )
        return g.op("Relu", [y], f"{node}/Relu") if relu else y

    h = conv("input", 3, 64, 7, 2, 3, "conv1")
    h = g.op(
        "MaxPool", [h], "/maxpool/MaxPool",
        ceil_mode=0, dilations=[1, 1], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2],
    )
    cin = 64
    for stage, (width, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=1):
        cout = width * 4
        for b in range(blocks):
            stride = 2 if (b == 0 and stage > 1) else 1
            pre = f"layer{stage}.{b}"
            y = conv(h, cin, width, 1, 1, 0, f"{pre}.conv1")
            y = conv(y, width, width, 3, stride, 1, f"{pre}.conv2")
            y = conv(y, width, cout, 1, 1, 0, f"{pre}.conv3", relu=False)
            skip = h
            if b == 0:
                skip = conv(h, cin, cout, 1, stride, 0, f"{pre}.downsample.0", relu=False)
            y = g.op("Add", [y, skip], f"/layer{stage}/layer{stage}.{b}/Add")
            h = g.op("Relu", [y], f"/layer{stage}/layer{stage}.{b}/relu_2/Relu")
            cin = cout
    h = g.op("GlobalAveragePool", [h], "/avgpool/GlobalAveragePool")
    h = g.op("Flatten", [h], "/Flatten", axis=1)
    w = g.w.add("fc.weight", (1000, 2048))
    b = g.w.add("fc.bias", (1000,))
    g.op("Gemm", [h, w, b], "/fc/Gemm", output="output", alpha=1.0, beta=1.0, transB=1)
    return g.model(
        [helper.make_tensor_value_info("input", FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("output", FLOAT, [batch, 1000])],
        "torchvision ResNet-50 v1.5 (eval, BN folded), weights external and missing",
    )


# ---------------------------------------------------------------------------
# LLM-shaped decoder
# ---------------------------------------------------------------------------


def transformer_decoder(
    layers: int = 2,
    hidden: int = 256,
    heads: int = 4,
    vocab: int = 1000,
    seq: int | str = "seq",
    *,
    batch: int | str = "batch",
    intermediate: int | None = None,
    dtype: int = FLOAT,
    eps: float = 1e-6,
) -> onnx.ModelProto:
    """A Llama-shaped decoder-only transformer, weights external and missing.

    Input "input_ids" int64 [batch, seq] (symbolic "batch" and "seq" by
    default; pass ints to fix them), output "logits" [batch, seq, vocab].

    Graph: Gather embedding; per layer: RMS norm (Pow, ReduceMean, Add eps,
    Sqrt, Div, Mul weight), Q/K/V MatMuls (no bias), heads split with
    Reshape [0, 0, heads, head_dim] + Transpose, Q·Kᵀ MatMul, Div by
    sqrt(head_dim), Softmax, MatMul with V, merge heads, O MatMul, residual
    Add; RMS norm, gate/up MatMuls, SiLU as Sigmoid + Mul, Mul with up, down
    MatMul, residual Add. Final RMS norm and an untied lm_head MatMul. No
    causal mask and no rotary embedding.

    ``intermediate`` defaults to 4 * hidden. Parameters (initializer numel):
        vocab*hidden + layers*(2*hidden + 4*hidden^2 + 3*hidden*intermediate)
        + hidden + hidden*vocab
    ``dtype`` is the weight/activation type (FLOAT or FLOAT16).
    """
    if hidden % heads:
        raise ValueError("hidden must be divisible by heads")
    head_dim = hidden // heads
    inter = intermediate if intermediate is not None else 4 * hidden
    np_dtype = helper.tensor_dtype_to_np_dtype(dtype)
    g = _Graph("transformer_decoder")

    def fconst(v, name):
        return g.const(np.array(v, dtype=np_dtype), name)

    two = fconst(2.0, "/Constant_pow")
    epsc = fconst(eps, "/Constant_eps")
    scale = fconst(math.sqrt(head_dim), "/Constant_scale")
    split_shape = g.const(np.array([0, 0, heads, head_dim], dtype=np.int64), "/Constant_split")
    merge_shape = g.const(np.array([0, 0, hidden], dtype=np.int64), "/Constant_merge")

    def rms_norm(x, prefix):
        node = "/" + prefix.replace(".", "/")
        w = g.w.add(f"{prefix}.weight", (hidden,), dtype)
        p = g.op("Pow", [x, two], f"{node}/Pow")
        m = g.op("ReduceMean", [p], f"{node}/ReduceMean", axes=[-1], keepdims=1)
        a = g.op("Add", [m, epsc], f"{node}/Add")
        s = g.op("Sqrt", [a], f"{node}/Sqrt")
        d = g.op("Div", [x, s], f"{node}/Div")
        return g.op("Mul", [d, w], f"{node}/Mul")

    def matmul(x, din, dout, prefix):
        w = g.w.add(f"{prefix}.weight", (din, dout), dtype)
        return g.op("MatMul", [x, w], "/" + prefix.replace(".", "/") + "/MatMul")

    emb = g.w.add("embed_tokens.weight", (vocab, hidden), dtype)
    h = g.op("Gather", [emb, "input_ids"], "/embed_tokens/Gather", axis=0)
    for i in range(layers):
        pre = f"layers.{i}"
        node = f"/layers.{i}/self_attn"
        x = rms_norm(h, f"{pre}.input_layernorm")
        q, k, v = (matmul(x, hidden, hidden, f"{pre}.self_attn.{p}_proj") for p in "qkv")
        q = g.op("Reshape", [q, split_shape], f"{node}/Reshape_q")
        k = g.op("Reshape", [k, split_shape], f"{node}/Reshape_k")
        v = g.op("Reshape", [v, split_shape], f"{node}/Reshape_v")
        q = g.op("Transpose", [q], f"{node}/Transpose_q", perm=[0, 2, 1, 3])
        k = g.op("Transpose", [k], f"{node}/Transpose_k", perm=[0, 2, 3, 1])
        v = g.op("Transpose", [v], f"{node}/Transpose_v", perm=[0, 2, 1, 3])
        s = g.op("MatMul", [q, k], f"{node}/MatMul_qk")
        s = g.op("Div", [s, scale], f"{node}/Div")
        s = g.op("Softmax", [s], f"{node}/Softmax", axis=-1)
        o = g.op("MatMul", [s, v], f"{node}/MatMul_pv")
        o = g.op("Transpose", [o], f"{node}/Transpose_o", perm=[0, 2, 1, 3])
        o = g.op("Reshape", [o, merge_shape], f"{node}/Reshape_o")
        o = matmul(o, hidden, hidden, f"{pre}.self_attn.o_proj")
        h = g.op("Add", [h, o], f"/layers.{i}/Add")

        x = rms_norm(h, f"{pre}.post_attention_layernorm")
        gate = matmul(x, hidden, inter, f"{pre}.mlp.gate_proj")
        up = matmul(x, hidden, inter, f"{pre}.mlp.up_proj")
        sig = g.op("Sigmoid", [gate], f"/layers.{i}/mlp/act_fn/Sigmoid")
        act = g.op("Mul", [gate, sig], f"/layers.{i}/mlp/act_fn/Mul")
        act = g.op("Mul", [act, up], f"/layers.{i}/mlp/Mul")
        down = matmul(act, inter, hidden, f"{pre}.mlp.down_proj")
        h = g.op("Add", [h, down], f"/layers.{i}/Add_1")
    h = rms_norm(h, "norm")
    w = g.w.add("lm_head.weight", (hidden, vocab), dtype)
    g.op("MatMul", [h, w], "/lm_head/MatMul", output="logits")
    return g.model(
        [helper.make_tensor_value_info("input_ids", INT64, [batch, seq])],
        [helper.make_tensor_value_info("logits", dtype, [batch, seq, vocab])],
        f"decoder-only transformer: {layers} layers, hidden {hidden}, {heads} heads, "
        f"MLP {inter}, vocab {vocab}; weights external and missing",
    )


def transformer_decoder_params(
    layers: int, hidden: int, vocab: int, intermediate: int | None = None
) -> int:
    """Closed-form parameter count of :func:`transformer_decoder`."""
    inter = intermediate if intermediate is not None else 4 * hidden
    per_layer = 2 * hidden + 4 * hidden * hidden + 3 * hidden * inter
    return vocab * hidden + layers * per_layer + hidden + hidden * vocab


# ---------------------------------------------------------------------------
# synthetic chain
# ---------------------------------------------------------------------------


def synthetic_chain(n_nodes: int) -> onnx.ModelProto:
    """n nodes cycling Add, Relu, Mul on a [1, 64] float tensor.

    Input "x" [1, 64], output "y" [1, 64]. The Add and Mul nodes share two
    small [64] float initializers with real data (0.5 and 0.9), so the model
    is a few MB at most even for n = 100,000 and runs in onnxruntime.
    Node i is named "n{i}" and writes "t{i}".
    """
    if n_nodes < 1:
        raise ValueError("n_nodes must be >= 1")
    add_c = numpy_helper.from_array(np.full(64, 0.5, dtype=np.float32), "add_const")
    mul_c = numpy_helper.from_array(np.full(64, 0.9, dtype=np.float32), "mul_const")
    nodes = []
    prev = "x"
    for i in range(n_nodes):
        out = "y" if i == n_nodes - 1 else f"t{i}"
        node = onnx.NodeProto()
        node.name = f"n{i}"
        node.output.append(out)
        r = i % 3
        if r == 0:
            node.op_type = "Add"
            node.input.extend((prev, "add_const"))
        elif r == 1:
            node.op_type = "Relu"
            node.input.append(prev)
        else:
            node.op_type = "Mul"
            node.input.extend((prev, "mul_const"))
        nodes.append(node)
        prev = out
    graph = helper.make_graph(
        nodes,
        "synthetic_chain",
        [helper.make_tensor_value_info("x", FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", FLOAT, [1, 64])],
        initializer=[add_c, mul_c],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=PRODUCER)
    m.ir_version = IR_VERSION
    return m
