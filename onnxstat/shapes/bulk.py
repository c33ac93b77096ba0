"""onnx's whole-graph inference, run once on a weight-free copy of the main graph: a
fast bulk answer for the nodes whose inputs it fully knows (the per-node pass takes
it where it is complete)."""

from __future__ import annotations

from ..model import _onnx as ox
from ..model.graph import GraphView
from ..model.loader import LoadedModel
from .fold import MAX_FOLD_ELEMENTS, has_data
from .value_types import ValueType, type_from_raw


def _bulk(lm: LoadedModel, inputs, main: GraphView) -> dict[str, tuple[ValueType, bytes]]:
    """onnx's whole-graph inference on a weight-free copy of the main graph, once: the
    types it fully knows (a fast answer for the plain parts of the graph)."""
    src = lm.model
    m = ox.ModelProto()
    m.ir_version = max(src.ir_version, 4)
    m.opset_import.extend(src.opset_import)
    m.functions.extend(src.functions)
    g = m.graph
    g.name = src.graph.name or "main"
    declared = {i.name: i for i in src.graph.input}
    for name, _dtype, shape in inputs:
        vi = g.input.add()
        vi.name = name
        if name in declared:
            vi.type.CopyFrom(declared[name].type)
        if shape is not None and vi.type.WhichOneof("value") == "tensor_type":
            vi.type.tensor_type.ClearField("shape")
            vi.type.tensor_type.shape.SetInParent()
            for d in shape:
                dim = vi.type.tensor_type.shape.dim.add()
                if isinstance(d, int):
                    dim.dim_value = d
                elif isinstance(d, str):
                    dim.dim_param = d
    for t in src.graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        if n <= MAX_FOLD_ELEMENTS and has_data(t):
            g.initializer.append(t)
        else:
            g.input.append(ox.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    for t in src.graph.sparse_initializer:
        g.input.append(ox.make_tensor_value_info(t.values.name, t.values.data_type, list(t.dims)))
    g.node.extend(src.graph.node)
    try:
        # no data propagation: the pass folds values itself, with its own size bounds, where
        # onnx's would materialise a Range or Tile of any size the graph asks for
        out = ox.infer_shapes(m, strict_mode=False, data_prop=False)
    except Exception:
        return {}
    got: dict[str, tuple[ValueType, bytes]] = {}
    for vi in out.graph.value_info:
        raw = vi.type.SerializeToString()
        vt = type_from_raw(raw)
        if vt.known:
            got[vi.name] = (vt, raw)
    return got
