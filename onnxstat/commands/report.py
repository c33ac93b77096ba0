"""Command module: `onnxstat report` (registers itself on the CLI group when imported)."""

from __future__ import annotations

import click

from .option_types import MAX_RUNS, int_range
from ..cli import cli, emit, parse_shape_options, shape_options, warn
from ..render.files import check_output_path
from ..plugins import plugin_option


@cli.command("report")
@click.argument("model", type=click.Path(dir_okay=True, readable=False))
@shape_options
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Write the HTML page to FILE (atomically); stdout when left out.")
@click.option("--bench", "do_bench", is_flag=True, help="Measure latency and FPS with onnxruntime (CPU) and show them.")
@click.option("--runs", type=int_range(1, MAX_RUNS), default=None, help="Timed runs for --bench.")
@click.option("--warmup", type=int_range(0, MAX_RUNS), default=None, help="Warm-up runs for --bench.")
@click.option("--device", default=None, metavar="NAME",
              help="Add the roofline on a device preset ('onnxstat devices'; e.g. h100, t4) or 'host' to measure this machine.")
@click.option("--peak-tflops", type=float, default=None, metavar="X", help="Custom roofline device: peak TFLOP/s (with --bandwidth-gbs).")
@click.option("--bandwidth-gbs", type=float, default=None, metavar="Y", help="Custom roofline device: memory bandwidth in GB/s.")
@click.option("--compare", "compare", multiple=True, type=click.Path(dir_okay=True, readable=False), metavar="MODEL",
              help="Add a side-by-side comparison with MODEL (repeatable; same shapes and dims).")
@click.option("--variants", default=None, metavar="V[,V...]",
              help="Add variants of MODEL to the comparison (fp16, int8-dynamic, int8-qdq, int8-qoperator, int4-weight).")
@click.option("--fidelity", is_flag=True, help="With --compare/--variants: output error, cosine, SNR, top-1 agreement.")
@click.option("--localize", is_flag=True, help="With --compare/--variants: per-layer SNR against MODEL.")
@click.option("--simplify", is_flag=True, help="Run onnx-simplifier first.")
@click.option("--shape-source", type=click.Choice(["onnx", "ort", "auto"]), default="onnx", show_default=True,
              help="'ort' also runs the model once in onnxruntime (CPU) to observe shapes inference leaves unknown.")
@click.option("--input-value", "input_values", multiple=True, metavar="NAME=V[,V...]",
              help="Value of a small input (repeatable), e.g. --input-value sr=16000, as for 'onnxstat profile'.")
@plugin_option
def report_cmd(model, input_shapes, dims, output, do_bench, runs, warmup, device, peak_tflops, bandwidth_gbs,
               compare, variants, fidelity, localize, simplify, shape_source, input_values):
    """Write a self-contained HTML report for MODEL (one file, no network needed to view it).

    \b
    Example:
      onnxstat report model.onnx -o model_report.html --dim batch=1 --bench --device h100 --compare model_int8.onnx
    """
    from ..errors import UsageError
    from ..render.report import build_report

    from ..cli import parse_input_values

    shapes, dim_values = parse_shape_options(input_shapes, dims)
    values = parse_input_values(input_values)
    if output:
        check_output_path(output)
    if (runs is not None or warmup is not None) and not do_bench:
        raise UsageError("--runs/--warmup apply to --bench; add --bench")
    options = {k: v for k, v in (("variants", variants), ("fidelity", fidelity), ("localize", localize)) if v}
    if (fidelity or localize) and not (compare or variants):
        raise UsageError("--fidelity and --localize need --compare MODEL or --variants")
    dev = device
    if peak_tflops is not None or bandwidth_gbs is not None:
        from ..passes.roofline import resolve_device

        dev = resolve_device(device, peak_tflops, bandwidth_gbs)
    page, messages = build_report(
        model, shapes, dim_values, bench=do_bench, runs=runs, warmup=warmup, device=dev,
        compare=compare, simplify=simplify, shape_source=shape_source, compare_options=options or None,
        input_values=values,
    )
    warn(messages)
    emit(page, output)
