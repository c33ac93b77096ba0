"""Command module: `onnxstat report` (registers itself on the CLI group when imported)."""

from __future__ import annotations

import click

from .cli_types import MAX_RUNS, int_range
from .cli import cli, emit, parse_shape_options, shape_options, warn
from .io import check_output_path


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
@click.option("--simplify", is_flag=True, help="Run onnx-simplifier first.")
@click.option("--shape-source", type=click.Choice(["onnx", "ort"]), default="onnx", show_default=True,
              help="'ort' also runs the model once in onnxruntime (CPU) to observe shapes inference leaves unknown.")
def report_cmd(model, input_shapes, dims, output, do_bench, runs, warmup, device, peak_tflops, bandwidth_gbs,
               compare, simplify, shape_source):
    """Write a self-contained HTML report for MODEL (one file, no network needed to view it).

    \b
    Example:
      onnxstat report model.onnx -o model_report.html --dim batch=1 --bench --device h100 --compare model_int8.onnx
    """
    from .errors import UsageError
    from .report import build_report

    shapes, dim_values = parse_shape_options(input_shapes, dims)
    if output:
        check_output_path(output)
    if (runs is not None or warmup is not None) and not do_bench:
        raise UsageError("--runs/--warmup apply to --bench; add --bench")
    dev = device
    if peak_tflops is not None or bandwidth_gbs is not None:
        from .roofline import resolve_device

        dev = resolve_device(device, peak_tflops, bandwidth_gbs)
    page, messages = build_report(
        model, shapes, dim_values, bench=do_bench, runs=runs, warmup=warmup, device=dev,
        compare=compare, simplify=simplify, shape_source=shape_source,
    )
    warn(messages)
    emit(page, output)
