"""Command module: `onnxstat compare` (registers itself on the CLI group when imported)."""

from __future__ import annotations

import click

from .cli_types import MAX_RUNS, int_range
from .cli import cli, emit, output_options, parse_shape_options, shape_options, warn
from .io import check_output_path


@cli.command("compare")
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=True, readable=False))
@shape_options
@output_options(("table", "json", "markdown", "csv"))
@click.option("--bench", is_flag=True, help="Also measure latency (p50/p90), FPS and speedup with onnxruntime on the CPU.")
@click.option("--runs", type=int_range(1, MAX_RUNS), default=None, help="Timed runs per model with --bench.")
@click.option("--warmup", type=int_range(0, MAX_RUNS), default=None, help="Untimed warm-up runs per model with --bench.")
@click.option("--shape-source", type=click.Choice(["onnx", "ort"]), default="onnx", show_default=True,
              help="'ort' also runs each model once in onnxruntime (CPU) to observe shapes inference leaves unknown.")
def compare_cmd(models, input_shapes, dims, fmt, output, bench, runs, warmup, shape_source):
    """Compare MODELS side by side (the first is the baseline): size, params, weight bytes,
    MACs/FLOPs by precision, memory traffic, Q/DQ overhead, per-op-type precision and,
    with --bench, latency.  Made for fp32 vs fp16 vs int8 twins of one network."""
    from .compare import compare, print_table, render_text
    from .errors import UsageError

    shapes, dim_values = parse_shape_options(input_shapes, dims)
    if output:
        check_output_path(output)
    if len(models) < 2:
        raise UsageError("compare needs at least two models (the first is the baseline)")
    if (runs is not None or warmup is not None) and not bench:
        raise UsageError("--runs and --warmup need --bench")
    cmp = compare(models, shapes, dim_values, bench=bench, runs=runs, warmup=warmup, shape_source=shape_source)
    if fmt == "table" and not output:
        print_table(cmp)
        return
    text = render_text(cmp, fmt)
    if fmt != "table":
        warn(cmp.warnings)
    emit(text, output)
