"""``llm()``: what a decoder with a KV cache costs per phase (``onnxstat llm``).

From the ONNX graph alone:

1. **The decoder signature** (:func:`detect_signature`).  Past/present pairs are
   matched by name: ``past_key_values.N.key`` -> ``present.N.key``
   (transformers/optimum, onnxruntime-genai), ``past_key_values.N.decoder.key`` ->
   ``present.N.decoder.key`` (encoder-decoder; ``...encoder...``/``cross`` caches are
   the constant cross-attention cache), ``past_key_N`` -> ``present_key_N``
   (GroupQueryAttention graphs), i.e. ``past_key_values`` -> ``present`` or ``past``
   -> ``present`` in the name; ``--kv INPUT=OUTPUT`` adds pairs by hand.  The token
   ids input (``input_ids``) gives the batch dim (axis 0) and the new-tokens dim
   (axis 1, ``--seq-dim``); the past caches give the past dim (the one symbolic axis
   besides batch, else axis 2 of a 4-D cache; ``--past-dim``).  ``attention_mask``
   (length past + new), ``position_ids``, GroupQueryAttention's ``seqlens_k``
   (total - 1 per row) and ``total_sequence_length`` (a scalar) are recognised by
   name; their shapes and values follow the phase.
2. **Prefill**: the profile at ``prompt`` new tokens and past 0 (zero-size caches).
3. **Decode**: the profile at 1 new token as a function of the past length.  Costs
   are exact polynomials in ``past`` (attention is linear in it, everything else
   constant), recovered with :mod:`onnxstat.passes.symbolic`'s exact rational solver from
   concrete profiles at probe lengths and checked at every probe; values at past =
   prompt, the middle of the decode range and the end of the context are concrete
   profiles.  Generating N tokens = prefill (gives token 1) + N - 1 decode steps at
   past = prompt ... prompt + N - 2.
4. **KV cache**: bytes per token = the sum over the self-attention past inputs of
   their per-token slice (every dim but batch and past) in their own dtype: layers x
   2 x kv heads x head dim x dtype size for the usual [batch, kv heads, past, head
   dim] caches (grouped-query and int8/int4 caches included); at the context it is
   multiplied by context x batch.  **Weights**: bytes by dtype, int4 weights of
   MatMulNBits counted packed (``uint4``).
5. **Roofline** per phase on a device (:mod:`onnxstat.passes.roofline`): time to first
   token = prefill latency, time per output token = the decode latency at the middle
   point, tokens/s = batch / that time, and whether compute or memory bound holds
   (the larger share of the phase's roofline time).
6. **Measured** (``bench=True``): a greedy generation loop in onnxruntime
   (:func:`generate`): present fed back as past, masks and positions advanced.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ModelError, UsageError
from ..result import jsonable, unique

SCHEMA = "onnxstat.llm/1"
#: extra past lengths at which the decode formula is fitted and checked (besides the reported points)
FIT_PROBES = (64, 130, 288, 450)
#: the formula: a polynomial in past of at most this degree
MAX_DEGREE = 2
METRICS = ("macs", "flops", "memory_traffic_bytes")
_NOT_CACHE = ("cache_position", "cache_indirection", "cos_cache", "sin_cache")


# --------------------------------------------------------------------------- signature


@dataclass
class KVPair:
    """One past input and the present output it becomes (``output`` None: a constant cross cache)."""

    input: str
    output: str | None
    dtype: str
    shape: tuple
    axis: int  # the past-length axis
    kind: str = "self"  # self | cross
    layer: int | None = None

    def to_dict(self) -> dict:
        return {"input": self.input, "output": self.output, "dtype": self.dtype, "shape": list(self.shape),
                "past_axis": self.axis, "kind": self.kind, "layer": self.layer}


@dataclass
class Signature:
    """Which inputs and dims of a decoder play which role."""

    ids: str | None
    ids_dtype: str
    mask: str | None
    positions: str | None
    seqlens_k: str | None
    total_len: str | None
    use_cache: str | None
    kv: list[KVPair]
    batch_dim: Any
    seq_dim: Any
    past_dim: str
    total_dim: str | None
    logits: str | None
    other: list[str] = field(default_factory=list)
    declared: dict[str, tuple[str, tuple | None]] = field(default_factory=dict)

    @property
    def self_kv(self) -> list[KVPair]:
        return [p for p in self.kv if p.kind == "self"]

    def to_dict(self) -> dict:
        return {
            "input_ids": self.ids, "attention_mask": self.mask, "position_ids": self.positions,
            "seqlens_k": self.seqlens_k, "total_sequence_length": self.total_len, "use_cache_branch": self.use_cache,
            "batch_dim": self.batch_dim, "new_tokens_dim": self.seq_dim, "past_dim": self.past_dim,
            "total_dim": self.total_dim, "logits": self.logits, "other_inputs": list(self.other),
            "kv": [p.to_dict() for p in self.kv],
        }


def _present_candidates(name: str) -> list[str]:
    out = [name.replace("past_key_values", "present"), name.replace("past_key_values", "present_key_values"),
           name.replace("past", "present"), name.replace("Past", "Present"), name.replace("cache", "present")]
    return [c for c in dict.fromkeys(out) if c != name]


def _is_past_name(name: str) -> bool:
    low = name.lower()
    return ("past" in low or "cache" in low) and not any(k in low for k in _NOT_CACHE)


def _layer_of(name: str) -> int | None:
    m = re.search(r"(\d+)", name)
    return int(m.group(1)) if m else None


def _find(names: Sequence[str], *wanted: str) -> str | None:
    for w in wanted:
        for n in names:
            if n == w:
                return n
    for w in wanted:
        for n in names:
            if n.lower().endswith(w):
                return n
    return None


def parse_kv(items: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``["past.0=present.0", ...]`` -> {input: output}."""
    if not items:
        return {}
    if isinstance(items, Mapping):
        return {str(k): str(v) for k, v in items.items()}
    out = {}
    for it in items:
        name, sep, value = str(it).partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"bad --kv {it!r}: expected INPUT=OUTPUT (a past input and the present output it becomes)")
        out[name.strip()] = value.strip()
    return out


