"""Checks for the reference-architecture builders in tests/zoo.py."""

from __future__ import annotations

import os
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper, shape_inference

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402


def _numel(t: onnx.TensorProto) -> int:
    return int(np.prod(list(t.dims), dtype=np.int64))


def _param_count(model: onnx.ModelProto) -> int:
    return sum(_numel(t) for t in model.graph.initializer)


def _dims(vi: onnx.ValueInfoProto) -> list:
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in vi.type.tensor_type.shape.dim]


def _inferred(model: onnx.ModelProto) -> onnx.ModelProto:
    return shape_inference.infer_shapes(model, strict_mode=True)


def _shapes(model: onnx.ModelProto) -> dict[str, list]:
    mi = _inferred(model)
    out = {v.name: _dims(v) for v in [*mi.graph.input, *mi.graph.value_info, *mi.graph.output]}
    out.update({t.name: list(t.dims) for t in mi.graph.initializer})
    return out


def _conv_gemm_macs(model: onnx.ModelProto) -> int:
    """Test-local count: Conv = out numel * Cin/group * kh * kw, Gemm = out numel * K."""
    shp = _shapes(model)
    total = 0
    for n in model.graph.node:
        if n.op_type == "Conv":
            w = shp[n.input[1]]
            total += int(np.prod(shp[n.output[0]])) * w[1] * w[2] * w[3]
        elif n.op_type == "Gemm":
            transa = any(a.name == "transA" and a.i for a in n.attribute)
            a = shp[n.input[0]]
            total += int(np.prod(shp[n.output[0]])) * (a[0] if transa else a[1])
    return total


def _assert_external_and_missing(model: onnx.ModelProto, name: str) -> None:
    location = f"{name}.weights.bin"
    offset = 0
    assert model.graph.initializer
    for t in model.graph.initializer:
        assert t.data_location == TensorProto.EXTERNAL
        assert not t.raw_data and not t.float_data and not t.int64_data
        assert t.data_type != TensorProto.UNDEFINED
        entries = {e.key: e.value for e in t.external_data}
        itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
        assert entries["location"] == location
        assert int(entries["offset"]) == offset
        assert int(entries["length"]) == _numel(t) * itemsize
        offset += int(entries["length"])
    assert zoo.external_locations(model) == {location}
    assert not os.path.exists(location)
    assert not os.path.exists(os.path.join(os.path.dirname(__file__), location))
    # tiny: the graph only, no weight bytes
    assert model.ByteSize() < 100_000


def _opset_ir(model: onnx.ModelProto) -> None:
    assert model.ir_version == 8
    assert {o.domain: o.version for o in model.opset_import} == {"": 17}


# --------------------------------------------------------------------------
# AlexNet
# --------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 2])
def test_alexnet_224(batch):
    m = zoo.alexnet(batch=batch, size=224)
    _opset_ir(m)
    zoo.check_model(m)
    out = _inferred(m).graph.output
    assert [o.name for o in out] == ["output"]
    assert _dims(out[0]) == [batch, 1000]
    assert _param_count(m) == zoo.ALEXNET_PARAMS == 61_100_840
    assert _conv_gemm_macs(m) == batch * zoo.ALEXNET_224_CONV_GEMM_MACS
    _assert_external_and_missing(m, "alexnet")
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("Conv") == 5 and ops.count("Gemm") == 3 and ops.count("MaxPool") == 3
    assert "Dropout" not in ops
    pool = next(n for n in m.graph.node if n.op_type == "AveragePool")
    attrs = {a.name: list(a.ints) for a in pool.attribute if a.ints}
    assert attrs["kernel_shape"] == [1, 1] and attrs["strides"] == [1, 1]


def test_alexnet_448_real_adaptive_pool():
    m = zoo.alexnet(batch=1, size=448)
    zoo.check_model(m)
    shp = _shapes(m)
    pool = next(n for n in m.graph.node if n.op_type == "AveragePool")
    # 448 -> conv1 111 -> pool 55 -> pool 27 -> pool 13; 13 -> 6 is kernel 3 stride 2
    assert shp[pool.input[0]] == [1, 256, 13, 13]
    assert shp[pool.output[0]] == [1, 256, 6, 6]
    attrs = {a.name: list(a.ints) for a in pool.attribute if a.ints}
    assert attrs["kernel_shape"] == [3, 3] and attrs["strides"] == [2, 2]
    assert _dims(_inferred(m).graph.output[0]) == [1, 1000]
    assert _param_count(m) == zoo.ALEXNET_PARAMS


def test_adaptive_pool_equivalence():
    # PyTorch AdaptiveAvgPool bins: [floor(i*n/o), ceil((i+1)*n/o))
    assert zoo._adaptive_avgpool_as_avgpool(6, 6) == (1, 1)
    assert zoo._adaptive_avgpool_as_avgpool(13, 6) == (3, 2)
    assert zoo._adaptive_avgpool_as_avgpool(12, 6) == (2, 2)
    with pytest.raises(ValueError):
        zoo._adaptive_avgpool_as_avgpool(8, 6)
    with pytest.raises(ValueError):
        zoo.alexnet(size=64)


