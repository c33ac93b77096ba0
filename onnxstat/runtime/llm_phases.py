"""The phases of ``onnxstat llm``: what one prefill or decode step costs, from the graph alone.

:func:`phase_inputs` sizes every input of a decoder for ``seq`` new tokens after ``past``
cached ones; :func:`fit_decode_formula` recovers the exact polynomial in ``past`` of the
decode costs from concrete profiles at probe lengths and :func:`sum_over_past` sums it
over a generation; :func:`kv_cache` gives the cache bytes per token and at the context;
:func:`phase_roofline` the roofline time of one phase on a device.  See
:mod:`onnxstat.runtime.llm` for the whole picture.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping, Sequence

from ..errors import UsageError
from .llm_signature import KVPair, Signature

#: extra past lengths at which the decode formula is fitted and checked (besides the reported points)
FIT_PROBES = (64, 130, 288, 450)
#: the formula: a polynomial in past of at most this degree
MAX_DEGREE = 2
METRICS = ("macs", "flops", "memory_traffic_bytes")


# --------------------------------------------------------------------------- inputs and profiles of a phase


def phase_inputs(sig: Signature, batch: int, seq: int, past: int, input_shapes: Mapping[str, Any] | None = None,
                 dims: Mapping[str, int] | None = None) -> tuple[dict, dict, dict]:
    """(input_shapes, dims, input_values) for ``seq`` new tokens after ``past`` cached ones."""
    total = past + seq
    d = dict(dims or {})
    for name, v in ((sig.batch_dim, batch), (sig.seq_dim, seq), (sig.past_dim, past), (sig.total_dim, total)):
        if isinstance(name, str):
            d[name] = v
    shapes = dict(input_shapes or {})
    shapes[sig.ids] = (batch, seq)
    if sig.mask:
        shapes[sig.mask] = (batch, total)
    if sig.positions:
        rank = len(sig.declared[sig.positions][1] or (0, 0))
        shapes[sig.positions] = (batch, seq) if rank == 2 else (seq,)
    values: dict[str, Any] = {}
    if sig.seqlens_k:
        shapes[sig.seqlens_k] = (batch,)
        values[sig.seqlens_k] = [total - 1] * batch
    if sig.total_len:
        shapes[sig.total_len] = tuple(1 for _ in (sig.declared[sig.total_len][1] or ()))
        values[sig.total_len] = total if not shapes[sig.total_len] else [total]
    if sig.use_cache:
        values[sig.use_cache] = [past > 0] if sig.declared[sig.use_cache][1] else past > 0
    for p in sig.self_kv:
        shapes[p.input] = _cache_shape(p, batch, past, sig.batch_dim, d)
    return shapes, d, values


def _cache_shape(p: KVPair, batch: int, past: int, batch_dim: Any, dims: Mapping[str, int]) -> tuple[int, ...]:
    out = []
    for k, v in enumerate(p.shape):
        if k == p.axis:
            out.append(past)
        elif k == 0 or (isinstance(v, str) and v == batch_dim):
            out.append(batch)
        elif isinstance(v, int):
            out.append(v)
        elif v in dims:
            out.append(int(dims[v]))
        else:
            raise UsageError(f"{p.input} {list(p.shape)}: give the value of dim {v!r} with --dim {v}=N")
    return tuple(out)


def _profile_phase(lm, sig: Signature, batch: int, seq: int, past: int, input_shapes, dims):
    from ..profiler import _profile, norm_dims, norm_input_shapes
    from ..result import gc_paused

    shapes, d, values = phase_inputs(sig, batch, seq, past, input_shapes, dims)
    with gc_paused():
        return _profile(lm, norm_input_shapes(shapes), norm_dims(d), False, "onnx", None, values)


def _totals(res) -> dict[str, int]:
    t = res.totals
    return {"macs": t.macs, "flops": t.flops, "memory_traffic_bytes": t.memory_traffic_bytes}


def fit_decode_formula(samples: Mapping[int, Mapping[str, int]]) -> dict[str, Any] | None:
    """Exact polynomial in ``past`` through every (past, totals) sample, or None.

    The lowest degree (0..MAX_DEGREE) whose rational solve reproduces every sample
    is taken; at least three samples more than unknowns are required.
    """
    import sympy

    from ..passes.symbolic import _solve, symbol

    x = symbol("past")
    pasts = sorted(samples)
    out = {}
    for m in METRICS:
        ys = [samples[p][m] for p in pasts]
        if any(not isinstance(y, int) for y in ys):
            return None
        expr = None
        for deg in range(MAX_DEGREE + 1):
            if len(pasts) < deg + 1 + 3:
                break
            sol = _solve([[p**k for k in range(deg + 1)] for p in pasts], ys)
            if sol is not None:
                expr = sympy.expand(sum(sympy.Rational(c.numerator, c.denominator) * x**k for k, c in enumerate(sol)))
                break
        if expr is None:
            return None
        out[m] = expr
    return out


def sum_over_past(expr: Any, first: int, count: int) -> int | Fraction:
    """Exact sum of a polynomial in ``past`` over past = first .. first + count - 1."""
    import sympy

    from ..passes.symbolic import evaluate, symbol

    if count <= 0:
        return 0
    x, n = symbol("past"), symbol("_n")
    total = sympy.summation(expr, (x, first, n))
    return evaluate(total, {"_n": first + count - 1})


def _cost(res) -> dict:
    t = res.totals
    return {"macs": t.macs, "flops": t.flops, "bytes": t.memory_traffic_bytes,
            "weight_bytes": t.weight_bytes}


# --------------------------------------------------------------------------- KV cache


def kv_cache(sig: Signature, batch: int, context: int, dims: Mapping[str, int] | None = None) -> dict:
    """Bytes per token and at ``context`` tokens x ``batch`` (see :mod:`onnxstat.runtime.llm`, point 4)."""
    from op_handlers.base import DTYPE_BITS, nbytes

    d = dict(dims or {})
    per_token = 0
    per_layer_shape = set()
    layers = set()
    for p in sig.self_kv:
        shape = _cache_shape(p, 1, 1, sig.batch_dim, d)
        numel = math.prod(v for k, v in enumerate(shape) if k not in (0, p.axis))
        per_token += nbytes(numel, p.dtype)
        layers.add(p.layer if p.layer is not None else p.input)
        if len(shape) == 4 and p.axis == 2:
            per_layer_shape.add((shape[1], shape[3], p.dtype))
    out: dict[str, Any] = {
        "bytes_per_token": per_token,
        "bytes_at_context": per_token * context * batch,
        "context": context,
        "batch": batch,
        "caches": len(sig.self_kv),
        "layers": len(layers),
        "cross_caches": len(sig.kv) - len(sig.self_kv),
    }
    if len(per_layer_shape) == 1 and len(sig.self_kv) == 2 * len(layers):
        heads, head_dim, dt = per_layer_shape.pop()
        size = Fraction(DTYPE_BITS.get(dt, 0), 8)
        out.update(kv_heads=heads, head_dim=head_dim, dtype=dt,
                   formula=f"{len(layers)} layers x 2 x {heads} kv heads x {head_dim} head dim x {size} B ({dt})")
    return out


# --------------------------------------------------------------------------- roofline


def phase_roofline(res, device) -> dict:
    from ..passes.roofline import apply_roofline

    rl = apply_roofline(res, device)
    d = rl.to_dict()
    comp, mem = d["compute_bound_time_s"], d["memory_bound_time_s"]
    return {"roofline_s": rl.latency_s, "bound": "compute" if comp >= mem else "memory",
            "compute_bound_s": comp, "memory_bound_s": mem}


def _interp(points: Sequence[Mapping], past: float, key: str) -> float | None:
    """Linear interpolation of ``key`` between the decode points (roofline time of a step at ``past``)."""
    pts = [(p["past"], p.get(key)) for p in points if p.get(key) is not None]
    if not pts:
        return None
    if len(pts) == 1 or past <= pts[0][0]:
        return pts[0][1]
    for (a, ya), (b, yb) in zip(pts, pts[1:]):
        if past <= b:
            return ya + (yb - ya) * (past - a) / (b - a) if b != a else yb
    return pts[-1][1]