def detect_signature(model, kv: Mapping[str, str] | Sequence[str] | None = None, past_dim: str | None = None,
                     seq_dim: str | None = None) -> Signature:
    """Recognise a decoder's inputs, outputs and dims (see the module docstring).

    ``model`` is a path, ModelProto or LoadedModel.  What cannot be recognised raises
    a UsageError naming the option that supplies it (``--kv``, ``--past-dim``, ``--seq-dim``).
    """
    from .inputs import model_inputs
    from ..model.loader import LoadedModel, load
    from ..shapes.resolve import type_of

    lm = model if isinstance(model, LoadedModel) else load(model)
    g = lm.model.graph
    declared = {n: (d, s) for n, d, s in model_inputs(lm.model)}
    outputs = {o.name: type_of(o.type) for o in g.output}
    names = list(declared)
    user_kv = parse_kv(kv)
    for i, o in user_kv.items():
        if i not in declared:
            raise UsageError(f"--kv {i}={o}: {i!r} is not a model input (inputs: {', '.join(names)})")
        if o not in outputs:
            raise UsageError(f"--kv {i}={o}: {o!r} is not a model output (outputs: {', '.join(outputs)})")

    ids = _find(names, "input_ids", "decoder_input_ids", "ids", "tokens")
    if ids is None:  # the first integer input of rank 2 that is not a mask or positions
        ids = next((n for n in names if declared[n][0].startswith("int") and len(declared[n][1] or ()) == 2
                    and "mask" not in n.lower() and "position" not in n.lower() and not _is_past_name(n)), None)
    mask = _find(names, "attention_mask", "decoder_attention_mask")
    positions = _find(names, "position_ids", "decoder_position_ids")
    seqlens_k = _find(names, "seqlens_k")
    total_len = _find(names, "total_sequence_length", "total_seq_len")
    use_cache = _find(names, "use_cache_branch")

    pairs: list[KVPair] = []
    unpaired: list[str] = []
    taken = {ids, mask, positions, seqlens_k, total_len, use_cache} - {None}
    for n in names:
        if n in taken:
            continue
        out = user_kv.get(n)
        if out is None and _is_past_name(n):
            out = next((c for c in _present_candidates(n) if c in outputs), None)
        low = n.lower()
        cross = "encoder" in low or "cross" in low
        if out is None and not (_is_past_name(n) and cross):
            if _is_past_name(n):
                unpaired.append(n)
            continue
        dt, shape = declared[n]
        pairs.append(KVPair(n, out, dt, tuple(shape or ()), -1, "cross" if cross else "self", _layer_of(n)))
    if unpaired:
        raise UsageError(
            f"cannot pair the past input(s) {', '.join(unpaired[:4])}{' ...' if len(unpaired) > 4 else ''} with a "
            f"present output (outputs: {', '.join(list(outputs)[:6])}{' ...' if len(outputs) > 6 else ''}); "
            f"give --kv INPUT=OUTPUT for each"
        )
    if not any(p.kind == "self" for p in pairs):
        raise UsageError(
            "no past/present pairs recognised: not a decoder with a KV cache by its names "
            f"(inputs: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}); give --kv INPUT=OUTPUT"
        )
    if ids is None:
        raise UsageError(f"no token ids input recognised (inputs: {', '.join(names)}): expected input_ids")
    id_shape = declared[ids][1] or ()
    if len(id_shape) != 2:
        raise UsageError(f"token ids input {ids!r} must be [batch, tokens], declared {list(id_shape)}")
    batch_dim = id_shape[0]
    if seq_dim is None:
        seq_dim = id_shape[1]
        if not isinstance(seq_dim, str):
            raise UsageError(f"the new-tokens axis of {ids!r} is fixed to {seq_dim}; name its dim with --seq-dim")

    # the past axis of every cache
    for p in pairs:
        if past_dim is not None:
            axes = [k for k, d in enumerate(p.shape) if d == past_dim]
            if not axes:
                raise UsageError(f"--past-dim {past_dim}: no axis of {p.input} {list(p.shape)} has that name")
            p.axis = axes[0]
            continue
        if p.kind == "cross":
            p.axis = 2 if len(p.shape) == 4 else -1
            continue
        sym = [k for k, d in enumerate(p.shape) if isinstance(d, str) and k != 0 and d != batch_dim]
        if len(sym) == 1:
            p.axis = sym[0]
        elif len(p.shape) == 4 and isinstance(p.shape[2], str):
            p.axis = 2
        else:
            raise UsageError(f"cannot tell the past-length axis of {p.input} {list(p.shape)}; give --past-dim NAME")
    self_pairs = [p for p in pairs if p.kind == "self"]
    past_names = {p.shape[p.axis] for p in self_pairs}
    if len(past_names) != 1:
        raise UsageError(f"the past caches disagree on the past dim ({', '.join(map(str, past_names))}); give --past-dim NAME")
    past_name = past_names.pop()
    if not isinstance(past_name, str):
        raise UsageError(
            f"the past caches have a fixed length {past_name} (a static or shared-buffer cache); "
            f"name their past dim with --past-dim"
        )
    total_dim = None
    if mask is not None:
        ms = declared[mask][1] or ()
        if len(ms) >= 2 and isinstance(ms[-1], str) and ms[-1] not in (past_name, seq_dim):
            total_dim = ms[-1]
    logits = _find(list(outputs), "logits") or next((o for o in outputs if o not in {p.output for p in pairs}), None)
    other = [n for n in names if n not in taken and n not in {p.input for p in pairs}]
    return Signature(ids=ids, ids_dtype=declared[ids][0], mask=mask, positions=positions, seqlens_k=seqlens_k,
                     total_len=total_len, use_cache=use_cache, kv=pairs, batch_dim=batch_dim, seq_dim=seq_dim,
                     past_dim=past_name, total_dim=total_dim, logits=logits, other=other, declared=declared)


