"""Candidate precision variants of a model (``compare --variants``), made with onnxruntime's own tools.

=================  ==========================================================================
variant            how it is made
=================  ==========================================================================
``fp16``           ``onnxruntime.transformers.float16.convert_float_to_float16``
                   (``keep_io_types=True`` by default: float32 inputs and outputs through Cast
                   nodes), nodes then sorted topologically
``int8-dynamic``   ``onnxruntime.quantization.quantize_dynamic`` (int8 weights, per tensor)
``int8-qdq``       ``quantize_static``, ``QuantFormat.QDQ``, int8 activations and weights (S8S8)
``int8-qoperator`` ``quantize_static``, ``QuantFormat.QOperator``, uint8 activations, int8
                   weights (U8S8: onnxruntime warns that S8S8 QOperator is slow on x64)
``int4-weight``    ``onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer``:
                   MatMul weights to 4 bits (MatMulNBits), block size 32, symmetric
=================  ==========================================================================

The int8 variants first go through ``quant_pre_process`` (symbolic shape
inference and onnxruntime's graph optimisation, as onnxruntime's quantisation
guide recommends).  Static quantisation is calibrated (MinMax) with samples from
``--calibration-dir`` or, labelled ``generated`` in the recipe, standard-normal
samples from the input signature seeded with ``--seed + 1000`` (so that they are
not the samples ``--fidelity`` measures on).

Each variant carries its recipe (tool, version, options, calibration) into the
comparison.  A variant its tool cannot make becomes a row with the one-line
reason; the others go on.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import OnnxstatError, UsageError

VARIANTS = ("fp16", "int8-dynamic", "int8-qdq", "int8-qoperator", "int4-weight")
STATIC = frozenset({"int8-qdq", "int8-qoperator"})
#: generated calibration samples when --samples is not given
DEFAULT_CALIBRATION_SAMPLES = 8
#: generated calibration data use this offset from --seed
CALIBRATION_SEED_OFFSET = 1000
INT4_BLOCK_SIZE = 32


def parse_variants(spec: str | Sequence[str] | None) -> list[str]:
    """``"fp16,int8-qdq"`` -> ``["fp16", "int8-qdq"]`` (order kept, repeats dropped)."""
    if not spec:
        return []
    items = spec.split(",") if isinstance(spec, str) else [x for s in spec for x in str(s).split(",")]
    out: list[str] = []
    for item in items:
        v = item.strip().lower().replace("_", "-")
        if not v:
            continue
        if v not in VARIANTS:
            raise UsageError(f"unknown variant {item.strip()!r}: use one or more of {', '.join(VARIANTS)}")
        if v not in out:
            out.append(v)
    if not out:
        raise UsageError(f"--variants is empty: use one or more of {', '.join(VARIANTS)}")
    return out


@dataclass
class Variant:
    name: str
    recipe: dict
    path: str | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        return dict(self.recipe, variant=self.name, file=self.path, error=self.error)


def _versions() -> str:
    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__}"


def recipe(name: str, calibration: Mapping | None = None, fp16_keep_io: bool = True) -> dict:
    """What makes variant ``name``: tool, version, options (calibration for the static ones)."""
    ver = _versions()
    pre = "onnxruntime.quantization.shape_inference.quant_pre_process"
    if name == "fp16":
        return {"tool": "onnxruntime.transformers.float16.convert_float_to_float16", "version": ver,
                "options": {"keep_io_types": fp16_keep_io}}
    if name == "int8-dynamic":
        return {"tool": "onnxruntime.quantization.quantize_dynamic", "version": ver, "preprocess": pre,
                "options": {"weight_type": "QInt8", "per_channel": False, "reduce_range": False}}
    if name in STATIC:
        qdq = name == "int8-qdq"
        return {"tool": "onnxruntime.quantization.quantize_static", "version": ver, "preprocess": pre,
                "options": {"quant_format": "QDQ" if qdq else "QOperator",
                            "activation_type": "QInt8" if qdq else "QUInt8", "weight_type": "QInt8",
                            "per_channel": False, "calibrate_method": "MinMax"},
                "calibration": dict(calibration or {})}
    if name == "int4-weight":
        return {"tool": "onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer", "version": ver,
                "options": {"bits": 4, "block_size": INT4_BLOCK_SIZE, "is_symmetric": True,
                            "quant_format": "QOperator", "op_types_to_quantize": ["MatMul"]}}
    raise UsageError(f"unknown variant {name!r}")  # pragma: no cover - parse_variants checks first


def _reader(feeds: Sequence[Mapping[str, Any]]):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter(feeds)

        def get_next(self):
            return next(self._it, None)

        def rewind(self):
            self._it = iter(feeds)

    return Reader()


def _one_line(exc: BaseException, limit: int = 240) -> str:
    text = " ".join(str(exc).split())[:limit]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _fp16(src: str, dst: str, keep_io: bool) -> None:
    import onnx
    from onnxruntime.quantization.onnx_model import ONNXModel
    from onnxruntime.transformers.float16 import convert_float_to_float16

    m = convert_float_to_float16(onnx.load(src), keep_io_types=keep_io)
    om = ONNXModel(m)
    om.topological_sort()  # the converter appends the input Casts at the end of the graph
    onnx.save(om.model, dst)


def _int8(name: str, src: str, dst: str, tmp: str, calibration_feeds, rec: dict) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = os.path.join(tmp, "preprocessed.onnx")
    try:
        quant_pre_process(src, pre)
    except Exception as exc:  # symbolic shape inference refuses some graphs: quantise the model as it is
        pre = src
        rec["preprocess"] = f"skipped: quant_pre_process failed ({_one_line(exc)})"
    if name == "int8-dynamic":
        quantize_dynamic(pre, dst, weight_type=QuantType.QInt8, per_channel=False)
        return
    qdq = name == "int8-qdq"
    quantize_static(pre, dst, _reader(calibration_feeds),
                    quant_format=QuantFormat.QDQ if qdq else QuantFormat.QOperator, per_channel=False,
                    activation_type=QuantType.QInt8 if qdq else QuantType.QUInt8, weight_type=QuantType.QInt8)


def _int4(src: str, dst: str) -> None:
    import onnx
    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    except ImportError as exc:
        raise _NotMade(f"this onnxruntime has no MatMulNBits quantizer ({_one_line(exc)})") from None
    try:
        import onnx_ir  # noqa: F401  (MatMulNBitsQuantizer imports it while it runs)
    except ImportError:
        raise _NotMade("MatMulNBitsQuantizer needs the onnx-ir package (pip install onnx-ir)") from None
    q = MatMulNBitsQuantizer(onnx.load(src), bits=4, block_size=INT4_BLOCK_SIZE, is_symmetric=True)
    q.process()
    if not any(n.op_type == "MatMulNBits" for n in q.model.model.graph.node):
        raise _NotMade("no MatMul with a constant weight to quantise (MatMulNBits takes MatMul weights only)")
    q.model.save_model_to_file(dst, use_external_data_format=False)


class _NotMade(Exception):
    """The tool ran but made nothing worth comparing; the message is the reason."""


def make_variants(source: str, names: Sequence[str], folder: str, *, calibration_feeds=None,
                  calibration: Mapping | None = None, fp16_keep_io: bool = True) -> list[Variant]:
    """Make every variant of the model file ``source`` in ``folder`` (``<stem>_<variant>.onnx``)."""
    stem = Path(source).stem
    out = []
    for name in names:
        rec = recipe(name, calibration if name in STATIC else None, fp16_keep_io)
        dst = os.path.join(folder, f"{stem}_{name.replace('-', '_')}.onnx")
        work = tempfile.mkdtemp(prefix=f".{name}-", dir=folder)
        logging.disable(logging.WARNING)  # onnxruntime.quantization logs every tensor it skips
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "fp16":
                    _fp16(source, dst, fp16_keep_io)
                elif name == "int4-weight":
                    _int4(source, dst)
                else:
                    _int8(name, source, dst, work, calibration_feeds, rec)
            out.append(Variant(name, rec, path=dst))
        except _NotMade as exc:
            out.append(Variant(name, rec, error=str(exc)))
        except Exception as exc:  # any failure of the tool: a row with its reason, the others go on
            out.append(Variant(name, rec, error=f"{rec['tool'].rsplit('.', 1)[-1]} failed: {_one_line(exc)}"))
        finally:
            logging.disable(logging.NOTSET)
            shutil.rmtree(work, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- compare with variants and fidelity


def _check_save_dir(folder) -> Path:
    p = Path(folder)
    if p.exists() and not p.is_dir():
        raise UsageError(f"--save-variants {p}: not a folder")
    parent = p if p.exists() else p.parent
    if not parent.exists():
        raise UsageError(f"--save-variants {p}: {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--save-variants {p}: {parent} is not writable")
    return p


def _save(made: Sequence[Variant], folder: Path) -> dict[str, str]:
    """Write the made files into ``folder`` (created if missing), each atomically."""
    from ..render.files import write_atomic

    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--save-variants {folder}: cannot create the folder: {exc.strerror or exc}") from None
    moved = {}
    for v in made:
        target = folder / Path(v.path).name
        write_atomic(target, Path(v.path).read_bytes())
        moved[v.name] = str(target)
    return moved


def compare_models(
    models: Sequence[Any],
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    variants: str | Sequence[str] | None = None,
    save_variants: str | os.PathLike | None = None,
    calibration_dir: str | os.PathLike | None = None,
    fidelity: bool = False,
    localize: bool = False,
    inputs_dir: str | os.PathLike | None = None,
    samples: int | None = None,
    seed: int = 0,
    snr_threshold: float | None = None,
    fp16_keep_io: bool = True,
    **compare_kw,
):
    """:func:`onnxstat.multi.compare.compare` plus variants made from the first model and output fidelity.

    ``variants`` are made from ``models[0]`` (see the module docstring) and compared
    after the models given; static ones are calibrated on every sample of
    ``calibration_dir``, or on 8 generated ones.  ``fidelity`` runs every model on the
    same samples (``inputs_dir`` or generated with ``seed``; ``samples`` of them); ``localize``
    (implies ``fidelity``) adds per-layer SNR with ``snr_threshold`` in dB.  Every
    argument is checked before anything is made or written.
    """
    from ..multi.compare import _labels, compare
    from . import fidelity as fid

    models = list(models)
    names = parse_variants(variants)
    fidelity = fidelity or localize
    _check_options(models, names, fidelity=fidelity, localize=localize, inputs_dir=inputs_dir, samples=samples,
                   snr_threshold=snr_threshold, calibration_dir=calibration_dir, save_variants=save_variants,
                   fp16_keep_io=fp16_keep_io)
    threshold = fid.DEFAULT_SNR_THRESHOLD if snr_threshold is None else float(snr_threshold)
    save_dir = _check_save_dir(save_variants) if save_variants is not None else None
    base = models[0]
    if names and not isinstance(base, (str, os.PathLike)):
        raise UsageError("--variants needs the baseline as a model file path")
    real, calib, calibration_info, input_shapes, dims = _samples_of(
        base, names, fidelity, inputs_dir, calibration_dir, samples, seed, dict(input_shapes or {}), dict(dims or {}))

    with tempfile.TemporaryDirectory(prefix="onnxstat-variants-") as tmp:
        made = make_variants(str(base), names, tmp, calibration_feeds=calib.feeds if calib else None,
                             calibration=calibration_info, fp16_keep_io=fp16_keep_io) if names else []
        ok = [v for v in made if v.path]
        sources = models + [v.path for v in ok]
        labels = _labels(models)
        labels += [v.name if v.name not in labels else f"{v.name} (variant)" for v in ok]
        if len(sources) < 2:
            reasons = "; ".join(f"{v.name}: {v.error}" for v in made)
            raise UsageError(f"no variant could be made ({reasons})")
        cmp = compare(sources, input_shapes, dims, labels=labels, **compare_kw)
        for entry, v in zip(cmp.models[len(models):], ok):
            entry.variant = v.to_dict()
        if fidelity:
            _attach_fidelity(cmp, sources, real, localize, threshold)
        moved = _save(ok, save_dir) if save_dir is not None else {}
    for entry, v in zip(cmp.models[len(models):], ok):
        v.path = moved.get(v.name)
        entry.variant["file"] = v.path
        entry.result.path = v.path  # a temporary file is gone: no path
    cmp.variants = [v.to_dict() for v in made]
    for v in made:
        if v.error:
            cmp.warnings.append(f"variant {v.name} not made: {v.error}")
    if calibration_info and calibration_info["source"] == "generated":
        cmp.warnings.append(f"int8 static variants calibrated on {calibration_info['samples']} generated samples "
                            f"(seed {calibration_info['seed']}), not real data: give --calibration-dir")
    cmp.settings["variants"] = names or None
    cmp.settings["fidelity"] = (dict(real.describe(), localize=localize, snr_threshold_db=threshold if localize else None)
                                if fidelity else None)
    return cmp


def _check_options(models: Sequence[Any], names: Sequence[str], *, fidelity: bool, localize: bool, inputs_dir, samples,
                   snr_threshold, calibration_dir, save_variants, fp16_keep_io: bool) -> None:
    """Every option of :func:`compare_models` that needs another, before anything is made or written."""
    if not models:
        raise UsageError("compare needs a model")
    if not names and len(models) < 2:
        raise UsageError("compare needs at least two models (the first is the baseline), or --variants")
    if (inputs_dir is not None or samples is not None) and not fidelity:
        raise UsageError("--inputs-dir and --samples apply to --fidelity / --localize; add --fidelity")
    if snr_threshold is not None and not localize:
        raise UsageError("--snr-threshold applies to --localize; add --localize")
    if calibration_dir is not None and not (STATIC & set(names)):
        raise UsageError("--calibration-dir applies to --variants int8-qdq / int8-qoperator")
    if save_variants is not None and not names:
        raise UsageError("--save-variants needs --variants")
    if samples is not None and samples < 1:
        raise UsageError(f"--samples must be at least 1, got {samples}")
    if fidelity and "fp16" in names and not fp16_keep_io:
        raise UsageError("--fidelity compares outputs of the same dtype: the fp16 variant needs float32 I/O "
                         "(leave out --fp16-io float16)")


def _samples_of(base, names: Sequence[str], fidelity: bool, inputs_dir, calibration_dir, samples: int | None, seed: int,
                input_shapes: dict, dims: dict):
    """The inputs: (fidelity samples, calibration samples, calibration record, input_shapes, dims).

    Real samples fix the shapes the counts use; otherwise samples are generated from the
    baseline's signature at the given shapes."""
    from ..model.loader import load
    from ..shapes.resolve import resolve
    from .inputs import bind_user_inputs, model_inputs
    from .samples import DEFAULT_SAMPLES, generated_samples, load_samples

    lm = load(str(base) if isinstance(base, os.PathLike) else base)
    declared = model_inputs(lm.model)
    real = None
    if inputs_dir is not None:
        real = load_samples(inputs_dir, declared, samples, "--inputs-dir")
        _arrays, input_shapes, dims = bind_user_inputs(declared, real.feeds[0], input_shapes, dims)
    calib = None
    if calibration_dir is not None:
        calib = load_samples(calibration_dir, declared, None, "--calibration-dir")
    resolved = None
    if (fidelity and real is None) or (STATIC & set(names) and calib is None):
        sh = resolve(lm, input_shapes, dims)
        resolved = [(n, d, s) for n, d, s in sh.inputs]
    if fidelity and real is None:
        real = generated_samples(resolved, samples or DEFAULT_SAMPLES, seed)
    calibration_info = None
    if STATIC & set(names):
        if calib is None:
            calib = generated_samples(resolved, DEFAULT_CALIBRATION_SAMPLES, seed + CALIBRATION_SEED_OFFSET)
            calibration_info = {"source": "generated", "samples": len(calib.feeds), "seed": calib.seed,
                                "note": "standard-normal data from the input signature, not real samples"}
        else:
            calibration_info = {"source": "folder", "folder": calib.folder, "samples": len(calib.feeds)}
    return real, calib, calibration_info, input_shapes, dims


