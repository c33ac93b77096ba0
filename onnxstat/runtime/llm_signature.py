"""The decoder signature of ``onnxstat llm``: which inputs, outputs and dims of a decoder
with a KV cache play which role (:func:`detect_signature`).

Past/present pairs are matched by name: ``past_key_values.N.key`` -> ``present.N.key``
(transformers/optimum, onnxruntime-genai), ``past_key_values.N.decoder.key`` ->
``present.N.decoder.key`` (encoder-decoder; ``...encoder...``/``cross`` caches are the
constant cross-attention cache), ``past_key_N`` -> ``present_key_N`` (GroupQueryAttention
graphs); ``--kv INPUT=OUTPUT`` adds pairs by hand.  The token ids input gives the batch
dim (axis 0) and the new-tokens dim (axis 1, ``--seq-dim``); the past caches give the past
dim (``--past-dim``).  See :mod:`onnxstat.runtime.llm` for the whole picture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..errors import UsageError

_NOT_CACHE = ("cache_position", "cache_indirection", "cos_cache", "sin_cache")


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
    from ..model.loader import LoadedModel, load
    from ..shapes.resolve import type_of
    from .inputs import model_inputs

    lm = model if isinstance(model, LoadedModel) else load(model)
    g = lm.model.graph
    declared = {n: (d, s) for n, d, s in model_inputs(lm.model)}
    outputs = {o.name: type_of(o.type) for o in g.output}
    names = list(declared)
    user_kv = _checked_user_kv(kv, declared, outputs)
    roles = _input_roles(names, declared)
    ids, mask = roles["ids"], roles["mask"]
    taken = set(roles.values()) - {None}
    pairs = _pair_caches(names, taken, declared, outputs, user_kv)
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
    past_name = _past_dim(pairs, past_dim, batch_dim)
    total_dim = None
    if mask is not None:
        ms = declared[mask][1] or ()
        if len(ms) >= 2 and isinstance(ms[-1], str) and ms[-1] not in (past_name, seq_dim):
            total_dim = ms[-1]
    logits = _find(list(outputs), "logits") or next((o for o in outputs if o not in {p.output for p in pairs}), None)
    other = [n for n in names if n not in taken and n not in {p.input for p in pairs}]
    return Signature(ids=ids, ids_dtype=declared[ids][0], mask=mask, positions=roles["positions"],
                     seqlens_k=roles["seqlens_k"], total_len=roles["total_len"], use_cache=roles["use_cache"], kv=pairs,
                     batch_dim=batch_dim, seq_dim=seq_dim, past_dim=past_name, total_dim=total_dim, logits=logits,
                     other=other, declared=declared)


def _checked_user_kv(kv, declared: Mapping[str, Any], outputs: Mapping[str, Any]) -> dict[str, str]:
    """``--kv`` pairs, each naming a model input and a model output."""
    names = list(declared)
    user_kv = parse_kv(kv)
    for i, o in user_kv.items():
        if i not in declared:
            raise UsageError(f"--kv {i}={o}: {i!r} is not a model input (inputs: {', '.join(names)})")
        if o not in outputs:
            raise UsageError(f"--kv {i}={o}: {o!r} is not a model output (outputs: {', '.join(outputs)})")
    return user_kv


def _input_roles(names: Sequence[str], declared: Mapping[str, Any]) -> dict[str, str | None]:
    """The inputs recognised by name: token ids, mask, positions, seqlens_k, total length, use_cache."""
    ids = _find(names, "input_ids", "decoder_input_ids", "ids", "tokens")
    if ids is None:  # the first integer input of rank 2 that is not a mask or positions
        ids = next((n for n in names if declared[n][0].startswith("int") and len(declared[n][1] or ()) == 2
                    and "mask" not in n.lower() and "position" not in n.lower() and not _is_past_name(n)), None)
    return {
        "ids": ids,
        "mask": _find(names, "attention_mask", "decoder_attention_mask"),
        "positions": _find(names, "position_ids", "decoder_position_ids"),
        "seqlens_k": _find(names, "seqlens_k"),
        "total_len": _find(names, "total_sequence_length", "total_seq_len"),
        "use_cache": _find(names, "use_cache_branch"),
    }


def _pair_caches(names: Sequence[str], taken: set, declared: Mapping[str, Any], outputs: Mapping[str, Any],
                 user_kv: Mapping[str, str]) -> list[KVPair]:
    """Every past input with the present output it becomes (a cross cache has none); their
    past axes are set by :func:`_past_dim`."""
    pairs: list[KVPair] = []
    unpaired: list[str] = []
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
    return pairs


def _past_dim(pairs: Sequence[KVPair], past_dim: str | None, batch_dim: Any) -> str:
    """Set the past axis of every cache; the name of the past dim the self caches share."""
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
    return past_name
