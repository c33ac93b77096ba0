"""How far a model's outputs drift from the baseline's on the same inputs (``compare --fidelity``).

Every model runs under onnxruntime (CPU) on the same samples: generated from the
baseline's input signature at the compared shapes (as :mod:`onnxstat.runtime.bench` does:
:func:`onnxstat.runtime.inputs.make_inputs`, sample ``i`` seeded with ``seed + i``), or
real samples from a folder (:func:`onnxstat.runtime.samples.load_samples`).  Outputs are matched by name;
each output's numbers are taken over all samples together (every element of every
sample, flattened), with ``r`` the baseline's values and ``y`` the model's, both
as float64:

* ``max_abs_err`` = max |y - r|, ``mean_abs_err`` = mean |y - r|;
* ``cosine`` = r·y / (‖r‖ ‖y‖) (1.0 when both are all zeros);
* ``snr_db`` = 10·log10(Σr² / Σ(r - y)²), the signal-to-quantisation-noise ratio
  of onnxruntime's ``qdq_loss_debug``; ``null`` with ``"exact": true`` when y == r;
* ``top1_agreement``: for a classification-shaped output (rank 2, ``[batch,
  classes]`` with at least 2 classes, or a name containing "logit"), the fraction of
  rows whose arg-max is the same in both (0..1); ``null`` otherwise.

``--localize`` (:func:`localize`) exposes the intermediate float tensors of both
graphs as extra outputs and gives per-layer SNR and cosine in the baseline's graph
order.  A tensor is matched by name; in a QDQ model a baseline tensor ``T`` that
is quantised (QuantizeLinear(T) -> DequantizeLinear) is compared with the
DequantizeLinear's output, the value the next layer really reads.  Exposing
intermediate tensors keeps onnxruntime from fusing Q/DQ pairs into integer kernels,
so these runs emulate quantisation in float, as ``qdq_loss_debug`` does; every
exposed tensor of every sample is held in memory, so localise with few samples.
"""

from __future__ import annotations

import math
import os
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ModelError, UsageError
from .inputs import ort_feed
from .samples import DEFAULT_SAMPLES, Samples, generated_samples, load_samples, one_line

#: --localize flags layers whose SNR is below this many dB
DEFAULT_SNR_THRESHOLD = 20.0
FLOAT_DTYPES = frozenset({"float32", "float16", "float64", "bfloat16"})


# --------------------------------------------------------------------------- metrics


def snr_db(ref: np.ndarray, y: np.ndarray) -> float | None:
    """10·log10(Σr² / Σ(r - y)²) in dB; None when y == r exactly (infinite SNR)."""
    r = np.asarray(ref, dtype=np.float64).ravel()
    d = r - np.asarray(y, dtype=np.float64).ravel()
    noise = float(np.dot(d, d))
    if noise == 0.0:
        return None
    signal = float(np.dot(r, r))
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def cosine(ref: np.ndarray, y: np.ndarray) -> float:
    """r·y / (‖r‖ ‖y‖); 1.0 when both are all zeros, 0.0 when only one is."""
    r = np.asarray(ref, dtype=np.float64).ravel()
    v = np.asarray(y, dtype=np.float64).ravel()
    nr, nv = float(np.linalg.norm(r)), float(np.linalg.norm(v))
    if nr == 0.0 or nv == 0.0:
        return 1.0 if nr == nv else 0.0
    return float(np.dot(r, v) / (nr * nv))


def is_classification(name: str, shape: Sequence[int]) -> bool:
    """``[batch, classes]`` with at least 2 classes, or any rank-2+ output named like logits."""
    if len(shape) < 2 or shape[-1] < 2:
        return False
    return len(shape) == 2 or "logit" in name.lower()


