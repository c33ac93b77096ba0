"""The data model every handler works with: tensors, the node context and the cost record.

A handler is a pure function ``handler(ctx: NodeContext) -> Cost``.  It reads only
what the context offers (op type, domain, opset, attributes with schema defaults,
input/output shapes and dtypes, which inputs are constant weights) and returns a
cost record.  It does no I/O and keeps no state, so it can be tested by building a
context by hand and calling it.

Dims are plain Python numbers (exact integers, never wrapped) or any object that
supports ``+``, ``-``, ``*``, ``//`` and comparison (the symbolic mode passes
sympy expressions).  Handlers therefore only use arithmetic on dims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

# --------------------------------------------------------------------------- dtypes

#: ONNX TensorProto.DataType enum -> (name, bits per element).  Names follow numpy
#: where numpy has the type; sub-byte and float8 types use ONNX's spelling.
DTYPES: dict[int, tuple[str, int]] = {
    1: ("float32", 32),
    2: ("uint8", 8),
    3: ("int8", 8),
    4: ("uint16", 16),
    5: ("int16", 16),
    6: ("int32", 32),
    7: ("int64", 64),
    8: ("string", 0),
    9: ("bool", 8),
    10: ("float16", 16),
    11: ("float64", 64),
    12: ("uint32", 32),
    13: ("uint64", 64),
    14: ("complex64", 64),
    15: ("complex128", 128),
    16: ("bfloat16", 16),
    17: ("float8e4m3fn", 8),
    18: ("float8e4m3fnuz", 8),
    19: ("float8e5m2", 8),
    20: ("float8e5m2fnuz", 8),
    21: ("uint4", 4),
    22: ("int4", 4),
    23: ("float4e2m1", 4),
    24: ("float8e8m0", 8),
    25: ("uint2", 2),
    26: ("int2", 2),
}
DTYPE_BITS: dict[str, int] = {name: bits for name, bits in DTYPES.values()}
FLOAT_DTYPES = frozenset(
    n for n in DTYPE_BITS if n.startswith(("float", "bfloat", "complex"))
)
INT_DTYPES = frozenset(n for n in DTYPE_BITS if n.startswith(("int", "uint")))
SHAPE_DTYPES = frozenset({"int64"})


def dtype_name(elem_type: int) -> str:
    """ONNX element type number -> dtype name (``"undefined"`` for 0 or unknown)."""
    return DTYPES.get(elem_type, ("undefined", 0))[0]


def nbytes(numel: Any, dtype: str) -> Any:
    """Storage bytes of ``numel`` elements of ``dtype``; sub-byte types round up."""
    bits = DTYPE_BITS.get(dtype, 0)
    if bits % 8 == 0:
        return numel * (bits // 8)
    return -((-numel * bits) // 8)  # ceil without floats


def prod(values: Iterable[Any]) -> Any:
    out: Any = 1
    for v in values:
        out = out * v
    return out


# --------------------------------------------------------------------------- tensors


@dataclass(frozen=True)
class TensorInfo:
    """A tensor as a handler sees it.

    ``shape`` is a tuple of dims, or ``None`` when the rank is unknown.
    ``is_const`` is true for initializers and ``Constant`` outputs (and for values the
    library folded from them); ``is_weight`` marks the constants that are model
    parameters (initializers / Constant nodes), as opposed to folded shape values.
    """

    name: str
    dtype: str = "undefined"
    shape: tuple[Any, ...] | None = None
    is_const: bool = False
    is_weight: bool = False

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @cached_property
    def numel(self) -> Any:
        if self.shape is None:
            return 0
        return prod(self.shape)

    @cached_property
    def nbytes(self) -> Any:
        return nbytes(self.numel, self.dtype)


@dataclass(frozen=True)
class WeightUse:
    """A constant tensor a node consumes as a parameter."""

    name: str
    dtype: str
    numel: Any
    nbytes: Any


@dataclass(frozen=True)
class NodeContext:
    """Read-only view of one node, everything a handler may use."""

    op_type: str
    domain: str = ""
    opset: int = 0
    name: str = ""
    attrs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    inputs: tuple[TensorInfo | None, ...] = ()
    outputs: tuple[TensorInfo | None, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.attrs, MappingProxyType):
            object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))

    # -- access helpers ------------------------------------------------------
    def attr(self, name: str, default: Any = None) -> Any:
        value = self.attrs.get(name)
        return default if value is None else value

    def input(self, i: int) -> TensorInfo | None:
        """Input ``i`` or ``None`` when absent (omitted optional inputs are ``None``)."""
        if 0 <= i < len(self.inputs):
            return self.inputs[i]
        return None

    def output(self, i: int) -> TensorInfo | None:
        if 0 <= i < len(self.outputs):
            return self.outputs[i]
        return None

    def has_input(self, i: int) -> bool:
        return self.input(i) is not None

    def in_shape(self, i: int) -> tuple[Any, ...]:
        t = self.input(i)
        if t is None or t.shape is None:
            raise ShapeUnknown(f"input {i} of {self.op_type} has no known shape")
        return t.shape

    def out_shape(self, i: int = 0) -> tuple[Any, ...]:
        t = self.output(i)
        if t is None or t.shape is None:
            raise ShapeUnknown(f"output {i} of {self.op_type} has no known shape")
        return t.shape

    def in_numel(self, i: int) -> Any:
        return prod(self.in_shape(i))

    def out_numel(self, i: int = 0) -> Any:
        return prod(self.out_shape(i))

    @property
    def present_inputs(self) -> tuple[TensorInfo, ...]:
        return tuple(t for t in self.inputs if t is not None)

    @property
    def present_outputs(self) -> tuple[TensorInfo, ...]:
        return tuple(t for t in self.outputs if t is not None)

    # -- building cost records ----------------------------------------------
    def weights(self, indices: Iterable[int] | None = None) -> tuple[WeightUse, ...]:
        """Weight uses for the given inputs that are weights.

        ``None`` selects every constant input except int64 ones (the operands of
        shape arithmetic); single-element literals count their bytes but no
        parameters.  Explicit indices count whatever is constant there.
        """
        implicit = indices is None
        idx = range(len(self.inputs)) if implicit else indices
        out = []
        for i in idx:
            t = self.input(i)
            if t is None or not t.is_weight or t.shape is None:
                continue
            if implicit and t.dtype in SHAPE_DTYPES:
                continue  # int64 operands of shape arithmetic are not parameters
            if len(t.shape) == 0:
                # a 0-d literal (the 0.5 of a decomposed GELU, a √d scale) is stored (weight
                # bytes) but is not a parameter; a 1-element bias of shape (1,) still is
                out.append(WeightUse(t.name, t.dtype, 0, t.nbytes))
                continue
            out.append(WeightUse(t.name, t.dtype, t.numel, t.nbytes))
        return tuple(out)

    def io_bytes(
        self,
        read_inputs: Iterable[int] | None = None,
        write_outputs: Iterable[int] | None = None,
    ) -> tuple[Any, Any]:
        """Bytes read (listed inputs, default all) and written (listed outputs, default all)."""
        ins = range(len(self.inputs)) if read_inputs is None else read_inputs
        outs = range(len(self.outputs)) if write_outputs is None else write_outputs
        r = sum((self.inputs[i].nbytes for i in ins if self.input(i) is not None), 0)
        w = sum((self.outputs[i].nbytes for i in outs if self.output(i) is not None), 0)
        return r, w

    def cost(
        self,
        macs: Any = 0,
        flops: Any = 0,
        *,
        weights: Iterable[int] | None = (),
        bytes_read: Any = None,
        bytes_written: Any = None,
        compute_dtype: str | None = None,
        notes: Sequence[str] = (),
    ) -> "Cost":
        """Build a :class:`Cost` with memory traffic defaulting to all inputs + outputs.

        ``weights`` lists the input indices that are parameters when constant
        (``None`` means every constant weight input).
        """
        r, w = self.io_bytes()
        return Cost(
            macs=macs,
            flops=flops,
            bytes_read=r if bytes_read is None else bytes_read,
            bytes_written=w if bytes_written is None else bytes_written,
            weights=self.weights(weights),
            compute_dtype=compute_dtype or self.default_compute_dtype(),
            notes=tuple(notes),
        )

    def default_compute_dtype(self) -> str:
        """The dtype the arithmetic runs in: first float input, else first input, else output."""
        cands = [t for t in self.present_inputs if t.dtype != "undefined"]
        for t in cands:
            if t.dtype in FLOAT_DTYPES:
                return t.dtype
        if cands:
            return cands[0].dtype
        for t in self.present_outputs:
            if t.dtype != "undefined":
                return t.dtype
        return "undefined"


class ShapeUnknown(Exception):
    """Raised by a handler when a shape it needs is unknown."""


# --------------------------------------------------------------------------- cost record


@dataclass(frozen=True)
class Cost:
    """What one node costs.

    ``macs``: multiply-accumulates (dense linear algebra only).
    ``flops``: floating/integer operations (one multiply or one add = 1).
    ``bytes_read`` / ``bytes_written``: memory traffic, by each tensor's own dtype.
    ``weights``: the constant parameter tensors the node consumes.
    ``compute_dtype``: the precision the arithmetic runs in.
    ``subgraph``: for control flow, the nodes of the branch/body counted (set by the library).
    """

    macs: Any = 0
    flops: Any = 0
    bytes_read: Any = 0
    bytes_written: Any = 0
    weights: tuple[WeightUse, ...] = ()
    compute_dtype: str = "undefined"
    notes: tuple[str, ...] = ()

    @property
    def params(self) -> Any:
        return sum((w.numel for w in self.weights), 0)

    @property
    def weight_bytes(self) -> Any:
        return sum((w.nbytes for w in self.weights), 0)

    @property
    def memory_traffic_bytes(self) -> Any:
        return self.bytes_read + self.bytes_written