def _attach_fidelity(cmp, sources, samples, localize: bool, threshold: float) -> None:
    from . import fidelity as fid

    labels = [m.label for m in cmp.models]
    results = fid.output_fidelity(sources, labels, samples)
    for entry, res in zip(cmp.models[1:], results[1:]):
        entry.fidelity = res
    if localize:
        for entry, src in zip(cmp.models[1:], sources[1:]):
            try:
                loc = fid.localize(sources[0], src, samples, entry.label, threshold, base_label=labels[0])
            except OnnxstatError as exc:
                entry.fidelity["localize"] = {"threshold_db": threshold, "first_below": None, "error": str(exc)}
                entry.fidelity["layers"] = []
                continue
            entry.fidelity["layers"] = loc.pop("layers")
            entry.fidelity["localize"] = loc


__all__ = ["VARIANTS", "parse_variants", "recipe", "make_variants", "compare_models", "Variant"]


# --------------------------------------------------------------------------- tables


def _options_text(rec: Mapping) -> str:
    opts = ", ".join(f"{k}={v}" for k, v in (rec.get("options") or {}).items())
    cal = rec.get("calibration") or {}
    if cal:
        src = (f"generated, {cal.get('samples')} samples, seed {cal.get('seed')}" if cal.get("source") == "generated"
               else f"{cal.get('folder')}, {cal.get('samples')} samples")
        opts += f"; calibration: {src}"
    if rec.get("preprocess"):
        opts += ("; " + rec["preprocess"]) if rec["preprocess"].startswith("skipped") else "; after quant_pre_process"
    return opts


