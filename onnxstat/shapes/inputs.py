"""The model's inputs in the shape pass: parsing what the caller gives (``--input-shape``,
``--dim``, ``--input-value``), and the concrete input types it makes: whole shapes
replaced, named dims set, a dim still unknown set to 1 (``defaulted_dims``)."""

from __future__ import annotations

import re
from typing import Mapping

from ..errors import UsageError
from ..model import _onnx as ox
from ..model.loader import LoadedModel
from .fold import MAX_FOLD_ELEMENTS
from .scopes import Shapes
from .value_types import _fmt_shape, type_of

np = ox.LazyNumpy(globals())  # numpy is imported when a value is first used

_SHAPE_RE = re.compile(r"^\s*(\d+)(\s*[x,]\s*\d+)*\s*$")


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1x3x224x224"`` (or with commas) -> (1, 3, 224, 224)."""
    t = text.strip().strip("[]()")
    if t == "":
        return ()
    if not _SHAPE_RE.match(t):
        raise UsageError(f"bad shape {text!r}: expected dims like 1x3x224x224")
    dims = tuple(int(d) for d in re.split(r"\s*[x,]\s*", t.strip()))
    for d in dims:
        if d < 0:
            raise UsageError(f"bad shape {text!r}: dims must be zero or positive")
    return dims


def parse_assignments(items, what: str, value_parser) -> dict:
    out = {}
    for item in items or ():
        if "=" not in item:
            raise UsageError(f"bad {what} {item!r}: expected NAME=VALUE")
        name, _, value = item.rpartition("=")
        name = name.strip()
        if not name:
            raise UsageError(f"bad {what} {item!r}: empty name")
        out[name] = value_parser(value)
    return out


def parse_input_value(text: str) -> np.ndarray:
    """``"16000"`` -> 0-d array; ``"1,2,3"`` -> 1-D array (ints when every item is one)."""
    items = [t.strip() for t in text.split(",")]
    try:
        nums = [int(t) for t in items]
    except ValueError:
        try:
            nums = [float(t) for t in items]
        except ValueError:
            raise UsageError(f"bad input value {text!r}: expected numbers like 16000 or 1,2,3") from None
    return np.array(nums[0] if len(nums) == 1 else nums)


def parse_dim_value(text: str) -> int:
    try:
        v = int(text.strip())
    except ValueError:
        raise UsageError(f"bad dim value {text!r}: expected a whole number (0 or more)") from None
    if v < 0:
        raise UsageError(f"bad dim value {text!r}: dims must be zero or positive")
    return v

def _input_types(lm: LoadedModel, input_shapes: Mapping[str, tuple], dims: Mapping[str, int], sh: Shapes, symbolic: bool):
    g = lm.model.graph
    inits = {t.name for t in g.initializer} | {t.values.name for t in g.sparse_initializer}
    real_inputs = [i for i in g.input if i.name not in inits]
    names = {i.name for i in real_inputs}
    for name in input_shapes:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise UsageError(f"--input-shape names {name!r}, which is not a model input (inputs: {known})")
    result = []
    for vi in real_inputs:
        vt = type_of(vi.type)
        if vi.name in input_shapes:
            new = tuple(input_shapes[vi.name])
            if vt.shape is not None and len(vt.shape) != len(new):
                raise UsageError(
                    f"--input-shape {vi.name}: rank {len(new)} does not match the model's rank {len(vt.shape)} "
                    f"({_fmt_shape(vt.shape)})"
                )
            # named dims take the value given for this input
            if vt.shape is not None:
                for d, nd in zip(vt.shape, new):
                    if isinstance(d, str) and d not in dims:
                        sh.dims.setdefault(d, nd)
            result.append((vi.name, vt.dtype, new))
            continue
        if vt.shape is None:
            sh.warnings.append(f"input {vi.name!r} has unknown rank; give --input-shape {vi.name}=...")
            result.append((vi.name, vt.dtype, None))
            continue
        shape: list = []
        for k, d in enumerate(vt.shape):
            if isinstance(d, int) and d >= 0:
                shape.append(d)
            elif isinstance(d, str) and d in dims:
                shape.append(int(dims[d]))
            elif isinstance(d, str) and d in sh.dims:
                shape.append(sh.dims[d])
            elif symbolic and isinstance(d, str):
                shape.append(d)
            else:
                label = d if isinstance(d, str) else f"{vi.name}[{k}]"
                sh.unresolved.setdefault(label, f"input {vi.name!r}")
                sh.defaulted_dims.setdefault(label, 1)
                if isinstance(d, str):
                    sh.dims.setdefault(d, 1)
                shape.append(1)
        result.append((vi.name, vt.dtype, tuple(shape)))
    for d, v in dims.items():
        sh.dims.setdefault(d, int(v))
    return result


def _input_dim_names(lm: LoadedModel) -> set[str]:
    return {d for vi in lm.model.graph.input for d in (type_of(vi.type).shape or ()) if isinstance(d, str)}

def _given_values(lm: LoadedModel, values: Mapping[str, np.ndarray], input_shapes: dict) -> dict[str, np.ndarray]:
    """User-given input values, cast to the inputs' dtypes; their shapes become the inputs' shapes."""
    if not values:
        return {}
    from ..runtime.inputs import np_dtype

    inits = {t.name for t in lm.model.graph.initializer}
    declared = {i.name: type_of(i.type) for i in lm.model.graph.input if i.name not in inits}
    out = {}
    for name, value in values.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(f"--input-value names {name!r}, which is not a model input (inputs: {known})")
        arr = np.asarray(value)
        if arr.size > MAX_FOLD_ELEMENTS:
            raise UsageError(f"--input-value {name}: {arr.size} elements; values are for small inputs "
                             f"(at most {MAX_FOLD_ELEMENTS})")
        try:
            with np.errstate(all="ignore"):
                arr = arr.astype(np_dtype(declared[name].dtype))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--input-value {name}: cannot be {declared[name].dtype}: {exc}") from None
        shape = declared[name].shape
        fixed = [d for d in shape if isinstance(d, int)] if shape is not None else []
        if shape is not None and arr.ndim != len(shape) and arr.size == int(np.prod(fixed or [1])):
            arr = arr.reshape([d if isinstance(d, int) else 1 for d in shape])
        input_shapes.setdefault(name, tuple(arr.shape))
        out[name] = arr
    return out


def _check_given_shapes(given: dict[str, np.ndarray], inputs) -> None:
    for name, _dtype, shape in inputs:
        if name in given and shape is not None and tuple(given[name].shape) != tuple(shape):
            raise UsageError(f"--input-value {name}: shape {list(given[name].shape)} does not match the input's "
                             f"{_fmt_shape(shape)}")
