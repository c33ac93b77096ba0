"""Input data for running a model: generated from its signature, or the user's own arrays.

Generation rules (per input dtype):

* floating point (float16/32/64, bfloat16, float8*, float4): standard normal,
  drawn in float32 and cast (float8e8m0, a power-of-two scale type: its absolute
  value);
* integers (int8…int64, uint8…uint64, int4/uint4, int2/uint2): uniform integers
  in ``int_range`` = ``(LO, HI)``, LO inclusive, HI exclusive (default ``(0, 2)``:
  ids 0 and 1 are valid indices, token ids, masks and class labels for nearly any
  model), clipped to the dtype's range;
* bool: fair coin; string: the string ``"a"``; complex: normal real and imaginary parts.

onnxruntime's Python API converts numpy arrays of the numpy-native dtypes only.
bfloat16 and float8 inputs are accepted by onnxruntime as ``OrtValue`` built from
the raw bits (:func:`to_ort_value`), which is how :mod:`onnxstat.runtime.bench` feeds them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import onnx

from op_handlers.base import DTYPES

from ..errors import UsageError
from .limits import check_tensor

DEFAULT_INT_RANGE = (0, 2)

#: onnxstat dtype name -> ONNX TensorProto element type
DTYPE_ENUM: dict[str, int] = {name: enum for enum, (name, _bits) in DTYPES.items()}

#: dtypes onnxruntime's Python API converts to and from numpy arrays directly
NUMPY_NATIVE = frozenset(
    {"float32", "float16", "float64", "int8", "int16", "int32", "int64",
     "uint8", "uint16", "uint32", "uint64", "bool", "string"}
)
#: dtypes onnxruntime accepts only as an OrtValue made from the raw bits
ORTVALUE_ONLY = frozenset({"bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz"})


#: dtypes numpy has only through ml_dtypes -> the ml_dtypes type's name
_ML_DTYPES = {
    "bfloat16": "bfloat16", "float8e4m3fn": "float8_e4m3fn", "float8e4m3fnuz": "float8_e4m3fnuz",
    "float8e5m2": "float8_e5m2", "float8e5m2fnuz": "float8_e5m2fnuz", "uint4": "uint4", "int4": "int4",
    "float4e2m1": "float4_e2m1fn", "float8e8m0": "float8_e8m0fnu", "uint2": "uint2", "int2": "int2",
}


def np_dtype(dtype: str) -> np.dtype:
    """onnxstat dtype name -> numpy dtype (bfloat16/float8/int4… are ml_dtypes types)."""
    if dtype == "string":
        return np.dtype(object)
    if dtype == "bool":
        return np.dtype(bool)
    if dtype not in DTYPE_ENUM:
        raise UsageError(f"cannot generate input data of dtype {dtype}")
    if dtype not in _ML_DTYPES:
        return np.dtype(dtype)
    # ml_dtypes directly, not onnx.helper.tensor_dtype_to_np_dtype: older onnx (1.16)
    # maps bfloat16 and float8 to float32 and int4 to int8 (its storage types)
    try:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, _ML_DTYPES[dtype]))
    except (ImportError, AttributeError):
        raise UsageError(f"cannot generate input data of dtype {dtype} (this ml_dtypes has no numpy type for it)") from None


def _int_bounds(dt: np.dtype) -> tuple[int, int]:
    """(lowest, highest) value of an integer dtype, numpy or ml_dtypes."""
    try:
        info = np.iinfo(dt)
    except (ValueError, TypeError):
        import ml_dtypes

        info = ml_dtypes.iinfo(dt)
    return int(info.min), int(info.max)


def int_range_for(dtype: str, int_range=DEFAULT_INT_RANGE) -> tuple[int, int]:
    """``int_range`` clipped to what ``dtype`` holds, as (lo, hi) with hi exclusive."""
    lo, hi = check_int_range(int_range)
    dmin, dmax = _int_bounds(np_dtype(dtype))
    clo, chi = max(lo, dmin), min(hi, dmax + 1)
    if clo >= chi:
        raise UsageError(
            f"--int-range {lo},{hi} holds no {dtype} value ({dtype} holds {dmin}..{dmax}); give a range inside it"
        )
    return clo, chi


def check_int_range(int_range) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in int_range)
    except (TypeError, ValueError):
        raise UsageError(f"int range must be two integers LO,HI, got {int_range!r}") from None
    if lo >= hi:
        raise UsageError(f"--int-range {lo},{hi}: LO must be smaller than HI (HI is exclusive)")
    return lo, hi


def parse_int_range(text: str) -> tuple[int, int]:
    """``"0,1000"`` -> (0, 1000)."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2:
        raise UsageError(f"bad --int-range {text!r}: expected LO,HI (for example 0,30522)")
    try:
        lo, hi = int(parts[0]), int(parts[1])
    except ValueError:
        raise UsageError(f"bad --int-range {text!r}: LO and HI must be integers") from None
    return check_int_range((lo, hi))


