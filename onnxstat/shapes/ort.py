"""Shapes observed by running the model once in onnxruntime (``--shape-source ort``)."""

from __future__ import annotations

import numpy as np
import onnx

from ..errors import ModelError, OnnxstatError
from ..model.loader import LoadedModel

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
    from ..extras import require
    from ..runtime.inputs import DEFAULT_INT_RANGE, bind_input, make_inputs, ort_feed
    from ..runtime.limits import check_loops
    from ..runtime.ort_log import captured, quiet

    check_loops(lm.model, None, "--shape-source ort")
    ort = require("onnxruntime", "--shape-source ort")

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
    log = None
    try:
        so = quiet(ort)
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        with captured() as log:
            sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        if "string" in dtypes.values():
            # IO binding takes no string tensors: plain run, outputs come back as numpy
            with captured() as log:
                values = sess.run(names, {n: ort_feed(a, dtypes[n], ort=ort) for n, a in feeds.items()})
            observed = [(np_dtype_name(v.dtype), v.shape) if isinstance(v, np.ndarray) else None for v in values]
        else:
            io = sess.io_binding()
            keep = [bind_input(io, name, arr, dtypes[name], "cpu", 0, ort=ort) for name, arr in feeds.items()]
            for name in names:
                io.bind_output(name, "cpu")
            with captured() as log:
                sess.run_with_iobinding(io)
            values = io.get_outputs()
            del keep
            observed = [(ort_type_dtype(v.data_type()), v.shape()) if v.is_tensor() else None for v in values]
    except OnnxstatError:
        raise
    except Exception as exc:
        msg = f"--shape-source ort: onnxruntime could not run the model: {' '.join(str(exc).split())[:300]}"
        raise ModelError(log.fold(msg) if log is not None else msg) from None
    if log is not None and log.messages():
        raise ModelError(log.fold("--shape-source ort: onnxruntime could not run the model"))
    out = {}
    for name, obs in zip(names, observed):
        if obs is not None and obs[0] is not None:
            out[name] = (obs[0], tuple(int(d) for d in obs[1]))
    return out


def np_dtype_name(dt) -> str | None:
    """numpy dtype -> onnxstat dtype name (object arrays are strings)."""
    if dt == np.dtype(object) or dt.kind in "US":
        return "string"
    try:
        from op_handlers.base import dtype_name

        return dtype_name(onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dt)))
    except Exception:
        return None
