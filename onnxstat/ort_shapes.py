"""Shapes observed by running the model once in onnxruntime (``--shape-source ort``)."""

from __future__ import annotations

import numpy as np
import onnx

from .errors import ModelError
from .loader import LoadedModel
from op_handlers.base import dtype_name


def observe_shapes(lm: LoadedModel, inputs) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Run the model on generated inputs, every node output exposed as a graph output."""
    import onnxruntime as ort

    from .inputs import make_inputs

    model = onnx.ModelProto()
    model.CopyFrom(lm.full_model())
    existing = {o.name for o in model.graph.output}
    for n in model.graph.node:
        for o in n.output:
            if o and o not in existing:
                vi = model.graph.output.add()
                vi.name = o
                existing.add(o)
    feeds = make_inputs(inputs, seed=0)
    try:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        so.log_severity_level = 3
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        values = sess.run(names, feeds)
    except Exception as exc:
        raise ModelError(f"--shape-source ort: onnxruntime could not run the model: {' '.join(str(exc).split())[:300]}") from None
    out = {}
    for name, v in zip(names, values):
        if isinstance(v, np.ndarray):
            out[name] = (_np_dtype_name(v.dtype), tuple(int(d) for d in v.shape))
    return out


def _np_dtype_name(dt) -> str:
    try:
        return dtype_name(onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dt)))
    except Exception:
        return str(dt)
