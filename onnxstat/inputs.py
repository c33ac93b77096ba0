"""Inputs generated from a model signature (shared by bench and shape observation)."""

from __future__ import annotations

import numpy as np
import onnx

from .errors import UsageError

DEFAULT_INT_RANGE = (0, 2)


def np_dtype(dtype: str):
    """onnxstat dtype name -> numpy dtype (bfloat16/float8/int4 via ml_dtypes)."""
    if dtype == "string":
        return np.dtype(object)
    if dtype == "bool":
        return np.dtype(bool)
    try:
        return np.dtype(dtype)
    except TypeError:
        pass
    try:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, dtype))
    except (ImportError, AttributeError, TypeError):
        raise UsageError(f"cannot generate input data of dtype {dtype}") from None


def make_array(dtype: str, shape, rng: np.random.Generator, int_range=DEFAULT_INT_RANGE) -> np.ndarray:
    shape = tuple(int(d) for d in (shape or ()))
    dt = np_dtype(dtype)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype == "string":
        return np.full(shape, "a", dtype=object)
    if dtype.startswith(("int", "uint")):
        lo, hi = int_range
        return rng.integers(lo, hi, size=shape, endpoint=False).astype(dt)
    if dtype.startswith("complex"):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    return rng.standard_normal(shape).astype(np.float32).astype(dt)


def make_inputs(inputs, seed: int = 0, int_range=DEFAULT_INT_RANGE) -> dict[str, np.ndarray]:
    """``[(name, dtype, shape)]`` -> feeds."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, dtype, shape in inputs:
        if shape is None:
            raise UsageError(f"input {name!r} has an unknown shape; give --input-shape {name}=...")
        feeds[name] = make_array(dtype, shape, rng, int_range)
    return feeds


__all__ = ["make_inputs", "make_array", "np_dtype", "onnx"]
