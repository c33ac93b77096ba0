"""Models whose node names follow exporters' scope conventions (built with onnx.helper, no torch)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def torch_style_encoder(layers: int = 4, hidden: int = 16, ffn: int = 32, seq: int = 8, batch: int = 1,
                        unnamed_tail: bool = True, seed: int = 0, dynamo: bool = False) -> onnx.ModelProto:
    """A BERT-like encoder as torch.onnx (TorchScript) names it:

    ``/embeddings/LayerNorm/LayerNormalization``, then per layer
    ``/encoder/layer.N/attention/self/{query,key,value}/MatMul`` (+ ``Add`` for the
    bias), ``/encoder/layer.N/attention/self/MatMul`` (scores), ``Softmax``,
    ``MatMul_1`` (context), ``/encoder/layer.N/attention/output/dense/MatMul``,
    ``/encoder/layer.N/attention/output/Add`` + ``LayerNorm``, the feed-forward
    ``/encoder/layer.N/intermediate/dense/MatMul`` + ``Relu`` and
    ``/encoder/layer.N/output/dense/MatMul`` + ``Add`` + ``LayerNorm``; then
    ``/pooler/dense/MatMul`` and, when ``unnamed_tail``, an unnamed Tanh (the
    fallback puts it in the scope of its producer, /pooler/dense).

    ``dynamo``: as the torch.onnx dynamo exporter writes it instead: nodes named
    ``node_MatMul_12`` with the module path in ``pkg.torch.onnx.name_scopes``
    (``['', 'encoder', 'encoder.layer.0', ..., 'matmul_12']``).
    """
    rng = np.random.default_rng(seed)
    nodes, inits = [], []

    def w(name, *shape):
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(np.float32), name))
        return name

    def node(op, ins, name, **attrs):
        out = f"{name}_output_0" if name else f"t{len(nodes)}"
        if dynamo and name:
            modules = [p for p in name.split("/") if p][:-1]
            scopes = [""] + [".".join(modules[: k + 1]) for k in range(len(modules))] + [f"{op.lower()}_{len(nodes)}"]
            name = f"node_{op}_{len(nodes)}"
        n = helper.make_node(op, ins, [out], name=name, **attrs)
        if dynamo and name:
            n.metadata_props.add(key="pkg.torch.onnx.name_scopes", value=repr(scopes))
        nodes.append(n)
        return out

    def layer_norm(x, scope, prefix):
        return node("LayerNormalization", [x, w(f"{prefix}.LayerNorm.weight", hidden), w(f"{prefix}.LayerNorm.bias", hidden)],
                    f"{scope}/LayerNorm/LayerNormalization", axis=-1, epsilon=1e-5)

    def linear(x, scope, prefix, n_in, n_out):
        y = node("MatMul", [x, w(f"{prefix}.weight", n_in, n_out)], f"{scope}/MatMul")
        return node("Add", [w(f"{prefix}.bias", n_out), y], f"{scope}/Add")

    x = layer_norm("input", "/embeddings", "embeddings")
    for i in range(layers):
        s = f"/encoder/layer.{i}"
        p = f"encoder.layer.{i}"
        q = linear(x, f"{s}/attention/self/query", f"{p}.attention.self.query", hidden, hidden)
        k = linear(x, f"{s}/attention/self/key", f"{p}.attention.self.key", hidden, hidden)
        v = linear(x, f"{s}/attention/self/value", f"{p}.attention.self.value", hidden, hidden)
        kt = node("Transpose", [k], f"{s}/attention/self/Transpose", perm=[0, 2, 1])
        scores = node("MatMul", [q, kt], f"{s}/attention/self/MatMul")
        probs = node("Softmax", [scores], f"{s}/attention/self/Softmax", axis=-1)
        ctx = node("MatMul", [probs, v], f"{s}/attention/self/MatMul_1")
        o = linear(ctx, f"{s}/attention/output/dense", f"{p}.attention.output.dense", hidden, hidden)
        o = node("Add", [o, x], f"{s}/attention/output/Add")
        x = layer_norm(o, f"{s}/attention/output", f"{p}.attention.output")
        h = linear(x, f"{s}/intermediate/dense", f"{p}.intermediate.dense", hidden, ffn)
        h = node("Relu", [h], f"{s}/intermediate/intermediate_act_fn/Relu")
        h = linear(h, f"{s}/output/dense", f"{p}.output.dense", ffn, hidden)
        h = node("Add", [h, x], f"{s}/output/Add")
        x = layer_norm(h, f"{s}/output", f"{p}.output")
    y = linear(x, "/pooler/dense", "pooler.dense", hidden, hidden)
    if unnamed_tail:
        y = node("Tanh", [y], "")
    y = node("Identity", [y], "/pooler/activation/Identity")
    nodes[-1].output[0] = "output"
    graph = helper.make_graph(
        nodes, "encoder",
        [helper.make_tensor_value_info("input", F, [batch, seq, hidden])],
        [helper.make_tensor_value_info("output", F, [batch, seq, hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch",
                              producer_version="2.3.0")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