def make_array(dtype: str, shape, rng: np.random.Generator, int_range=DEFAULT_INT_RANGE) -> np.ndarray:
    """One generated input array of ``dtype`` and ``shape`` (see the module docstring)."""
    shape = tuple(int(d) for d in (shape or ()))
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "string":
        return np.full(shape, "a", dtype=object)
    dt = np_dtype(dtype)
    if dtype.startswith(("int", "uint")):
        lo, hi = int_range_for(dtype, int_range)
        return rng.integers(lo, hi, size=shape, endpoint=False, dtype=np.int64).astype(dt)
    if dtype.startswith("complex"):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    x = rng.standard_normal(shape).astype(np.float32)
    if dtype == "float8e8m0":
        x = np.abs(x) + np.float32(2.0**-20)
    return x.astype(dt)


def make_inputs(inputs, seed: int = 0, int_range=DEFAULT_INT_RANGE) -> dict[str, np.ndarray]:
    """``[(name, dtype, shape)]`` -> feeds (one generator seeded once, inputs in order)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, dtype, shape in inputs:
        if shape is None:
            raise UsageError(f"input {name!r} has an unknown shape; give --input-shape {name}=...")
        bad = [d for d in shape if not isinstance(d, (int, np.integer))]
        if bad:
            raise UsageError(f"input {name!r} has unresolved dims {bad}; set them with --dim or --input-shape {name}=...")
        check_tensor(f"input {name!r}", dtype, tuple(int(d) for d in shape))
        feeds[name] = make_array(dtype, shape, rng, int_range)
    return feeds


# --------------------------------------------------------------------------- onnxruntime values


def raw_view(arr: np.ndarray) -> np.ndarray:
    """The bits of a 1- or 2-byte ml_dtypes array as uint8/uint16 (what OrtValue takes)."""
    arr = np.ascontiguousarray(arr)
    return arr.view({1: np.uint8, 2: np.uint16}[arr.dtype.itemsize])


def to_ort_value(arr: np.ndarray, dtype: str, device: str = "cpu", device_id: int = 0, ort=None):
    """An ``onnxruntime.OrtValue`` holding ``arr`` on ``device`` (bfloat16/float8 from their raw bits)."""
    if ort is None:
        import onnxruntime as ort  # noqa: F811
    if dtype in ORTVALUE_ONLY:
        if device == "cpu":
            return ort.OrtValue.ortvalue_from_numpy_with_onnx_type(raw_view(arr), DTYPE_ENUM[dtype])
        ov = ort.OrtValue.ortvalue_from_shape_and_type(list(arr.shape), DTYPE_ENUM[dtype], device, device_id)
        ov.update_inplace(raw_view(arr))
        return ov
    return ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(arr), device, device_id)


def bind_input(io, name: str, arr: np.ndarray, dtype: str, device: str = "cpu", device_id: int = 0, ort=None):
    """Bind one input on an IO binding; returns the object that must stay alive while it is bound.

    onnxruntime cannot bind string tensors: callers use ``sess.run`` for models
    with string inputs (:func:`ort_feed`).
    """
    if dtype == "string":
        raise UsageError(f"input {name!r} is a string tensor, which onnxruntime cannot bind with IO binding")
    ov = to_ort_value(arr, dtype, device, device_id, ort=ort)
    io.bind_ortvalue_input(name, ov)
    return ov


def ort_feed(arr: np.ndarray, dtype: str, ort=None):
    """What ``sess.run`` takes for an input: the array, or a CPU OrtValue for bfloat16/float8."""
    if dtype in ORTVALUE_ONLY:
        return to_ort_value(arr, dtype, "cpu", 0, ort=ort)
    if dtype == "string":
        return np.asarray(arr, dtype=object)
    return arr


def needs_ort_value(dtype: str) -> bool:
    """True when onnxruntime cannot take (or give back) this dtype as a numpy array."""
    return dtype in ORTVALUE_ONLY


# --------------------------------------------------------------------------- user data


def load_array(name: str, source: Any) -> tuple[np.ndarray, str]:
    """``source`` (a path to a .npy file, or an array) -> (array, label for messages)."""
    if isinstance(source, np.ndarray):
        return source, f"the array given for input {name!r}"
    if isinstance(source, (np.generic, int, float, bool)):
        return np.asarray(source), f"the value given for input {name!r}"
    if not isinstance(source, (str, os.PathLike)):
        raise UsageError(f"input {name!r}: expected a numpy array or a .npy file path, got {type(source).__name__}")
    p = Path(source)
    label = f"--input {name}={p}"
    if not p.exists():
        raise UsageError(f"{label}: no such file")
    if p.is_dir():
        raise UsageError(f"{label}: is a directory, not a .npy file")
    try:
        arr = np.load(p, allow_pickle=False)
    except PermissionError:
        raise UsageError(f"{label}: permission denied") from None
    except (ValueError, OSError, EOFError) as exc:
        msg = " ".join(str(exc).split())[:200]
        raise UsageError(f"{label}: not a readable .npy array ({msg})") from None
    if not isinstance(arr, np.ndarray):  # .npz archive
        arr.close()
        raise UsageError(f"{label}: is an .npz archive; save one array per input with numpy.save")
    return arr, label


def check_user_array(name: str, arr: np.ndarray, dtype: str, declared, label: str) -> tuple[np.ndarray, dict[str, int]]:
    """Check a user array against the model input (dtype, rank, fixed dims).

    ``declared`` is the model's shape for the input (ints, dim names, None for
    unknown dims; None for unknown rank).  Returns the array (strings as an object
    array) and the values it gives to named dims.
    """
    if dtype == "string":
        if arr.dtype.kind not in "USO":
            raise UsageError(f"{label}: dtype {arr.dtype} does not match input {name!r} of dtype string")
        arr = arr.astype(object)
    else:
        want = np_dtype(dtype)
        if arr.dtype != want:
            raise UsageError(
                f"{label}: dtype {arr.dtype} does not match input {name!r} of dtype {dtype}"
                f" (convert it, e.g. numpy.save(path, a.astype('{want}')))"
            )
    bound: dict[str, int] = {}
    if declared is None:
        return arr, bound
    shown = "x".join(str(d) if d is not None else "?" for d in declared) or "scalar"
    got = "x".join(str(d) for d in arr.shape) or "scalar"
    if arr.ndim != len(declared):
        raise UsageError(f"{label}: shape {got} (rank {arr.ndim}) does not match input {name!r} of shape {shown} (rank {len(declared)})")
    for axis, (d, v) in enumerate(zip(declared, arr.shape)):
        if isinstance(d, int) and d > 0 and d != v:
            raise UsageError(f"{label}: shape {got} does not match input {name!r} of shape {shown} (dim {axis} must be {d})")
        if isinstance(d, str):
            if bound.get(d, v) != v:
                raise UsageError(f"{label}: shape {got} gives dim {d!r} two values ({bound[d]} and {v})")
            bound[d] = int(v)
    return arr, bound


def model_inputs(model: onnx.ModelProto) -> list[tuple[str, str, tuple | None]]:
    """The graph's real inputs (initializers excluded) as declared: (name, dtype, shape with dim names)."""
    from ..shapes.resolve import type_of

    inits = {t.name for t in model.graph.initializer}
    out = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        vt = type_of(vi.type)
        out.append((vi.name, vt.dtype, vt.shape))
    return out


