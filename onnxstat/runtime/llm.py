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

The parts: :mod:`.llm_signature` (1), :mod:`.llm_phases` (2 to 5: phase inputs, the
decode formula, the KV cache, the roofline of a phase), :mod:`.llm_generate` (6) and
:mod:`.llm_render` (the terminal, Markdown and JSON output); :func:`llm` puts them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import UsageError
from ..result import jsonable, unique

# names that moved to the part modules are imported here as well (``x as x``), so that they stay
# importable from onnxstat.runtime.llm: the tests and onnxstat.render.report import some of them
from .llm_generate import _DeviceLoop as _DeviceLoop
from .llm_generate import _feeds as _feeds
from .llm_generate import _HostLoop as _HostLoop
from .llm_generate import generate_bench, greedy_tokens, prompt_ids, run_generation
from .llm_phases import (
    FIT_PROBES,
    _cost,
    _interp,
    _profile_phase,
    _totals,
    fit_decode_formula,
    kv_cache,
    phase_inputs,
    phase_roofline,
    sum_over_past,
)
from .llm_phases import MAX_DEGREE as MAX_DEGREE
from .llm_phases import METRICS as METRICS
from .llm_render import PHASE_HEADERS as PHASE_HEADERS
from .llm_render import phase_rows as phase_rows
from .llm_render import print_llm, to_json, to_markdown
from .llm_render import summary_rows as summary_rows
from .llm_signature import KVPair, Signature, detect_signature
from .llm_signature import parse_kv as parse_kv

SCHEMA = "onnxstat.llm/1"


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
    from ..profiler import check_opsets, norm_dims, norm_input_shapes

    prompt, context, generate, batch = _check_lengths(prompt, context, generate, batch)
    dev = _device(device)
    user_shapes = norm_input_shapes(input_shapes)
    user_dims = norm_dims(dims)

    lm = load(model)
    check_opsets(lm)
    sig = detect_signature(lm, kv, past_dim, seq_dim)
    _check_free_dims(sig, user_shapes, user_dims)
    warnings: list[str] = list(lm.warnings)
    if sig.other:
        warnings.append(f"inputs not recognised as decoder inputs, sized by --dim/--input-shape: {', '.join(sig.other)}")

    # prefill
    pre = _profile_phase(lm, sig, batch, prompt, 0, user_shapes, user_dims)
    warnings.extend(pre.warnings)
    prefill = {"tokens": prompt, "past": 0, **_cost(pre)}
    # decode points and the formula; generation of N tokens
    mid = (prompt + context - 1) // 2
    point_pasts = sorted({prompt, mid, context - 1})
    profiles, samples, formula = _decode_profiles(lm, sig, batch, point_pasts, user_shapes, user_dims, warnings)
    points = [{"past": p, **_cost(profiles[p])} for p in point_pasts]
    generation = _generation(prefill, formula, prompt, generate)

    kvd = kv_cache(sig, batch, context, user_dims)
    weights = {"bytes": pre.totals.weight_bytes, "bytes_by_dtype": dict(pre.totals.weight_bytes_by_dtype),
               "params": pre.totals.params}
    tps: dict[str, Any] = {"roofline": None, "measured": None}
    if dev is not None:
        _add_roofline(dev, pre, profiles, prefill, points, generation, tps, batch=batch, prompt=prompt, mid=mid)
    measured = None
    if bench:
        measured = generate_bench(lm, sig, prompt=prompt, generate=generate, batch=batch, providers=providers,
                                  runs=runs, warmup=warmup, threads=threads, seed=seed, device_id=device_id,
                                  input_shapes=user_shapes, dims=user_dims)
        _add_measured(measured, dev, prefill, points, generation, tps, prompt, warnings)
    for x in [prefill, *points]:  # the keys are there whether measured and on a device or not
        x.setdefault("measured_ms", None)
        x.setdefault("roofline_s", None)

    return LLMResult(
        model=str(lm.path) if lm.path is not None else None, signature=sig, batch=batch, prompt=prompt,
        context=context, generate=generate, prefill=prefill,
        decode={"tokens": 1, "formula": formula, "points": points, "fit_pasts": sorted(samples)},
        generation=generation, kv_cache=kvd, weights=weights, device=None if dev is None else dev.to_dict(),
        tokens_per_s=tps, measured=measured, warnings=unique(warnings), prefill_profile=pre,
    )