# --------------------------------------------------------------------------- phases


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
    from ..profiler import _norm_dims, _norm_input_shapes, _profile
    from ..result import gc_paused

    shapes, d, values = phase_inputs(sig, batch, seq, past, input_shapes, dims)
    with gc_paused():
        return _profile(lm, _norm_input_shapes(shapes), _norm_dims(d), False, "onnx", None, values)


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


# --------------------------------------------------------------------------- KV cache and weights


def kv_cache(sig: Signature, batch: int, context: int, dims: Mapping[str, int] | None = None) -> dict:
    """Bytes per token and at ``context`` tokens x ``batch`` (see the module docstring)."""
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


# --------------------------------------------------------------------------- the result


@dataclass
class LLMResult:
    model: str | None
    signature: Signature
    batch: int
    prompt: int
    context: int
    generate: int
    prefill: dict
    decode: dict
    generation: dict
    kv_cache: dict
    weights: dict
    device: dict | None
    tokens_per_s: dict
    measured: dict | None = None
    warnings: list[str] = field(default_factory=list)
    prefill_profile: Any = None  # the ProfileResult of the prefill (for the HTML report)

    def __repr__(self) -> str:
        from .._callable import short_path

        return (f"LLMResult(model={short_path(self.model)!r}, prompt={self.prompt}, context={self.context}, "
                f"prefill_macs={self.prefill.get('macs')}, kv_bytes_per_token={self.kv_cache.get('bytes_per_token')})")[:199]

    def to_dict(self) -> dict:
        from ..passes.symbolic import exact, pretty

        formula = self.decode.get("formula")
        dec = {k: v for k, v in self.decode.items() if k != "formula"}
        dec["formula"] = None if formula is None else {
            "macs": exact(formula["macs"]), "flops": exact(formula["flops"]),
            "bytes": exact(formula["memory_traffic_bytes"]),
            "pretty": {"macs": pretty(formula["macs"]), "flops": pretty(formula["flops"]),
                       "bytes": pretty(formula["memory_traffic_bytes"])},
            "symbol": "past",
        }
        return jsonable({
            "schema": SCHEMA,
            "model": self.model,
            "settings": {"batch": self.batch, "prompt": self.prompt, "context": self.context, "generate": self.generate},
            "signature": self.signature.to_dict(),
            "prefill": self.prefill,
            "decode": dec,
            "generate": self.generation,
            "kv_cache": self.kv_cache,
            "weights": self.weights,
            "device": self.device,
            "tokens_per_s": self.tokens_per_s,
            "measured": self.measured,
            "warnings": list(self.warnings),
        })


