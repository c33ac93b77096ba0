"""The two parts of onnx that counting needs, loaded without the rest of the package.

``import onnx`` costs about 0.13 s: it imports numpy, ``onnx.helper``, the reference
tables and more.  Profiling needs only the protobuf classes (``onnx.onnx_ml_pb2``) and
the C++ extension (shape inference and operator schemas), which load in about 15 ms.
This module loads exactly those two, registered in ``sys.modules`` under their own
names, so that a later ``import onnx`` (ours, when a path needs numpy helpers, or the
caller's) reuses them: the classes are the same objects either way.

When onnx is already imported, or anything about the direct load looks unfamiliar,
the module falls back to a plain ``import onnx``; nothing here depends on which way
was taken.  ``ONNXSTAT_FULL_ONNX_IMPORT=1`` in the environment always takes the plain
import (a switch for diagnosing an onnx release whose layout differs).

Small replacements for the few ``onnx.helper`` / ``onnx.numpy_helper`` functions the
profile path calls are below; anything with numpy imports numpy on first use only.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from typing import Any, Sequence

_PB = "onnx.onnx_ml_pb2"
_EXT = "onnx.onnx_cpp2py_export"


def _load_direct() -> tuple[Any, Any]:
    spec = importlib.util.find_spec("onnx")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("onnx is not installed")
    folder = next(iter(spec.submodule_search_locations))
    ext = [f for f in os.listdir(folder)
           if f.startswith("onnx_cpp2py_export.") and f.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))]
    if len(ext) != 1:
        raise ImportError("onnx's C++ extension not found")
    mods = []
    for name, path, loader_cls in ((_PB, os.path.join(folder, "onnx_ml_pb2.py"), importlib.machinery.SourceFileLoader),
                                   (_EXT, os.path.join(folder, ext[0]), importlib.machinery.ExtensionFileLoader)):
        if name in sys.modules:
            mods.append(sys.modules[name])
            continue
        loader = loader_cls(name, path)
        mspec = importlib.util.spec_from_file_location(name, path, loader=loader)
        module = importlib.util.module_from_spec(mspec)
        sys.modules[name] = module
        try:
            loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        mods.append(module)
    sys.meta_path.insert(0, _AttachOnImport())
    return mods[0], mods[1]


class _AttachOnImport:
    """Meta-path hook: when the ``onnx`` package itself is imported later, make the
    two preloaded submodules attributes of it (an ordinary import would have)."""

    def find_spec(self, name, path=None, target=None):
        if name != "onnx":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        spec = importlib.util.find_spec("onnx")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module, _run=run):
            module.onnx_ml_pb2 = sys.modules[_PB]
            module.onnx_cpp2py_export = sys.modules[_EXT]
            _run(module)

        spec.loader.exec_module = exec_module
        return spec


def _load() -> tuple[Any, Any]:
    if "onnx" not in sys.modules and os.environ.get("ONNXSTAT_FULL_ONNX_IMPORT") != "1":
        try:
            return _load_direct()
        except Exception:  # an unfamiliar onnx layout: the ordinary import below
            for name in (_PB, _EXT):
                sys.modules.pop(name, None)
    import onnx  # noqa: F401
    import onnx.onnx_cpp2py_export as ext
    import onnx.onnx_ml_pb2 as pb
    return pb, ext


pb, C = _load()

ModelProto = pb.ModelProto
GraphProto = pb.GraphProto
NodeProto = pb.NodeProto
TensorProto = pb.TensorProto
AttributeProto = pb.AttributeProto
ValueInfoProto = pb.ValueInfoProto
TypeProto = pb.TypeProto
StringStringEntryProto = pb.StringStringEntryProto
IR_VERSION = pb.IR_VERSION
SchemaError = C.defs.SchemaError
InferenceError = C.shape_inference.InferenceError


def full():
    """The whole ``onnx`` package, for the rare paths that need its Python helpers."""
    import onnx

    return onnx


# --------------------------------------------------------------------------- schemas


def opset_version(domain: str = "") -> int:
    """The newest opset the installed onnx knows for ``domain`` (like onnx.defs.onnx_opset_version)."""
    return C.defs.schema_version_map()[domain][1]


def get_schema(op_type: str, version: int, domain: str = ""):
    """``onnx.defs.get_schema``; raises :data:`SchemaError` when there is none."""
    return C.defs.get_schema(op_type, version, domain)


def schema_default(attr_schema):
    """The default of a schema attribute as an AttributeProto (type UNDEFINED when it has
    none), as ``onnx.defs.OpSchema.Attribute.default_value`` gives it.

    The C++ schema object carries the default serialized (a private attribute the public
    property reads); when an onnx release renames it, the public property is used."""
    raw = getattr(attr_schema, "_default_value", None)
    if isinstance(raw, bytes):
        return AttributeProto.FromString(raw)
    full()  # the public property is defined by the onnx package itself
    return attr_schema.default_value


# --------------------------------------------------------------------------- helpers

_ATTR_FIELD = {
    AttributeProto.FLOAT: "f", AttributeProto.INT: "i", AttributeProto.STRING: "s",
    AttributeProto.TENSOR: "t", AttributeProto.SPARSE_TENSOR: "sparse_tensor",
    AttributeProto.GRAPH: "g", AttributeProto.TYPE_PROTO: "tp",
}
_ATTR_LIST = {
    AttributeProto.FLOATS: "floats", AttributeProto.INTS: "ints", AttributeProto.STRINGS: "strings",
    AttributeProto.TENSORS: "tensors", AttributeProto.SPARSE_TENSORS: "sparse_tensors",
    AttributeProto.GRAPHS: "graphs", AttributeProto.TYPE_PROTOS: "type_protos",
}


def get_attribute_value(a) -> Any:
    """``onnx.helper.get_attribute_value``: the attribute's value by its declared type."""
    if a.ref_attr_name:
        raise ValueError(f"cannot get the value of reference attribute {a.name!r}")
    if a.type in _ATTR_FIELD:
        return getattr(a, _ATTR_FIELD[a.type])
    if a.type in _ATTR_LIST:
        return list(getattr(a, _ATTR_LIST[a.type]))
    if a.type == AttributeProto.UNDEFINED:
        return None
    raise ValueError(f"attribute {a.name!r} has an unsupported type {a.type}")