# --------------------------------------------------------------------------
# ResNet-50
# --------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 2])
def test_resnet50(batch):
    m = zoo.resnet50(batch=batch, size=224)
    _opset_ir(m)
    zoo.check_model(m)
    assert _dims(_inferred(m).graph.output[0]) == [batch, 1000]
    # 25,557,032 (torchvision, BN affine counted) - 2*26,560 + 26,560 folded conv biases
    assert _param_count(m) == zoo.RESNET50_FOLDED_PARAMS == 25_530_472
    assert zoo.RESNET50_PARAMS - zoo.RESNET50_FOLDED_PARAMS == 26_560
    assert _conv_gemm_macs(m) == batch * zoo.RESNET50_224_CONV_GEMM_MACS
    _assert_external_and_missing(m, "resnet50")
    ops = [n.op_type for n in m.graph.node]
    assert "BatchNormalization" not in ops
    assert ops.count("Conv") == 53  # stem + 16 blocks * 3 + 4 downsample
    assert ops.count("Add") == 16 and ops.count("Gemm") == 1


# --------------------------------------------------------------------------
# transformer decoder
# --------------------------------------------------------------------------


def test_transformer_decoder_symbolic():
    m = zoo.transformer_decoder(layers=2, hidden=256, heads=4, vocab=1000)
    _opset_ir(m)
    zoo.check_model(m)
    assert _dims(m.graph.input[0]) == ["batch", "seq"]
    assert m.graph.input[0].type.tensor_type.elem_type == TensorProto.INT64
    assert _dims(_inferred(m).graph.output[0]) == ["batch", "seq", 1000]
    # embed 1000*256 + 2*(2*256 + 4*256^2 + 3*256*1024) + 256 + 256*1000
    assert _param_count(m) == 2_610_432 == zoo.transformer_decoder_params(2, 256, 1000)
    _assert_external_and_missing(m, "transformer_decoder")
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("MatMul") == 2 * (4 + 2 + 3) + 1
    assert ops.count("Softmax") == 2 and ops.count("Sigmoid") == 2
    assert ops.count("ReduceMean") == 2 * 2 + 1 and ops.count("Gather") == 1


def test_transformer_decoder_fixed_fp16():
    m = zoo.transformer_decoder(
        3, 128, 8, 500, 16, batch=2, intermediate=344, dtype=TensorProto.FLOAT16
    )
    zoo.check_model(m)
    out = _inferred(m).graph.output[0]
    assert _dims(out) == [2, 16, 500]
    assert out.type.tensor_type.elem_type == TensorProto.FLOAT16
    assert _param_count(m) == zoo.transformer_decoder_params(3, 128, 500, 344)
    _assert_external_and_missing(m, "transformer_decoder")


def test_transformer_decoder_executes_with_filled_weights():
    ort = pytest.importorskip("onnxruntime")
    m = zoo.transformer_decoder(layers=2, hidden=32, heads=4, vocab=50)
    rng = np.random.default_rng(0)
    filled = []
    for t in m.graph.initializer:
        arr = (rng.standard_normal(list(t.dims)) * 0.1).astype(np.float32)
        filled.append(numpy_helper.from_array(arr, t.name))
    del m.graph.initializer[:]
    m.graph.initializer.extend(filled)
    onnx.checker.check_model(m, full_check=True)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    ids = rng.integers(0, 50, size=(2, 3), dtype=np.int64)
    (logits,) = sess.run(None, {"input_ids": ids})
    assert logits.shape == (2, 3, 50) and np.all(np.isfinite(logits))


# --------------------------------------------------------------------------
# synthetic chain
# --------------------------------------------------------------------------


def test_synthetic_chain_small_runs():
    ort = pytest.importorskip("onnxruntime")
    m = zoo.synthetic_chain(10)
    onnx.checker.check_model(m, full_check=True)
    assert [n.op_type for n in m.graph.node[:4]] == ["Add", "Relu", "Mul", "Add"]
    x = np.random.default_rng(1).standard_normal((1, 64)).astype(np.float32)
    (y,) = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x}
    )
    ref = x
    for i in range(10):
        ref = ref + np.float32(0.5) if i % 3 == 0 else np.maximum(ref, 0) if i % 3 == 1 else ref * np.float32(0.9)
    np.testing.assert_allclose(y, ref, rtol=1e-6)


def test_synthetic_chain_100k():
    m = zoo.synthetic_chain(100_000)
    assert len(m.graph.node) == 100_000
    assert len(m.graph.initializer) == 2
    zoo.check_model(m)
    assert _dims(_inferred(m).graph.output[0]) == [1, 64]
