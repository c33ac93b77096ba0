"""``--simplify``: onnx-simplifier before counting, when it can run."""

from __future__ import annotations

from ..model.loader import LoadedModel


def simplify_loaded(lm: LoadedModel, inputs) -> tuple[LoadedModel | None, str]:
    """(simplified model, "") or (None, reason it could not run)."""
    if not lm.weights_available:
        loc, why = next(iter(lm.external_problems.items()))
        return None, f"weight data is not available (external file {loc!r} is {why})"
    try:
        import onnxsim
    except ImportError:
        from ..extras import missing_message

        return None, missing_message("onnxsim", "--simplify")
    try:
        full = lm.full_model()
    except MemoryError:
        return None, "the weights could not be loaded (out of memory)"
    except Exception as exc:
        why = " ".join(str(exc).split())[:200] or type(exc).__name__
        return None, f"the weights could not be loaded ({why})"
    shapes = {name: list(shape) for name, _dtype, shape in inputs if shape is not None}
    from .ort_log import captured, quiet_default_logger

    quiet_default_logger()  # onnxsim's own onnxruntime sessions log through the default logger
    try:
        with captured():  # and what native code still prints is not a line of its own
            model, ok = onnxsim.simplify(full, overwrite_input_shapes=shapes or None)
    except Exception as exc:  # onnxsim raises many kinds of errors
        msg = " ".join(str(exc).split())[:200]
        return None, f"onnx-simplifier failed ({type(exc).__name__}: {msg})"
    if not ok:
        return None, "onnx-simplifier could not validate the simplified model"
    return LoadedModel(model=model, path=lm.path, file_size=lm.file_size), ""
