"""Shapes observed by running the model once in onnxruntime (``--shape-source ort``)."""

from __future__ import annotations

import onnx

from .errors import ModelError
from .loader import LoadedModel

#: onnxruntime's element type spelling -> onnxstat dtype name (others are spelled alike)
_ORT_DTYPE = {"float": "float32", "double": "float64"}


def ort_type_dtype(type_str: str) -> str | None:
    """``"tensor(float)"`` -> ``"float32"``; None for sequences, maps and optionals."""
    if not type_str.startswith("tensor(") or not type_str.endswith(")"):
        return None
    t = type_str[len("tensor("):-1]
    return _ORT_DTYPE.get(t, t)


def observe_shapes(lm: LoadedModel, inputs, seed: int = 0, int_range=None) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Run the model on generated inputs, every node output exposed as a graph output.

    Outputs are bound to CPU memory through IO binding and read as OrtValues, so no
    output is converted to numpy (bfloat16/float8 values and sequences are fine).
    """
    import onnxruntime as ort

    from .inputs import DEFAULT_INT_RANGE, bind_input, make_inputs

    model = onnx.ModelProto()
    model.CopyFrom(lm.full_model())
    existing = {o.name for o in model.graph.output}
    for n in model.graph.node:
        for o in n.output:
            if o and o not in existing:
                vi = model.graph.output.add()
                vi.name = o
                existing.add(o)
    feeds = make_inputs(inputs, seed=seed, int_range=int_range or DEFAULT_INT_RANGE)
    dtypes = {name: dtype for name, dtype, _shape in inputs}
    try:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        so.log_severity_level = 3
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        io = sess.io_binding()
        keep = [bind_input(io, name, arr, dtypes[name], "cpu", 0, ort=ort) for name, arr in feeds.items()]
        names = [o.name for o in sess.get_outputs()]
        for name in names:
            io.bind_output(name, "cpu")
        sess.run_with_iobinding(io)
        values = io.get_outputs()
        del keep
    except Exception as exc:
        raise ModelError(f"--shape-source ort: onnxruntime could not run the model: {' '.join(str(exc).split())[:300]}") from None
    out = {}
    for name, v in zip(names, values):
        if not v.is_tensor():
            continue
        dtype = ort_type_dtype(v.data_type())
        if dtype is not None:
            out[name] = (dtype, tuple(int(d) for d in v.shape()))
    return out