def variant_table(variants: Sequence[Mapping]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The recipes of the --variants candidates, made or not: (title, headers, rows)."""
    if not variants:
        return []
    rows = []
    for v in variants:
        result = f"not made: {v['error']}" if v.get("error") else (v.get("file") or "made (temporary; --save-variants DIR keeps it)")
        rows.append([v["variant"], f"{v['tool']} ({v['version']})", _options_text(v), result])
    return [("Variants (recipes)", ["Variant", "Tool", "Options", "Result"], rows)]


def decision_table(models: Sequence[Mapping], speedups: Sequence[float | None] | None = None
                   ) -> list[tuple[str, list[str], list[list[str]]]]:
    """One row per model: how much smaller, how much faster here, how much less accurate.

    ``models`` are the ``models`` of an ``onnxstat.compare/1`` dict; shown when any
    model has fidelity numbers or a variant recipe.
    """
    from ..multi.compare import ratio
    from ..render import units
    from .fidelity import fmt_share, fmt_snr, worst_output

    if not any(m.get("fidelity") or m.get("variant") for m in models):
        return []
    base = models[0]
    bt = base.get("totals") or {}
    rows = []
    for i, m in enumerate(models):
        t = m.get("totals") or {}
        fid = m.get("fidelity")
        p50 = ((m.get("bench") or {}).get("latency_ms") or {}).get("p50")

        def rel(v, b):
            r = ratio(v, b)
            return "" if i == 0 or r is None else f" (x{r:.3g})"

        macs = ", ".join(f"{k} {units.si(v)}" for k, v in sorted((t.get("macs_by_precision") or {}).items()) if v) or "-"
        lat = "-" if p50 is None else units.ms(p50)
        if p50 is not None and speedups is not None and i and speedups[i] is not None:
            lat += f" (x{speedups[i]:.2f} speedup)"
        if i == 0:
            snr, cos, top1 = "baseline", "1", "-"
        elif fid is None:
            snr = cos = top1 = "-"
        elif fid.get("error"):
            snr = cos = top1 = "n/a"
        else:
            w = worst_output(fid)
            snr = fmt_snr(w["snr_db"]) if w else "-"
            coss = [o["cosine"] for o in fid.get("outputs") or [] if o.get("cosine") is not None]
            cos = f"{min(coss):.6f}" if coss else "-"
            tops = [o["top1_agreement"] for o in fid.get("outputs") or [] if o.get("top1_agreement") is not None]
            top1 = fmt_share(min(tops)) if tops else "-"
        rows.append([
            str(m.get("label")),
            ("-" if m.get("file_size") is None else units.nbytes(m["file_size"])) + rel(m.get("file_size"), base.get("file_size")),
            units.nbytes(t.get("weight_bytes")) + rel(t.get("weight_bytes"), bt.get("weight_bytes")),
            macs, lat, snr, cos, top1,
        ])
    heads = ["Model", "File size", "Weight bytes", "MACs by precision", "Latency p50", "SNR", "Cosine", "Top-1 agreement"]
    keep = [k for k in range(len(heads)) if k < 4 or any(r[k] not in ("-", "baseline", "1") for r in rows)]
    return [("Candidates (xN = ratio to the baseline; SNR and cosine of the worst output)",
             [heads[k] for k in keep], [[r[k] for k in keep] for r in rows])]
