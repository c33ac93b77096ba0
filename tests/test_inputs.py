"""Input generation (every dtype onnxruntime accepts), --int-range, user .npy inputs, ORT shape observation."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from onnxstat.errors import UsageError
from onnxstat.runtime.inputs import (
    NUMPY_NATIVE,
    ORTVALUE_ONLY,
    bind_input,
    bind_user_inputs,
    check_user_array,
    int_range_for,
    load_array,
    make_array,
    make_inputs,
    model_inputs,
    np_dtype,
    ort_feed,
    parse_int_range,
    raw_view,
)
from op_handlers.base import DTYPES

SAMPLES = Path(__file__).resolve().parents[1] / "sample_models"


def identity_model(elem_type: int, shape=(2, 3), opset: int = 21) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", elem_type, list(shape))],
        [helper.make_tensor_value_info("y", elem_type, list(shape))],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def ort_accepts(elem_type: int) -> bool:
    try:
        ort.InferenceSession(identity_model(elem_type).SerializeToString(), providers=["CPUExecutionProvider"])
        return True
    except Exception:
        return False


ACCEPTED = [(enum, name) for enum, (name, _bits) in sorted(DTYPES.items()) if ort_accepts(enum)]


def test_every_dtype_onnxruntime_accepts_is_handled():
    # onnxruntime 1.32 (CPU) builds an Identity session for these 18 dtypes; complex,
    # int4/uint4 and the newer float4/float6/int2 types are rejected at session creation.
    names = {n for _e, n in ACCEPTED}
    assert names == NUMPY_NATIVE | ORTVALUE_ONLY, names ^ (NUMPY_NATIVE | ORTVALUE_ONLY)
    assert len(names) == 18


@pytest.mark.parametrize("enum,dtype", ACCEPTED, ids=[n for _e, n in ACCEPTED])
def test_generated_input_runs_through_onnxruntime(enum, dtype):
    sess = ort.InferenceSession(identity_model(enum, (4, 5)).SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = make_inputs([("x", dtype, (4, 5))], seed=3, int_range=(0, 7))
    x = feeds["x"]
    assert x.shape == (4, 5)
    assert x.dtype == np_dtype(dtype)
    if dtype in NUMPY_NATIVE:
        # plain sess.run path (what bench times on the CPU): values come back unchanged
        (y_np,) = sess.run(None, {"x": ort_feed(x, dtype)})
        if dtype == "string":
            assert y_np.tolist() == x.tolist()
            with pytest.raises(UsageError, match="cannot bind"):
                bind_input(sess.io_binding(), "x", x, dtype)
            return
        np.testing.assert_array_equal(y_np, x)
    # IO binding path (bfloat16/float8, device sessions): Identity returns the same bits
    io = sess.io_binding()
    keep = bind_input(io, "x", x, dtype, "cpu", 0)
    io.bind_output("y", "cpu")
    sess.run_with_iobinding(io)
    (y,) = io.get_outputs()
    assert y.shape() == [4, 5]
    expected_type = {"float32": "float", "float64": "double"}.get(dtype, dtype)
    assert y.data_type() == f"tensor({expected_type})"
    raw = raw_view(x) if dtype in ORTVALUE_ONLY else x
    out = y.numpy() if dtype not in ORTVALUE_ONLY else None
    if out is not None:
        np.testing.assert_array_equal(out, x)
    else:
        # onnxruntime gives no numpy array of these types: read the output's bytes in CPU memory
        assert y.tensor_size_in_bytes() == raw.nbytes
        got = np.ctypeslib.as_array((ctypes.c_uint8 * raw.nbytes).from_address(y.data_ptr()))
        np.testing.assert_array_equal(got, raw.reshape(-1).view(np.uint8))
    del keep


def test_generation_rules():
    rng = np.random.default_rng(0)
    ints = make_array("int64", (1000,), rng, (3, 7))
    assert ints.dtype == np.int64 and ints.min() >= 3 and ints.max() <= 6  # HI exclusive
    assert set(np.unique(ints)) == {3, 4, 5, 6}
    default = make_array("int32", (1000,), rng)
    assert set(np.unique(default)) == {0, 1}  # default range [0, 2)
    b = make_array("bool", (1000,), rng)
    assert b.dtype == bool and 300 < b.sum() < 700
    f = make_array("float32", (10000,), rng)
    assert abs(float(f.mean())) < 0.05 and 0.95 < float(f.std()) < 1.05  # standard normal
    s = make_array("string", (2, 2), rng)
    assert s.dtype == object and s.tolist() == [["a", "a"], ["a", "a"]]
    scalar = make_array("float32", (), rng)
    assert scalar.shape == ()
    e8 = make_array("float8e8m0", (100,), rng)
    assert (e8.astype(np.float32) > 0).all()


def test_int_range_clipped_to_dtype():
    # uint8 holds 0..255: [-5, 10) -> [0, 10); int8 holds -128..127: [100, 1000) -> [100, 128)
    assert int_range_for("uint8", (-5, 10)) == (0, 10)
    assert int_range_for("int8", (100, 1000)) == (100, 128)
    assert int_range_for("int4", (-100, 100)) == (-8, 8)  # int4 holds -8..7
    with pytest.raises(UsageError, match="holds no uint8 value"):
        int_range_for("uint8", (-10, -1))
    x = make_array("uint8", (500,), np.random.default_rng(1), (-5, 3))
    assert x.min() >= 0 and x.max() <= 2


def test_parse_int_range():
    assert parse_int_range("0,30522") == (0, 30522)
    assert parse_int_range(" -3 , 4 ") == (-3, 4)
    for bad in ("5", "a,b", "4,4", "5,1", "1,2,3"):
        with pytest.raises(UsageError):
            parse_int_range(bad)


def test_seeded_generation_is_reproducible():
    spec = [("a", "float32", (3, 4)), ("b", "int64", (5,))]
    one, two = make_inputs(spec, seed=7), make_inputs(spec, seed=7)
    np.testing.assert_array_equal(one["a"], two["a"])
    np.testing.assert_array_equal(one["b"], two["b"])
    other = make_inputs(spec, seed=8)
    assert not np.array_equal(one["a"], other["a"])


def test_unknown_shape_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown shape"):
        make_inputs([("x", "float32", None)])


# --------------------------------------------------------------------------- user arrays


def two_input_model() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])], "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 4]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_user_array_dtype_mismatch():
    with pytest.raises(UsageError, match=r"dtype float64 does not match input 'x' of dtype float32"):
        check_user_array("x", np.zeros((1, 4)), "float32", ("batch", 4), "--input x=a.npy")


def test_user_array_shape_mismatch():
    with pytest.raises(UsageError, match=r"shape 1x5 does not match input 'x' of shape batchx4 \(dim 1 must be 4\)"):
        check_user_array("x", np.zeros((1, 5), np.float32), "float32", ("batch", 4), "--input x=a.npy")
    with pytest.raises(UsageError, match=r"rank 3\) does not match"):
        check_user_array("x", np.zeros((1, 4, 1), np.float32), "float32", ("batch", 4), "--input x=a.npy")
    with pytest.raises(UsageError, match="gives dim 'n' two values"):
        check_user_array("x", np.zeros((2, 3), np.float32), "float32", ("n", "n"), "--input x=a.npy")


def test_user_array_binds_named_dims():
    arr, bound = check_user_array("x", np.zeros((3, 4), np.float32), "float32", ("batch", 4), "l")
    assert bound == {"batch": 3}
    arr, bound = check_user_array("s", np.array(["u", "v"]), "string", ("n",), "l")
    assert arr.dtype == object and bound == {"n": 2}


def test_bind_user_inputs_fold_dims_and_conflicts(tmp_path):
    declared = model_inputs(two_input_model())
    assert declared == [("a", "float32", ("batch", 4)), ("b", "float32", ("batch", 4))]
    p = tmp_path / "b.npy"
    np.save(p, np.ones((3, 4), np.float32))
    arrays, shapes, dims = bind_user_inputs(declared, {"b": str(p)}, {}, {})
    assert list(arrays) == ["b"] and shapes == {"b": (3, 4)} and dims == {"batch": 3}
    with pytest.raises(UsageError, match=r"dim 'batch' is 3 in this array but 2 in dims batch=2"):
        bind_user_inputs(declared, {"b": str(p)}, {}, {"batch": 2})
    with pytest.raises(UsageError, match=r"contradicts input_shapes b=5x4"):
        bind_user_inputs(declared, {"b": str(p)}, {"b": (5, 4)}, {})
    q = tmp_path / "a.npy"
    np.save(q, np.ones((2, 4), np.float32))
    with pytest.raises(UsageError, match=r"dim 'batch' is 3 in this array but 2 in inputs a="):
        bind_user_inputs(declared, {"a": str(q), "b": str(p)}, {}, {})
    with pytest.raises(UsageError, match=r"inputs names 'c', which is not a model input \(inputs: a, b\)"):
        bind_user_inputs(declared, {"c": str(p)}, {}, {})


def test_load_array_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        load_array("x", tmp_path / "missing.npy")
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy at all")
    with pytest.raises(UsageError, match="not a readable .npy array"):
        load_array("x", bad)
    z = tmp_path / "z.npz"
    np.savez(z, a=np.zeros(2))
    with pytest.raises(UsageError, match="npz archive"):
        load_array("x", z)
    with pytest.raises(UsageError, match="is a directory"):
        load_array("x", tmp_path)
    arr, label = load_array("x", np.zeros(3))
    assert arr.shape == (3,) and "input 'x'" in label


# --------------------------------------------------------------------------- --shape-source ort


def test_ort_shape_observation_handles_bfloat16_and_sequences():
    # x float32 [2,3] -> Cast to bfloat16 -> Cast back; a sequence output too.  Shape
    # observation binds outputs as OrtValues, so neither needs a numpy conversion.
    from onnxstat.model.loader import load
    from onnxstat.shapes.ort import observe_shapes

    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["h"], to=TensorProto.BFLOAT16),
         helper.make_node("Cast", ["h"], ["y"], to=TensorProto.FLOAT),
         helper.make_node("SequenceConstruct", ["x", "y"], ["s"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    seen = observe_shapes(load(model), [("x", "float32", (2, 3))])
    assert seen["h"] == ("bfloat16", (2, 3))
    assert seen["y"] == ("float32", (2, 3))
    assert "s" not in seen  # a sequence has no single shape


def test_ort_shape_observation_with_bfloat16_input():
    from onnxstat.model.loader import load
    from onnxstat.shapes.ort import observe_shapes

    seen = observe_shapes(load(identity_model(TensorProto.BFLOAT16, (3, 2))), [("x", "bfloat16", (3, 2))])
    assert seen["y"] == ("bfloat16", (3, 2))