def make_tensor_value_info(name: str, elem_type: int, shape: Sequence[int | str | None] | None):
    """``onnx.helper.make_tensor_value_info`` (no shape when ``shape`` is None)."""
    vi = ValueInfoProto(name=name)
    tt = vi.type.tensor_type
    tt.elem_type = elem_type
    if shape is not None:
        dims = tt.shape.dim
        tt.shape.SetInParent()
        for d in shape:
            dim = dims.add()
            if isinstance(d, str):
                dim.dim_param = d
            elif d is not None:
                dim.dim_value = int(d)
    return vi


# --------------------------------------------------------------------------- numpy (imported on first use)


class LazyNumpy:
    """Stands for numpy in a module's globals until first used, then replaces itself:
    ``np = LazyNumpy(globals())``.  A model without shape arithmetic never imports numpy."""

    def __init__(self, module_globals: dict) -> None:
        self._globals = module_globals

    def __getattr__(self, name: str):
        import numpy

        self._globals["np"] = numpy
        return getattr(numpy, name)


_NP_DTYPES = {
    TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64", TensorProto.FLOAT16: "float16",
    TensorProto.INT8: "int8", TensorProto.INT16: "int16", TensorProto.INT32: "int32", TensorProto.INT64: "int64",
    TensorProto.UINT8: "uint8", TensorProto.UINT16: "uint16", TensorProto.UINT32: "uint32",
    TensorProto.UINT64: "uint64", TensorProto.BOOL: "bool",
}
_TENSOR_DTYPES = {v: k for k, v in _NP_DTYPES.items()}
#: the typed field holding a tensor's values when it has no raw_data (int32_data for the rest)
_TYPED_FIELD = {"float32": "float_data", "float64": "double_data", "int64": "int64_data",
                "uint64": "uint64_data", "uint32": "uint64_data"}