def top1_agreement(refs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> float:
    """Share of rows (every position but the last axis, over all samples) with the same arg-max."""
    same = total = 0
    for r, y in zip(refs, ys):
        a = np.argmax(np.asarray(r, dtype=np.float64), axis=-1)
        b = np.argmax(np.asarray(y, dtype=np.float64), axis=-1)
        same += int(np.count_nonzero(a == b))
        total += int(a.size)
    return same / total if total else 1.0


def output_metrics(name: str, refs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> dict:
    """The numbers of one output over all samples (see the module docstring)."""
    if any(np.asarray(a).dtype.kind not in "biuf" for a in list(refs) + list(ys)):  # strings, objects, complex
        same = all(np.array_equal(a, b) for a, b in zip(refs, ys))
        return {"name": name, "max_abs_err": None, "mean_abs_err": None, "cosine": None, "snr_db": None,
                "top1_agreement": None, "exact": same, "note": "not a real-valued tensor: compared for equality"}
    r = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in refs])
    y = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in ys])
    err = np.abs(y - r)
    snr = snr_db(r, y)
    out = {
        "name": name,
        "max_abs_err": float(err.max()) if err.size else 0.0,
        "mean_abs_err": float(err.mean()) if err.size else 0.0,
        "cosine": cosine(r, y),
        "snr_db": None if snr is None or math.isinf(snr) else snr,
        "top1_agreement": top1_agreement(refs, ys) if is_classification(name, refs[0].shape) else None,
    }
    if snr is None:
        out["exact"] = True
    return out


# --------------------------------------------------------------------------- running


def _session(source, label: str, extra_outputs: Sequence[str] = ()):
    """A CPU session for ``source`` (path or ModelProto); ``extra_outputs`` become graph outputs."""
    from .bench import make_session_options
    from .session import create_session, load_ort

    ort = load_ort()
    model = source
    if extra_outputs:
        model = _with_outputs(_proto(source), extra_outputs).SerializeToString()
    elif not isinstance(source, (str, os.PathLike)):
        model = source.SerializeToString()
    so = make_session_options(ort)
    try:
        sess, _ns = create_session(ort, str(model) if isinstance(model, os.PathLike) else model, so,
                                    ["CPUExecutionProvider"], 0)
    except ModelError as exc:
        raise ModelError(f"{label}: {exc}") from None
    return sess


def _proto(source):
    if isinstance(source, (str, os.PathLike)):
        from ..model.loader import load

        return load(str(source)).full_model()
    return source