def _check_lengths(prompt: Any, context: Any, generate: Any, batch: Any) -> tuple[int, int, int, int]:
    """(prompt, context, generate, batch), each a whole number of at least 1; a missing context or
    generate follows from the other."""
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
    return prompt, context, generate, batch


def _device(device: Any):
    """A preset name or ``"host"`` as a Device; a Device (or None) as it is."""
    if isinstance(device, str):
        from ..passes.roofline import get_device

        return get_device(device)
    return device


def _decode_profiles(lm, sig: Signature, batch: int, point_pasts: Sequence[int], shapes, dims, warnings: list[str]):
    """Profiles of one decode step at the reported points, the totals at every past length
    fitted (points and :data:`FIT_PROBES`) and the decode formula (None when no polynomial fits)."""
    profiles = {p: _profile_phase(lm, sig, batch, 1, p, shapes, dims) for p in point_pasts}
    for r in profiles.values():
        warnings.extend(r.warnings)
    samples = {p: _totals(r) for p, r in profiles.items()}
    for p in FIT_PROBES:
        if p not in samples:
            samples[p] = _totals(_profile_phase(lm, sig, batch, 1, p, shapes, dims))
    formula = fit_decode_formula(samples)
    if formula is None:
        warnings.append("decode costs are not a polynomial in the past length of degree <= 2 at the probes: "
                        "no formula; the points are exact profiles")
    return profiles, samples, formula


def _generation(prefill: Mapping[str, Any], formula: Mapping[str, Any] | None, prompt: int, generate: int) -> dict:
    """Totals of generating N tokens: prefill + N - 1 decode steps at past = prompt .. prompt + N - 2."""
    steps = generate - 1
    generation: dict[str, Any] = {"tokens": generate, "decode_steps": steps}
    for m, key in (("macs", "macs"), ("flops", "flops"), ("memory_traffic_bytes", "bytes")):
        if formula is not None:
            v = prefill[key] + sum_over_past(formula[m], prompt, steps)
            generation[key] = int(v) if isinstance(v, int) or v.denominator == 1 else float(v)
        else:
            generation[key] = None
    return generation


def _add_roofline(dev, pre, profiles: Mapping[int, Any], prefill: dict, points: list[dict], generation: dict,
                  tps: dict, *, batch: int, prompt: int, mid: int) -> None:
    """Roofline time and bound of every phase on ``dev``; tokens/s at the middle decode point."""
    prefill.update(phase_roofline(pre, dev))
    for pt in points:
        pt.update(phase_roofline(profiles[pt["past"]], dev))
    mid_pt = next(p for p in points if p["past"] == mid)
    tps["roofline"] = batch / mid_pt["roofline_s"] if mid_pt["roofline_s"] else None
    tps["time_to_first_token_s"] = prefill["roofline_s"]
    tps["time_per_output_token_s"] = mid_pt["roofline_s"]
    tps["at_past"] = mid
    dec_s = sum(_interp(points, prompt + k, "roofline_s") or 0.0 for k in range(generation["decode_steps"]))
    generation["roofline_s"] = prefill["roofline_s"] + dec_s
    generation["roofline_note"] = "decode steps interpolated linearly between the decode points"


def _add_measured(measured: Mapping[str, Any], dev, prefill: dict, points: list[dict], generation: dict, tps: dict,
                  prompt: int, warnings: list[str]) -> None:
    """The measured latencies beside the counted phases (:func:`generate_bench`'s result)."""
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


from .._callable import make_callable  # noqa: E402

make_callable(__name__, "llm")  # onnxstat.llm is this module and the function: onnxstat.llm(model, prompt=512, context=4096)

__all__ = ["LLMResult", "Signature", "KVPair", "SCHEMA", "detect_signature", "fit_decode_formula", "generate_bench",
           "greedy_tokens", "kv_cache", "llm", "phase_inputs", "print_llm", "to_json", "to_markdown", "prompt_ids",
           "run_generation", "sum_over_past"]