def llm(
    model: str | Path | Any,
    *,
    prompt: int = 128,
    context: int | None = None,
    generate: int | None = None,
    batch: int = 1,
    device: Any = None,
    kv: Mapping[str, str] | Sequence[str] | None = None,
    past_dim: str | None = None,
    seq_dim: str | None = None,
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    bench: bool = False,
    providers: str | Sequence[str] = "cpu",
    runs: int = 3,
    warmup: int = 1,
    threads: int | None = None,
    seed: int = 0,
    device_id: int = 0,
) -> LLMResult:
    """Prefill and per-token decode costs, KV cache, weights, roofline and (``bench``) measured
    generation of a decoder with a KV cache.  See the module docstring.

    ``context`` defaults to ``prompt + generate``; ``generate`` to ``context - prompt``.
    ``device`` is a preset name, ``"host"`` or a :class:`onnxstat.passes.roofline.Device`.
    """
    from ..model.loader import load
    from ..profiler import _check_opsets, _norm_dims, _norm_input_shapes

    prompt, batch = _positive(prompt, "--prompt"), _positive(batch, "--batch")
    if context is None and generate is None:
        raise UsageError("give --context (tokens in the context window) or --generate (tokens to generate)")
    if generate is not None:
        generate = _positive(generate, "--generate")
    if context is None:
        context = prompt + generate
    context = _positive(context, "--context")
    if context <= prompt:
        raise UsageError(f"--context {context} must be larger than --prompt {prompt} (room for generated tokens)")
    if generate is None:
        generate = context - prompt
    if prompt + generate > context:
        raise UsageError(f"--prompt {prompt} + --generate {generate} exceeds --context {context}")
    dev = device
    if isinstance(device, str):
        from ..passes.roofline import get_device

        dev = get_device(device)
    user_shapes = _norm_input_shapes(input_shapes)
    user_dims = _norm_dims(dims)

    lm = load(model)
    _check_opsets(lm)
    sig = detect_signature(lm, kv, past_dim, seq_dim)
    _check_free_dims(sig, user_shapes, user_dims)
    warnings: list[str] = list(lm.warnings)
    if sig.other:
        warnings.append(f"inputs not recognised as decoder inputs, sized by --dim/--input-shape: {', '.join(sig.other)}")

    # prefill
    pre = _profile_phase(lm, sig, batch, prompt, 0, user_shapes, user_dims)
    warnings.extend(pre.warnings)
    prefill = {"tokens": prompt, "past": 0, **_cost(pre)}
    # decode points and the formula
    mid = (prompt + context - 1) // 2
    point_pasts = sorted({prompt, mid, context - 1})
    profiles = {p: _profile_phase(lm, sig, batch, 1, p, user_shapes, user_dims) for p in point_pasts}
    for r in profiles.values():
        warnings.extend(r.warnings)
    samples = {p: _totals(r) for p, r in profiles.items()}
    for p in FIT_PROBES:
        if p not in samples:
            samples[p] = _totals(_profile_phase(lm, sig, batch, 1, p, user_shapes, user_dims))
    formula = fit_decode_formula(samples)
    if formula is None:
        warnings.append("decode costs are not a polynomial in the past length of degree <= 2 at the probes: "
                        "no formula; the points are exact profiles")
    points = [{"past": p, **_cost(profiles[p])} for p in point_pasts]

    # generation of N tokens: prefill + N - 1 decode steps at past = prompt .. prompt + N - 2
    steps = generate - 1
    generation: dict[str, Any] = {"tokens": generate, "decode_steps": steps}
    for m, key in (("macs", "macs"), ("flops", "flops"), ("memory_traffic_bytes", "bytes")):
        if formula is not None:
            v = prefill[key] + sum_over_past(formula[m], prompt, steps)
            generation[key] = int(v) if isinstance(v, int) or v.denominator == 1 else float(v)
        else:
            generation[key] = None

    kvd = kv_cache(sig, batch, context, user_dims)
    weights = {"bytes": pre.totals.weight_bytes, "bytes_by_dtype": dict(pre.totals.weight_bytes_by_dtype),
               "params": pre.totals.params}

    device_d = None
    tps: dict[str, Any] = {"roofline": None, "measured": None}
    if dev is not None:
        device_d = dev.to_dict()
        prefill.update(phase_roofline(pre, dev))
        for pt in points:
            pt.update(phase_roofline(profiles[pt["past"]], dev))
        mid_pt = next(p for p in points if p["past"] == mid)
        tps["roofline"] = batch / mid_pt["roofline_s"] if mid_pt["roofline_s"] else None
        tps["time_to_first_token_s"] = prefill["roofline_s"]
        tps["time_per_output_token_s"] = mid_pt["roofline_s"]
        tps["at_past"] = mid
        dec_s = sum(_interp(points, prompt + k, "roofline_s") or 0.0 for k in range(steps))
        generation["roofline_s"] = prefill["roofline_s"] + dec_s
        generation["roofline_note"] = "decode steps interpolated linearly between the decode points"

    measured = None
    if bench:
        measured = generate_bench(lm, sig, prompt=prompt, generate=generate, batch=batch, providers=providers,
                                  runs=runs, warmup=warmup, threads=threads, seed=seed, device_id=device_id,
                                  input_shapes=user_shapes, dims=user_dims)
        warnings.extend(measured.get("warnings", []))
        prefill["measured_ms"] = measured["prefill_ms"]["p50"] if measured.get("prefill_ms") else None
        dstats = measured.get("decode_ms")
        for pt in points:
            pt["measured_ms"] = None
        by_step = measured.get("decode_step_p50_ms") or []
        if dstats:
            # the measured steps cover past = prompt .. prompt + N - 2: a point inside gets its step's median
            for pt in points:
                k = pt["past"] - prompt
                if 0 <= k < len(by_step):
                    pt["measured_ms"] = by_step[k]
        tps["measured"] = measured.get("tokens_per_s")
        generation["measured_ms"] = measured.get("generation_ms")
        if dev is not None and measured.get("providers_used"):
            from ..passes.roofline import measurement_mismatch

            w = measurement_mismatch(dev, measured["providers_used"])
            if w:
                warnings.append(w.replace("roofline efficiency", "the roofline tokens/s"))
    else:
        prefill.setdefault("measured_ms", None)
        for pt in points:
            pt.setdefault("measured_ms", None)
    prefill.setdefault("roofline_s", None)
    for pt in points:
        pt.setdefault("roofline_s", None)

    return LLMResult(
        model=str(lm.path) if lm.path is not None else None, signature=sig, batch=batch, prompt=prompt,
        context=context, generate=generate, prefill=prefill,
        decode={"tokens": 1, "formula": formula, "points": points, "fit_pasts": sorted(samples)},
        generation=generation, kv_cache=kvd, weights=weights, device=device_d, tokens_per_s=tps, measured=measured,
        warnings=unique(warnings), prefill_profile=pre,
    )