def _with_outputs(model, names: Sequence[str]):
    """A copy of ``model`` whose graph also outputs ``names`` (untyped: onnxruntime infers them)."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for nm in names:
        if nm not in have:
            vi = m.graph.output.add()
            vi.name = nm
    return m


def _dtype_name(ort_type: str) -> str:
    """``tensor(float)`` -> ``float32`` (onnxstat's dtype names)."""
    inner = ort_type[7:-1] if ort_type.startswith("tensor(") else ort_type
    return {"float": "float32", "double": "float64"}.get(inner, inner)


def _run(sess, samples: Samples, label: str, names: Sequence[str] | None = None) -> list[dict[str, np.ndarray]]:
    """Outputs (by name) of every sample."""
    types = {i.name: _dtype_name(i.type) for i in sess.get_inputs()}
    wanted = list(names) if names is not None else [o.name for o in sess.get_outputs()]
    results = []
    for feed in samples.feeds:
        feeds = {n: ort_feed(a, types.get(n, str(a.dtype))) for n, a in feed.items()}
        try:
            outs = sess.run(wanted, feeds)
        except Exception as exc:
            raise ModelError(f"{label}: onnxruntime failed to run the model: {one_line(exc, 300)}") from None
        results.append({n: np.asarray(v) for n, v in zip(wanted, outs)})
    return results


def _signature(sess) -> tuple[dict[str, str], dict[str, str]]:
    return ({i.name: _dtype_name(i.type) for i in sess.get_inputs()},
            {o.name: _dtype_name(o.type) for o in sess.get_outputs()})


def check_signature(base_label: str, base_sig, label: str, sig) -> None:
    """Inputs and outputs must have the same names and dtypes as the baseline's (one-line UsageError)."""
    for kind, b, o in (("inputs", base_sig[0], sig[0]), ("outputs", base_sig[1], sig[1])):
        if set(b) != set(o):
            only_b = [n for n in b if n not in o]
            only_o = [n for n in o if n not in b]
            parts = []
            if only_o:
                parts.append(f"{label} has {', '.join(only_o)}")
            if only_b:
                parts.append(f"{label} lacks {', '.join(only_b)}")
            raise UsageError(f"--fidelity: {kind} differ from the baseline {base_label}'s "
                             f"({', '.join(b)}): {'; '.join(parts)} ({kind} are matched by name)")
        bad = [f"{n} is {o[n]} in {label} but {b[n]} in {base_label}" for n in b if o[n] != b[n]]
        if bad:
            raise UsageError(f"--fidelity: {kind[:-1]} dtypes differ: {'; '.join(bad)}")


def _check_shapes(base_label: str, base_out: list[dict], label: str, out: list[dict]) -> None:
    for k, (b, o) in enumerate(zip(base_out, out)):
        for n, a in b.items():
            if o[n].shape != a.shape:
                raise UsageError(f"--fidelity: output {n} has shape {'x'.join(map(str, o[n].shape)) or 'scalar'} in "
                                 f"{label} but {'x'.join(map(str, a.shape)) or 'scalar'} in {base_label} (sample {k + 1})")


def output_fidelity(sources: Sequence[Any], labels: Sequence[str], samples: Samples) -> list[dict | None]:
    """Per model (the first is the baseline: None) ``{"samples", "outputs": [...]}``.

    A model whose inputs or outputs differ from the baseline's is a UsageError; one
    onnxruntime cannot load or run gets ``{"samples", "outputs": [], "error": reason}``.
    """
    base_sess = _session(sources[0], labels[0])
    base_sig = _signature(base_sess)
    sessions: list[Any] = [base_sess]
    for src, lab in zip(sources[1:], labels[1:]):
        try:
            sess = _session(src, lab)
        except ModelError as exc:
            sessions.append(str(exc))
            continue
        check_signature(labels[0], base_sig, lab, _signature(sess))
        sessions.append(sess)
    out_names = [o.name for o in base_sess.get_outputs()]
    base = _run(base_sess, samples, labels[0], out_names)
    result: list[dict | None] = [None]
    for sess, lab in zip(sessions[1:], labels[1:]):
        entry: dict[str, Any] = {"samples": len(samples.feeds), "outputs": []}
        try:
            if isinstance(sess, str):
                raise ModelError(sess)
            outs = _run(sess, samples, lab, out_names)
        except ModelError as exc:
            entry["error"] = str(exc)
            result.append(entry)
            continue
        _check_shapes(labels[0], base, lab, outs)
        entry["outputs"] = [output_metrics(n, [b[n] for b in base], [o[n] for o in outs]) for n in out_names]
        result.append(entry)
    return result


# --------------------------------------------------------------------------- localize


def _producers(graph) -> dict[str, tuple[int, Any]]:
    return {o: (i, n) for i, n in enumerate(graph.node) for o in n.output if o}


def match_tensors(base, other) -> list[tuple[str, str, str, str | None]]:
    """(baseline tensor, tensor in ``other`` to compare it with, baseline node, the node of ``other``
    that computes the value) in the baseline's graph order.

    Candidates are the outputs of the baseline's main-graph nodes.  In ``other``,
    a tensor ``T`` quantised by QuantizeLinear -> DequantizeLinear maps to the
    DequantizeLinear's output; otherwise a tensor of the same name produced by a node.
    """
    from ..model.graph import node_label

    consumers: dict[str, list[Any]] = {}
    for n in other.graph.node:
        for x in n.input:
            consumers.setdefault(x, []).append(n)
    other_produced = _producers(other.graph)
    inputs = {i.name for i in base.graph.input}
    out = []
    seen = set()
    for i, n in enumerate(base.graph.node):
        if n.op_type == "Constant":
            continue
        for t in n.output:
            if not t or t in inputs or t in seen:
                continue
            seen.add(t)
            target = None
            for q in consumers.get(t, []):
                if q.op_type == "QuantizeLinear" and q.input[0] == t:
                    dq = [d for d in consumers.get(q.output[0], []) if d.op_type == "DequantizeLinear"]
                    if dq:
                        target = dq[0].output[0]
                        break
            if target is None and t in other_produced:
                target = t
            if target is not None:
                k, p = other_produced.get(t, (None, None))
                # a graph output written by DequantizeLinear(QuantizeLinear(x)): the node computing x
                while p is not None and p.op_type in ("DequantizeLinear", "QuantizeLinear") and p.input[0] in other_produced:
                    k, p = other_produced[p.input[0]]
                out.append((t, target, node_label(n, i), None if p is None else node_label(p, k)))
    return out


def localize(base_source, source, samples: Samples, label: str, threshold: float = DEFAULT_SNR_THRESHOLD,
             base_label: str = "baseline") -> dict:
    """Per-layer SNR and cosine of ``source`` against ``base_source`` (see the module docstring).

    Returns ``{"threshold_db", "layers": [{"tensor", "node", "compared_with", "node_in_model",
    "snr_db", "cosine", "below"}], "first_below"}``: ``node`` computes ``tensor`` in the
    baseline, ``node_in_model`` computes it in the compared model (a fused node may differ),
    ``compared_with`` is the tensor read there (a DequantizeLinear output for a Q/DQ pair).
    Only float tensors of equal shape are kept.
    """
    base, other = _proto(base_source), _proto(source)
    pairs = match_tensors(base, other)
    if not pairs:
        return {"threshold_db": threshold, "layers": [], "first_below": None,
                "note": "no intermediate tensor of the baseline is found in this model"}
    wanted = [t for t, _o, _n, _m in pairs]
    targets = sorted({o for _t, o, _n, _m in pairs})
    b_runs = _run(_session(base, base_label, wanted), samples, base_label, wanted)
    o_runs = _run(_session(other, label, targets), samples, label, targets)
    layers = []
    for t, o, node, other_node in pairs:
        refs = [r[t] for r in b_runs]
        ys = [r[o] for r in o_runs]
        if any(a.dtype.kind != "f" or b.dtype.kind != "f" or a.shape != b.shape for a, b in zip(refs, ys)):
            continue
        r = np.concatenate([a.astype(np.float64).ravel() for a in refs])
        y = np.concatenate([a.astype(np.float64).ravel() for a in ys])
        snr = snr_db(r, y)
        layers.append({
            "tensor": t, "node": node, "compared_with": o, "node_in_model": other_node,
            "snr_db": None if snr is None or math.isinf(snr) else snr,
            "cosine": cosine(r, y),
            "below": snr is not None and snr < threshold,
        })
    first = next((x["tensor"] for x in layers if x["below"]), None)
    return {"threshold_db": threshold, "layers": layers, "first_below": first}


# --------------------------------------------------------------------------- rendering helpers


def fmt_snr(v: Any) -> str:
    if v is None:
        return "exact"
    if isinstance(v, float) and math.isinf(v):
        return "-inf dB"
    return f"{v:.1f} dB"


def fmt_share(v: Any) -> str:
    return "-" if v is None else f"{100.0 * v:.1f}%"


def fmt_err(v: Any) -> str:
    return "-" if v is None else f"{v:.3g}"


def summary_rows(models: Sequence[Any]) -> list[tuple[str, list[str]]]:
    """Rows (metric, one cell per model) for the compare tables: per output SNR, cosine, errors,
    top-1 agreement; with --localize the first layer below the threshold.  ``models`` are
    ModelEntry objects or their JSON dicts (anything with a ``fidelity``)."""
    fids = [_fid(m) for m in models]
    if not any(fids):
        return []
    names: list[str] = []
    for f in fids:
        for o in (f or {}).get("outputs") or []:
            if o["name"] not in names:
                names.append(o["name"])

    def cell(f, name, key, fmt):
        if not f:
            return "-"
        if f.get("error"):
            return "n/a"
        o = next((o for o in f.get("outputs") or [] if o["name"] == name), None)
        return "-" if o is None else fmt(o.get(key))

    rows = []
    many = len(names) > 1
    for name in names:
        tag = f" ({name})" if many else ""
        rows.append((f"SNR{tag}", [cell(f, name, "snr_db", fmt_snr) if f else "baseline" for f in fids]))
        rows.append((f"Cosine{tag}", [cell(f, name, "cosine", lambda v: "-" if v is None else f"{v:.6f}") for f in fids]))
        rows.append((f"Max abs err{tag}", [cell(f, name, "max_abs_err", fmt_err) for f in fids]))
        rows.append((f"Mean abs err{tag}", [cell(f, name, "mean_abs_err", fmt_err) for f in fids]))
        if any(o.get("top1_agreement") is not None for f in fids for o in (f or {}).get("outputs") or []
               if o["name"] == name):
            rows.append((f"Top-1 agreement{tag}", [cell(f, name, "top1_agreement", fmt_share) for f in fids]))
    if any((f or {}).get("layers") is not None for f in fids):
        rows.append(("First layer below SNR threshold", [_first_below(f) for f in fids]))
    if any((f or {}).get("error") for f in fids):
        rows.append(("Fidelity error", [(f or {}).get("error") or "-" for f in fids]))
    return rows


def _fid(m) -> dict | None:
    return m.get("fidelity") if isinstance(m, Mapping) else getattr(m, "fidelity", None)


def _first_below(f: dict | None) -> str:
    if not f or f.get("layers") is None:
        return "-"
    loc = f.get("localize") or {}
    first = loc.get("first_below")
    if first is None:
        return f"none (all >= {loc.get('threshold_db', DEFAULT_SNR_THRESHOLD):g} dB)" if f.get("layers") else "no shared layers"
    layer = next((x for x in f["layers"] if x["tensor"] == first), {})
    return f"{layer.get('node', first)} -> {first} ({fmt_snr(layer.get('snr_db'))})"


__all__ = [
    "Samples", "generated_samples", "load_samples", "snr_db", "cosine", "top1_agreement", "output_metrics",
    "output_fidelity", "match_tensors", "localize", "summary_rows", "DEFAULT_SAMPLES", "DEFAULT_SNR_THRESHOLD",
]


def worst_output(f: dict | None) -> dict | None:
    """The output with the lowest SNR (exact outputs count as best): the headline of a model."""
    outs = [o for o in (f or {}).get("outputs") or []]
    if not outs:
        return None
    return min(outs, key=lambda o: (math.inf if o.get("snr_db") is None else o["snr_db"]))


def layer_tables(models: Sequence[Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """One table per model with --localize layers: (title, headers, rows) in graph order."""
    out = []
    for m in models:
        f = _fid(m) or {}
        layers = f.get("layers")
        if layers is None:
            continue
        loc = f.get("localize") or {}
        label = m.get("label") if isinstance(m, Mapping) else m.label
        thr = loc.get("threshold_db", DEFAULT_SNR_THRESHOLD)
        first = loc.get("first_below")
        title = (f"Layers of {label} against the baseline (SNR threshold {thr:g} dB; "
                 + (f"first below: {first})" if first else "none below)"))
        rows = []
        for x in layers:
            flag = "FIRST BELOW" if x["tensor"] == first else ("below" if x.get("below") else "")
            other = x.get("node_in_model")
            rows.append([x["node"], "" if other in (None, x["node"]) else other, x["tensor"],
                         fmt_snr(x.get("snr_db")), f"{x['cosine']:.6f}", flag])
        if loc.get("error"):
            rows.append(["-", "", "-", "-", "-", loc["error"]])
        heads = ["Node", "In this model", "Tensor", "SNR", "Cosine", ""]
        if not any(r[1] for r in rows):  # every layer computed by the node of the same name
            heads, rows = heads[:1] + heads[2:], [r[:1] + r[2:] for r in rows]
        out.append((title, heads, rows))
    return out


def csv_rows(models: Sequence[Any]) -> list[tuple[str, str, str, list]]:
    """Exact numbers for the CSV: (section, key, metric, one value per model) per output
    and metric, and per --localize layer and metric."""
    fids = [_fid(m) or {} for m in models]
    rows = []
    names = list(dict.fromkeys(o["name"] for f in fids for o in f.get("outputs") or []))
    for name in names:
        outs = [next((o for o in f.get("outputs") or [] if o["name"] == name), None) for f in fids]
        for key in ("max_abs_err", "mean_abs_err", "cosine", "snr_db", "top1_agreement"):
            rows.append(("fidelity", name, key, [None if o is None else o.get(key) for o in outs]))
    tensors = list(dict.fromkeys(x["tensor"] for f in fids for x in f.get("layers") or []))
    for t in tensors:
        hits = [next((x for x in f.get("layers") or [] if x["tensor"] == t), None) for f in fids]
        for key in ("snr_db", "cosine"):
            rows.append(("layer", t, key, [None if x is None else x.get(key) for x in hits]))
    return rows