def bind_user_inputs(
    declared: list[tuple[str, str, tuple | None]],
    user: Mapping[str, Any],
    input_shapes: Mapping[str, tuple],
    dims: Mapping[str, int],
) -> tuple[dict[str, np.ndarray], dict[str, tuple], dict[str, int]]:
    """Check user inputs and fold their shapes into ``input_shapes`` and ``dims``.

    Returns (arrays by input name, input_shapes, dims) so that shape resolution
    gives every other input the dims the user's arrays imply.
    """
    by_name = {n: (dt, shp) for n, dt, shp in declared}
    arrays: dict[str, np.ndarray] = {}
    shapes_out = dict(input_shapes)
    dims_out = dict(dims)
    origin: dict[str, str] = {d: f"--dim {d}={v}" for d, v in dims.items()}
    for name, source in (user or {}).items():
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise UsageError(f"--input names {name!r}, which is not a model input (inputs: {known})")
        arr, label = load_array(name, source)
        dtype, shp = by_name[name]
        arr, bound = check_user_array(name, arr, dtype, shp, label)
        if name in shapes_out and tuple(shapes_out[name]) != tuple(arr.shape):
            given = "x".join(str(d) for d in shapes_out[name])
            raise UsageError(f"{label}: shape {'x'.join(str(d) for d in arr.shape)} contradicts --input-shape {name}={given}")
        for d, v in bound.items():
            if d in dims_out and dims_out[d] != v:
                raise UsageError(f"{label}: dim {d!r} is {v} in this array but {dims_out[d]} in {origin[d]}")
            dims_out[d] = v
            origin.setdefault(d, label)
        shapes_out[name] = tuple(int(x) for x in arr.shape)
        arrays[name] = arr
    return arrays, shapes_out, dims_out


__all__ = [
    "DEFAULT_INT_RANGE", "make_inputs", "make_array", "np_dtype", "parse_int_range", "int_range_for",
    "to_ort_value", "bind_input", "ort_feed", "needs_ort_value", "load_array", "check_user_array", "bind_user_inputs", "model_inputs",
]