def _check_free_dims(sig: Signature, input_shapes: Mapping[str, Any], dims: Mapping[str, int]) -> None:
    """Dims of the cross caches and other inputs that no option sets: ask for them; inputs and dims
    the phases set are not the user's to give."""
    managed = [sig.ids, sig.mask, sig.positions, sig.seqlens_k, sig.total_len, *(p.input for p in sig.self_kv)]
    clash = [n for n in input_shapes if n in managed] + [
        d for d in dims if d in (sig.batch_dim, sig.seq_dim, sig.past_dim, sig.total_dim)]
    if clash:
        raise UsageError(f"{', '.join(clash)}: set by the phases (give --prompt, --context, --generate, --batch instead)")
    known = {sig.batch_dim, sig.seq_dim, sig.past_dim, sig.total_dim, *dims}
    free: dict[str, list[str]] = {}
    for name in [p.input for p in sig.kv if p.kind == "cross"] + list(sig.other):
        if name in input_shapes:
            continue
        for d in sig.declared[name][1] or ():
            if isinstance(d, str) and d not in known:
                free.setdefault(d, []).append(name)
    if free:
        asks = ", ".join(f"--dim {d}=N ({', '.join(v[:2])}{' ...' if len(v) > 2 else ''})" for d, v in free.items())
        raise UsageError(f"dims not set by the decoder phases: give {asks}")


