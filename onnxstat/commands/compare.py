"""Command module: `onnxstat compare` (registers itself on the CLI group when imported)."""

from __future__ import annotations

import click

from .option_types import MAX_RUNS, int_range
from ..cli import cli, emit, output_options, parse_shape_options, shape_options, warn
from ..render.files import check_output_path


@cli.command("compare")
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=True, readable=False))
@shape_options
@output_options(("table", "json", "markdown", "csv"))
@click.option("--bench", is_flag=True, help="Also measure latency (p50/p90), FPS and speedup with onnxruntime on the CPU.")
@click.option("--runs", type=int_range(1, MAX_RUNS), default=None, help="Timed runs per model with --bench.")
@click.option("--warmup", type=int_range(0, MAX_RUNS), default=None, help="Untimed warm-up runs per model with --bench.")
@click.option("--shape-source", type=click.Choice(["onnx", "ort", "auto"]), default="onnx", show_default=True,
              help="'ort' also runs each model once in onnxruntime (CPU) to observe shapes inference leaves unknown.")
@click.option("--variants", default=None, metavar="V[,V...]",
              help="Also make and compare variants of the first model: fp16, int8-dynamic, int8-qdq, "
                   "int8-qoperator, int4-weight (onnxruntime.quantization / float16).")
@click.option("--save-variants", type=click.Path(), default=None, metavar="DIR",
              help="Keep the variant files in DIR (otherwise they live in a temporary folder).")
@click.option("--calibration-dir", type=click.Path(), default=None, metavar="DIR",
              help="Calibration samples for int8-qdq / int8-qoperator (.npz per sample or .npy per input); "
                   "without it, 8 generated samples (labelled so).")
@click.option("--fp16-io", type=click.Choice(["float32", "float16"]), default="float32", show_default=True,
              help="I/O type of the fp16 variant (float32 keeps the model's I/O through Cast nodes).")
@click.option("--fidelity", is_flag=True,
              help="Run every model on the same inputs and report per-output error, cosine, SNR and top-1 agreement.")
@click.option("--localize", is_flag=True,
              help="--fidelity plus per-layer SNR and cosine of the tensors both graphs share; flags the first "
                   "layers below --snr-threshold.")
@click.option("--snr-threshold", type=float, default=None, metavar="DB",
              help="--localize flags layers below this SNR [default: 20 dB].")
@click.option("--inputs-dir", type=click.Path(), default=None, metavar="DIR",
              help="Real samples for --fidelity: one .npz per sample, or one .npy per input.")
@click.option("--samples", type=click.IntRange(min=1), default=None, metavar="N",
              help="Samples for --fidelity [default: 4 generated, or every sample of --inputs-dir].")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the generated --fidelity inputs (generated calibration data use SEED+1000).")
def compare_cmd(models, input_shapes, dims, fmt, output, bench, runs, warmup, shape_source, variants, save_variants,
                calibration_dir, fp16_io, fidelity, localize, snr_threshold, inputs_dir, samples, seed):
    """Compare MODELS side by side (the first is the baseline): size, params, weight bytes,
    MACs/FLOPs by precision, memory traffic, Q/DQ overhead, per-op-type precision and,
    with --bench, latency.  Made for fp32 vs fp16 vs int8 twins of one network.

    \b
    Examples:
      onnxstat compare model.onnx model_int8.onnx --fidelity
      onnxstat compare model.onnx --variants fp16,int8-dynamic,int8-qdq,int4-weight --bench --fidelity
      onnxstat compare model.onnx --variants int8-qdq --calibration-dir samples/ --save-variants out/
      onnxstat compare model.onnx model_int8_qdq.onnx --localize"""
    from ..multi.compare import compare, print_table, render_text
    from ..errors import UsageError

    shapes, dim_values = parse_shape_options(input_shapes, dims)
    if output:
        check_output_path(output)
    if len(models) < 2 and not variants:
        raise UsageError("compare needs at least two models (the first is the baseline), or --variants")
    if (runs is not None or warmup is not None) and not bench:
        raise UsageError("--runs and --warmup need --bench")
    extra = dict(variants=variants, save_variants=save_variants, calibration_dir=calibration_dir,
                 fp16_keep_io=fp16_io == "float32", fidelity=fidelity, localize=localize,
                 snr_threshold=snr_threshold, inputs_dir=inputs_dir, samples=samples, seed=seed)
    if variants or fidelity or localize or any(v is not None for v in (save_variants, calibration_dir, snr_threshold,
                                                                       inputs_dir, samples)):
        from ..runtime.variants import compare_models

        cmp = compare_models(models, shapes, dim_values, bench=bench, runs=runs, warmup=warmup,
                             shape_source=shape_source, **extra)
    else:
        cmp = compare(models, shapes, dim_values, bench=bench, runs=runs, warmup=warmup, shape_source=shape_source)
    if fmt == "table" and not output:
        print_table(cmp)
        return
    text = render_text(cmp, fmt)
    if fmt != "table":
        warn(cmp.warnings)
    emit(text, output)
