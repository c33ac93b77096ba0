"""Skips for tests of what the installed onnx does not know yet.

pyproject.toml accepts ``onnx>=1.16`` and CI runs the suite on the lowest and the newest
onnx.  A test that builds a model with an opset or an element type newer than the
installed onnx knows cannot run there (onnx has no schema for the op, no shape inference,
no name for the type); it skips with the reason instead, and still runs in full on a
newer onnx.
"""

from __future__ import annotations

import onnx
import pytest
from onnx.onnx_cpp2py_export import defs as _defs

from op_handlers.base import DTYPES

#: the installed onnx's version string and the newest opset it knows per domain
ONNX_VERSION = onnx.__version__
_OPSETS = {domain: hi for domain, (_lo, hi) in _defs.schema_version_map().items()}
_DTYPE_CODES = {name: code for code, (name, _bits) in DTYPES.items()}


def opset_known(version: int, domain: str = "") -> bool:
    """Whether the installed onnx knows ``domain`` (ai.onnx by default) at ``version``."""
    return _OPSETS.get(domain, 0) >= version


def needs_opset(version: int, domain: str = ""):
    """Mark: skip unless the installed onnx knows the opset."""
    known = _OPSETS.get(domain)
    have = f"knows up to {known}" if known is not None else "does not know the domain"
    return pytest.mark.skipif(
        not opset_known(version, domain),
        reason=f"{domain or 'ai.onnx'} opset {version} is newer than onnx {ONNX_VERSION} knows ({have})",
    )


def at_opset(version: int, *more, domain: str = ""):
    """A parametrize value (``version`` then ``more``) that skips unless the opset is known."""
    return pytest.param(version, *more, marks=needs_opset(version, domain))


def dtype_known(dtype: int | str) -> bool:
    """Whether the installed onnx knows the element type (its TensorProto code or our name)."""
    code = _DTYPE_CODES[dtype] if isinstance(dtype, str) else dtype
    return code in onnx.TensorProto.DataType.values()


def needs_dtype(dtype: int | str):
    """Mark: skip unless the installed onnx knows the element type."""
    return pytest.mark.skipif(
        not dtype_known(dtype), reason=f"element type {dtype} is newer than onnx {ONNX_VERSION} knows"
    )


def onehot_depth_inferred() -> bool:
    """Whether the installed onnx's shape inference reads OneHot's constant depth into the
    output shape (onnx 1.16 leaves that dim unknown; onnxstat then relies on it)."""
    from onnx import TensorProto, helper, shape_inference

    depth = helper.make_tensor("d", TensorProto.INT64, [1], [5])
    values = helper.make_tensor("v", TensorProto.FLOAT, [2], [0.0, 1.0])
    g = helper.make_graph([helper.make_node("OneHot", ["i", "d", "v"], ["y"])], "g",
                          [helper.make_tensor_value_info("i", TensorProto.INT64, [3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [depth, values])
    m = shape_inference.infer_shapes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]))
    dims = m.graph.output[0].type.tensor_type.shape.dim
    return [d.dim_value for d in dims] == [3, 5]
