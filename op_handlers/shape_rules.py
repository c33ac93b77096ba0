"""Shape arithmetic for the shape rules of ops onnx's inference does not know.

A shape rule sits next to its op's cost handler (``register(..., shape_rule=...)``)
and gives the op's output types from its inputs: ``rule(ctx) -> [(dtype, shape) or
None per output]``.  ``ctx`` is the node's :class:`NodeContext` with its inputs
resolved and no outputs; a rule returns None for an output it cannot tell (an input
of unknown shape, say).  The helpers below are the arithmetic the rules share.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from .base import NodeContext, TensorInfo

OutType = Optional[tuple[str, tuple]]


def known(t: TensorInfo | None) -> bool:
    """A tensor whose every dim is a concrete int."""
    return t is not None and t.shape is not None and all(isinstance(d, int) for d in t.shape)


def dtype_of(t: TensorInfo | None, default: str = "float32") -> str:
    return t.dtype if t is not None and t.dtype != "undefined" else default


def out(shape: Sequence[Any] | None, dtype: str) -> OutType:
    return None if shape is None else (dtype, tuple(shape))


def broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    """numpy broadcasting of two shapes (None when they do not broadcast)."""
    res = []
    for x, y in zip(reversed(([1] * (len(b) - len(a))) + list(a)), reversed(([1] * (len(a) - len(b))) + list(b))):
        if x == y or y == 1:
            res.append(x)
        elif x == 1:
            res.append(y)
        else:
            return None
    return tuple(reversed(res))


def matmul_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    """numpy.matmul result shape (1-D operands promoted and squeezed)."""
    a1, b1 = len(a) == 1, len(b) == 1
    a = (1, *a) if a1 else tuple(a)
    b = (*b, 1) if b1 else tuple(b)
    if a[-1] != b[-2]:
        return None
    batch = broadcast(a[:-2], b[:-2])
    if batch is None:
        return None
    res = list(batch) + [a[-2], b[-1]]
    if a1:
        res.pop(-2)
    if b1:
        res.pop(-1)
    return tuple(res)


def _pads(attrs, n: int) -> list[int]:
    pads = list(attrs.get("pads") or [0] * (2 * n))
    return pads if len(pads) == 2 * n else [0] * (2 * n)


def window_out(size: int, k: int, stride: int, dil: int, pb: int, pe: int, auto_pad: str, ceil: bool = False) -> int:
    """Output length of a sliding window (conv / pool) along one axis."""
    ek = (k - 1) * dil + 1
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return -(-size // stride)
    if auto_pad == "VALID":
        return (size - ek) // stride + 1
    num = size + pb + pe - ek
    return (-(-num // stride) if ceil else num // stride) + 1


def conv_shape(x: Sequence[int], w: Sequence[int], attrs) -> tuple[int, ...]:
    n = len(x) - 2
    k = attrs.get("kernel_shape") or list(w[2:])
    strides = attrs.get("strides") or [1] * n
    dil = attrs.get("dilations") or [1] * n
    pads = _pads(attrs, n)
    ap = str(attrs.get("auto_pad", "NOTSET"))
    spatial = [window_out(x[2 + i], k[i], strides[i], dil[i], pads[i], pads[i + n], ap) for i in range(n)]
    return (x[0], w[0], *spatial)


def pool_shape(x: Sequence[int], attrs) -> tuple[int, ...] | None:
    k = attrs.get("kernel_shape")
    if not k:
        return None
    n = len(k)
    strides = attrs.get("strides") or [1] * n
    dil = attrs.get("dilations") or [1] * n
    pads = _pads(attrs, n)
    ap = str(attrs.get("auto_pad", "NOTSET"))
    ceil = bool(attrs.get("ceil_mode", 0))
    if attrs.get("channels_last"):
        spatial = [window_out(x[1 + i], k[i], strides[i], dil[i], pads[i], pads[i + n], ap, ceil) for i in range(n)]
        return (x[0], *spatial, x[-1])
    spatial = [window_out(x[2 + i], k[i], strides[i], dil[i], pads[i], pads[i + n], ap, ceil) for i in range(n)]
    return (x[0], x[1], *spatial)


def trans_last(s: Sequence[int], flag: Any) -> tuple:
    """The shape with its last two dims swapped when ``flag`` is set."""
    if not flag or len(s) < 2:
        return tuple(s)
    return (*s[:-2], s[-1], s[-2])


# --------------------------------------------------------------------------- rules several ops share


def same_as_first(ctx: NodeContext) -> list[OutType]:
    """Output 0 has input 0's dtype and shape (elementwise and normalisation ops)."""
    x = ctx.input(0)
    return [out(x.shape, x.dtype)] if known(x) else [None]


def past_len(past: TensorInfo | None, axis: int) -> int:
    """Length of a KV-cache input along ``axis`` (0 when absent)."""
    if not known(past) or len(past.shape) <= axis:
        return 0
    return past.shape[axis]


def gemm_mn(ctx: NodeContext, a: Sequence[int], b: Sequence[int]) -> tuple:
    """(M, N) of a Gemm-like op with transA / transB."""
    m = a[1] if ctx.attr("transA") else a[0]
    n = b[0] if ctx.attr("transB") else b[1]
    return (m, n)