def to_array(t):
    """``onnx.numpy_helper.to_array`` for a tensor whose data is in the message."""
    import numpy as np

    dtype = _NP_DTYPES.get(t.data_type)
    if dtype is not None and not t.external_data and t.data_location != TensorProto.EXTERNAL:
        dims = tuple(t.dims)
        if t.HasField("raw_data"):
            return np.frombuffer(t.raw_data, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(dims)
        if dtype != "float16":
            field = _TYPED_FIELD.get(dtype, "int32_data")
            return np.asarray(list(getattr(t, field)), dtype=dtype).reshape(dims)
    from onnx import numpy_helper

    return numpy_helper.to_array(t)


def from_array(arr, name: str):
    """``onnx.numpy_helper.from_array`` for plain numeric arrays (others go to onnx)."""
    import numpy as np

    arr = np.asarray(arr)
    code = _TENSOR_DTYPES.get(arr.dtype.name) if arr.dtype.isnative else None
    if code is None:
        from onnx import numpy_helper

        return numpy_helper.from_array(arr, name)
    t = TensorProto(name=name, data_type=code, dims=arr.shape)
    t.raw_data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
    return t


def np_dtype(tensor_dtype: int):
    """``onnx.helper.tensor_dtype_to_np_dtype``."""
    import numpy as np

    name = _NP_DTYPES.get(tensor_dtype)
    if name is not None:
        return np.dtype(name)
    return full().helper.tensor_dtype_to_np_dtype(tensor_dtype)


def dtype_spelling(tensor_dtype: int) -> str:
    """onnx's lower-case name of an element type (``float``, ``bfloat16``), as messages
    spell it; for a type the installed onnx is too old to name, our own name of it
    (``float4e2m1``), else ``data type N``."""
    try:
        return TensorProto.DataType.Name(tensor_dtype).lower()
    except ValueError:
        from op_handlers.base import DTYPES

        return DTYPES[tensor_dtype][0] if tensor_dtype in DTYPES else f"data type {tensor_dtype}"


def infer_shapes(model, *, strict_mode: bool = False, data_prop: bool = False):
    """``onnx.shape_inference.infer_shapes`` (types not checked)."""
    out = C.shape_inference.infer_shapes(model.SerializeToString(), False, strict_mode, data_prop)
    return ModelProto.FromString(out)


def infer_node(schema, node, input_types: dict[str, bytes], input_data: dict[str, bytes],
               opsets: dict[str, int], ir_version: int, functions: Sequence = ()) -> dict[str, bytes]:
    """onnx's own type and shape inference for one node: its output types (serialized
    ``TypeProto`` by output name) from its input types (serialized, also serving as the
    outer scope of its subgraphs) and the values of its constant inputs (serialized
    ``TensorProto``).  Raises :data:`InferenceError` when the node's inputs do not fit.

    onnx exposes this per node only through a private schema method (the one behind
    ``onnx.shape_inference.infer_node_outputs``); when that is missing or the schema
    has no inference function of its own (an op defined by a function body, or a
    model-local function, ``schema`` None), the node is inferred as a one-node model
    with the public whole-model inference instead."""
    fast = getattr(schema, "_infer_node_outputs", None) if schema is not None else None
    if fast is not None and schema.has_type_and_shape_inference_function:
        return fast(node.SerializeToString(), input_types, input_data, {}, opsets, ir_version)
    return _infer_node_as_model(node, input_types, input_data, opsets, ir_version, functions)


def _infer_node_as_model(node, input_types, input_data, opsets, ir_version, functions) -> dict[str, bytes]:
    m = ModelProto(ir_version=max(ir_version, 4))
    for domain, version in opsets.items():
        o = m.opset_import.add()
        o.domain, o.version = domain, version
    m.functions.extend(functions)
    g = m.graph
    g.name = "node"
    g.node.append(node)
    for name, tp in input_types.items():
        vi = g.input.add()
        vi.name = name
        vi.type.ParseFromString(tp)
    for name, data in input_data.items():
        t = g.initializer.add()
        t.ParseFromString(data)
        t.name = name
    for o in node.output:
        if o:
            g.output.add().name = o
    out = C.shape_inference.infer_shapes(m.SerializeToString(), False, True, True)
    inferred = ModelProto.FromString(out).graph
    got = {vi.name: vi.type.SerializeToString() for vi in list(inferred.value_info) + list(inferred.output)
           if vi.type.WhichOneof("value") is not None}
    return {o: got[o] for o in node.output if o in got}