def _positive(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < 1:
        raise UsageError(f"{what} must be a whole number of at least 1, got {v!r}")
    return int(v)


def _cost(res) -> dict:
    t = res.totals
    return {"macs": t.macs, "flops": t.flops, "bytes": t.memory_traffic_bytes,
            "weight_bytes": t.weight_bytes}


# --------------------------------------------------------------------------- measured generation


def _feeds(sig: Signature, ids: np.ndarray, past_len: int, batch: int) -> dict[str, np.ndarray]:
    """The non-cache inputs of one step: ids, mask, positions, seqlens_k, total length."""
    from .inputs import np_dtype

    seq = ids.shape[1]
    total = past_len + seq
    feeds = {sig.ids: ids.astype(np_dtype(sig.ids_dtype))}
    if sig.mask:
        feeds[sig.mask] = np.ones((batch, total), dtype=np_dtype(sig.declared[sig.mask][0]))
    if sig.positions:
        pos = np.arange(past_len, total, dtype=np_dtype(sig.declared[sig.positions][0]))
        feeds[sig.positions] = np.broadcast_to(pos, (batch, seq)).copy() if len(sig.declared[sig.positions][1] or (0, 0)) == 2 else pos
    if sig.seqlens_k:
        feeds[sig.seqlens_k] = np.full((batch,), total - 1, dtype=np_dtype(sig.declared[sig.seqlens_k][0]))
    if sig.total_len:
        dt = np_dtype(sig.declared[sig.total_len][0])
        feeds[sig.total_len] = np.array(total, dtype=dt).reshape(tuple(1 for _ in (sig.declared[sig.total_len][1] or ())))
    if sig.use_cache:
        shape = tuple(1 for _ in (sig.declared[sig.use_cache][1] or ()))
        feeds[sig.use_cache] = np.array(past_len > 0).reshape(shape)
    return feeds


def greedy_tokens(logits: np.ndarray) -> np.ndarray:
    """[batch, seq, vocab] -> the argmax of the last position, [batch, 1] int64."""
    return np.asarray(logits)[:, -1, :].argmax(axis=-1).astype(np.int64).reshape(-1, 1)


def prompt_ids(batch: int, prompt: int, vocab: int, seed: int = 0) -> np.ndarray:
    """The generated prompt: ``np.random.default_rng(seed).integers(0, vocab, (batch, prompt))``."""
    return np.random.default_rng(seed).integers(0, vocab, size=(batch, prompt), dtype=np.int64)


class _HostLoop:
    """One generation with ``sess.run``: numpy in, numpy out (the CPU path)."""

    def __init__(self, sess, sig: Signature, others: Mapping[str, np.ndarray], dims: Mapping[str, int] | None = None):
        self.sess, self.sig, self.others, self.dims = sess, sig, dict(others), dict(dims or {})
        self.out_names = [o.name for o in sess.get_outputs()]
        self.present_of = {p.output: p.input for p in sig.self_kv}

    def start(self, batch: int) -> dict:
        from .inputs import np_dtype

        return {p.input: np.zeros(_cache_shape(p, batch, 0, self.sig.batch_dim, self.dims), dtype=np_dtype(p.dtype))
                for p in self.sig.self_kv}

    def step(self, ids: np.ndarray, past_len: int, cache: dict, batch: int) -> tuple[np.ndarray, dict, int]:
        feeds = _feeds(self.sig, ids, past_len, batch)
        feeds.update(self.others)
        feeds.update(cache)
        t0 = time.perf_counter_ns()
        outs = self.sess.run(self.out_names, feeds)
        dt = time.perf_counter_ns() - t0
        res = dict(zip(self.out_names, outs))
        new_cache = {self.present_of[o]: res[o] for o in self.present_of}
        return res[self.sig.logits], new_cache, dt


class _DeviceLoop(_HostLoop):
    """One generation with IO binding on a GPU: caches stay on the device, present bound back as past."""

    def __init__(self, sess, sig, others, dims, device: str, device_id: int, ort):
        super().__init__(sess, sig, others, dims)
        self.device, self.device_id, self.ort = device, device_id, ort

    def start(self, batch: int) -> dict:
        from .inputs import to_ort_value

        host = super().start(batch)
        return {n: to_ort_value(a, next(p.dtype for p in self.sig.self_kv if p.input == n), self.device,
                                self.device_id, ort=self.ort) for n, a in host.items()}

    def step(self, ids, past_len, cache, batch):
        from .inputs import bind_input

        io = self.sess.io_binding()
        feeds = _feeds(self.sig, ids, past_len, batch)
        feeds.update(self.others)
        keep = []
        for name, arr in feeds.items():
            keep.append(bind_input(io, name, arr, self.sig.declared[name][0], self.device, self.device_id, ort=self.ort))
        for name, ov in cache.items():
            io.bind_ortvalue_input(name, ov)
        for o in self.out_names:
            io.bind_output(o, self.device, self.device_id)
        t0 = time.perf_counter_ns()
        self.sess.run_with_iobinding(io)
        io.synchronize_outputs()
        dt = time.perf_counter_ns() - t0
        res = dict(zip(self.out_names, io.get_outputs()))
        new_cache = {self.present_of[o]: res[o] for o in self.present_of}
        return res[self.sig.logits].numpy(), new_cache, dt


def run_generation(loop, sig: Signature, ids: np.ndarray, generate: int) -> tuple[list[list[int]], int, list[int]]:
    """Greedy generation of ``generate`` tokens: (tokens per row, prefill ns, decode step ns)."""
    batch, prompt = ids.shape
    cache = loop.start(batch)
    logits, cache, pre_ns = loop.step(ids, 0, cache, batch)
    tok = greedy_tokens(logits)
    tokens = [tok]
    steps = []
    past = prompt
    for _ in range(generate - 1):
        logits, cache, ns = loop.step(tok, past, cache, batch)
        steps.append(ns)
        past += 1
        tok = greedy_tokens(logits)
        tokens.append(tok)
    out = np.concatenate(tokens, axis=1)
    return out.tolist(), pre_ns, steps


def generate_bench(model, sig: Signature | None = None, *, prompt: int, generate: int, batch: int = 1,
                   providers: str | Sequence[str] = "cpu", runs: int = 3, warmup: int = 1, threads: int | None = None,
                   seed: int = 0, device_id: int = 0, input_shapes=None, dims=None,
                   available_providers: Sequence[str] | None = None) -> dict:
    """A measured greedy generation loop in onnxruntime (see :func:`run_generation`).

    ``warmup`` whole generations are run first (not counted), then ``runs``
    generations; prefill latencies (one per run) and decode-step latencies (N - 1 per
    run) get bench's statistics (mean, percentiles).  tokens/s = batch x decode steps /
    decode seconds.  A CUDA/TensorRT session keeps the caches on the device with IO
    binding; where the provider is absent the usual one-line fallback or error applies.
    """
    from .bench import (DEVICE_OF_PROVIDER, _create_session, _ort, check_used_providers, latency_stats,
                        make_session_options, parse_providers, plan_providers)
    from .inputs import make_inputs
    from ..model.loader import LoadedModel, load

    lm = model if isinstance(model, LoadedModel) else load(model)
    if not lm.weights_available:
        lm.full_model()  # raises ModelError naming the missing external data
    if sig is None:
        sig = detect_signature(lm)
    if sig.logits is None:
        raise ModelError("no logits output recognised: the generation loop needs one")
    ort = _ort()
    requested = parse_providers(providers)
    available = list(available_providers) if available_providers is not None else list(ort.get_available_providers())
    planned, warnings = plan_providers(requested, available, ort.__version__)

    # the other inputs (encoder states, ...) at their prefill shapes, generated once
    pre = _profile_phase(lm, sig, batch, prompt, 0, input_shapes, dims)
    vocab = next((s[-1] for n, _d, s in pre.outputs if n == sig.logits and s and isinstance(s[-1], int)), None)
    if not vocab:
        raise ModelError(f"the vocabulary size (last dim of {sig.logits}) is unknown")
    others = make_inputs([(n, d, s) for n, d, s in pre.inputs if n in sig.other], seed=seed)

    source = str(lm.path) if lm.path is not None else lm.full_model().SerializeToString()
    so = make_session_options(ort, threads=threads)
    so.log_severity_level = 4  # a failing step is reported in one line below, not by onnxruntime's logger too
    sess, _init_ns = _create_session(ort, source, so, planned, device_id)
    used = list(sess.get_providers())
    warnings.extend(check_used_providers(planned, used, fallback_listed=len(requested) > 1))
    device = DEVICE_OF_PROVIDER.get(used[0], "cpu") if used else "cpu"
    if device == "cpu":
        loop: _HostLoop = _HostLoop(sess, sig, others, dims)
        path = "run"
    else:
        loop = _DeviceLoop(sess, sig, others, dims, device, device_id, ort)
        path = f"iobinding:{device}"
    ids = prompt_ids(batch, prompt, vocab, seed)
    tokens: list[list[int]] = []
    pre_ns: list[int] = []
    dec_ns: list[int] = []
    gen_ns: list[int] = []
    by_step: list[list[int]] = [[] for _ in range(generate - 1)]
    for i in range(warmup + max(runs, 1)):
        try:
            tokens, p_ns, steps = run_generation(loop, sig, ids, generate)
        except Exception as exc:  # onnxruntime's errors: one line
            from .bench import _one_line

            raise ModelError(f"the generation loop failed in onnxruntime: {_one_line(exc)}") from None
        if i < warmup:
            continue
        pre_ns.append(p_ns)
        dec_ns.extend(steps)
        for k, ns in enumerate(steps):
            by_step[k].append(ns)
        gen_ns.append(p_ns + sum(steps))
    return {
        "providers_used": used,
        "timing_path": path,
        "runs": max(runs, 1),
        "warmup": warmup,
        "prompt": prompt,
        "generate": generate,
        "batch": batch,
        "prefill_ms": latency_stats(pre_ns),
        "decode_ms": latency_stats(dec_ns) if dec_ns else None,
        "decode_step_p50_ms": [latency_stats(v)["p50"] for v in by_step],
        "generation_ms": latency_stats(gen_ns)["p50"],
        "tokens_per_s": (batch * len(dec_ns) * 1e9 / sum(dec_ns)) if dec_ns and sum(dec_ns) else None,
        "time_to_first_token_ms": latency_stats(pre_ns)["p50"],
        "tokens": tokens,
        "prompt_ids_seed": seed,
        "onnxruntime_version": ort.__version__,
        "warnings": warnings,
    }


# --------------------------------------------------------------------------- rendering

PHASE_HEADERS = ["Phase", "Past", "MACs", "FLOPs", "Bytes", "Roofline", "Bound", "Measured"]


def _secs(s: Any) -> str:
    from ..render.report import _fmt_seconds

    return _fmt_seconds(s)


def _rate(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.3g} M tokens/s"
    return f"{v:,.0f} tokens/s" if v >= 100 else f"{v:.3g} tokens/s"


def phase_rows(d: Mapping) -> list[list[str]]:
    """Rows of the phase table from ``LLMResult.to_dict()``."""
    from ..render import units

    pre = d["prefill"]

    def row(label, past, x):
        ms = x.get("measured_ms")
        return [label, past, units.si(x["macs"]), units.si(x["flops"]), units.nbytes(x["bytes"]),
                _secs(x.get("roofline_s")), x.get("bound") or "-", "-" if ms is None else f"{ms:.3g} ms"]

    rows = [row(f"prefill {pre['tokens']:,}", "0", pre)]
    for pt in d["decode"]["points"]:
        rows.append(row("decode 1", f"{pt['past']:,}", pt))
    gen = d["generate"]
    if gen.get("macs") is not None:
        rows.append(row(f"generate {gen['tokens']:,}", f"{d['settings']['prompt']:,}+", gen))
    return rows


def summary_rows(d: Mapping) -> list[tuple[str, str]]:
    """(label, text) rows of the summary from ``LLMResult.to_dict()``."""
    from ..render import units

    sig, st, kv = d["signature"], d["settings"], d["kv_cache"]
    pairs = [p for p in sig["kv"] if p["kind"] == "self"]
    first = pairs[0] if pairs else None
    roles = [f"new tokens {sig['new_tokens_dim']!r}", f"past {sig['past_dim']!r}"]
    if sig.get("total_dim"):
        roles.append(f"total {sig['total_dim']!r}")
    inputs = [str(sig[k]) for k in ("attention_mask", "position_ids", "seqlens_k", "total_sequence_length")
              if sig.get(k)]
    rows = [
        ("Model", str(d.get("model") or "(in memory)")),
        ("Decoder", f"{len(pairs)} past/present pairs ({first['input']} -> {first['output']}, ...); "
                    + ", ".join(roles) + ("; inputs " + ", ".join(inputs) if inputs else "")),
        ("Settings", f"batch {st['batch']}, prompt {st['prompt']:,}, context {st['context']:,}, "
                     f"generate {st['generate']:,} tokens"),
    ]
    f = d["decode"].get("formula")
    if f:
        rows.append(("Decode per token", f"MACs = {f['pretty']['macs']}; FLOPs = {f['pretty']['flops']}; "
                                         f"bytes = {f['pretty']['bytes']}"))
    text = f"{units.nbytes(kv['bytes_per_token'])} per token ({kv['bytes_per_token']:,} B"
    text += f" = {kv['formula']})" if kv.get("formula") else ")"
    rows.append(("KV cache", text + f"; {units.nbytes(kv['bytes_at_context'])} at {kv['context']:,} tokens "
                                    f"x batch {kv['batch']}"))
    w = d["weights"]
    by = ", ".join(f"{k} {units.nbytes(v)}" for k, v in sorted(w["bytes_by_dtype"].items(), key=lambda kv_: -kv_[1]))
    rows.append(("Weights", f"{units.nbytes(w['bytes'])} ({by})"))
    dev, tps = d.get("device"), d["tokens_per_s"]
    if dev:
        rows.append(("Device", f"{dev['name']}: {units.nbytes(dev['bandwidth_bytes_per_s'])}/s"))
        rows.append(("Roofline", f"time to first token {_secs(tps.get('time_to_first_token_s'))}, "
                                 f"per output token {_secs(tps.get('time_per_output_token_s'))} "
                                 f"(past {tps.get('at_past'):,}), {_rate(tps['roofline'])}"
                     if tps.get("roofline") else "-"))
    m = d.get("measured")
    if m:
        dm = m.get("decode_ms") or {}
        prov = ", ".join(p.replace("ExecutionProvider", "") for p in m.get("providers_used") or [])
        text = (f"prefill p50 {m['prefill_ms']['p50']:.3f} ms; decode step p50 {dm.get('p50', float('nan')):.3f} ms, "
                f"p90 {dm.get('p90', float('nan')):.3f} ms; "
                + (_rate(m["tokens_per_s"]) if m.get("tokens_per_s") else "tokens/s -")
                + f" ({m['runs']} runs, onnxruntime {prov})")
        rows.append(("Measured", text))
    return rows


def print_llm(res: "LLMResult", console=None) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ..render.formats import terminal_console

    console = console or terminal_console()
    d = res.to_dict()
    head = Table(show_header=False, box=None, pad_edge=False)
    head.add_column(style="bold cyan", no_wrap=True)
    head.add_column(overflow="fold")
    for k, v in summary_rows(d):
        head.add_row(k, v)
    console.print(head)
    console.print()
    t = Table(title="Phases (decode: one token after past cached tokens)", title_justify="left",
              box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0))
    for i, h in enumerate(PHASE_HEADERS):
        t.add_column(h, justify="left" if i in (0, 6) else "right", no_wrap=True)
    for r in phase_rows(d):
        t.add_row(*r)
    console.print(t)
    for w in res.warnings:
        console.print(Text.assemble(("warning:", "yellow"), f" {w}"), highlight=False)


def to_markdown(res: "LLMResult") -> str:
    d = res.to_dict()

    def esc(s: str) -> str:
        return str(s).replace("|", "\\|")

    lines = ["| | |", "|---|---|"] + [f"| {esc(k)} | {esc(v)} |" for k, v in summary_rows(d)]
    lines += ["", "| " + " | ".join(PHASE_HEADERS) + " |", "|" + "---|" * len(PHASE_HEADERS)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in phase_rows(d)]
    if res.warnings:
        lines += [""] + [f"- warning: {esc(w)}" for w in res.warnings]
    return "\n".join(lines) + "\n"


def to_json(res: "LLMResult") -> str:
    import json

    return json.dumps(res.to_dict(), indent=2) + "\n"


from .._callable import make_callable  # noqa: E402

make_callable(__name__, "llm")  # onnxstat.llm is this module and the function: onnxstat.llm(model, prompt=512, context=4096)

__all__ = ["LLMResult", "Signature", "KVPair", "SCHEMA", "detect_signature", "fit_decode_formula", "generate_bench",
           "greedy_tokens", "kv_cache", "llm", "phase_inputs", "print_llm", "to_json", "to_markdown", "prompt_ids", "run_generation", "sum_over_past"]
