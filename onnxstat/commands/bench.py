"""Command module: `onnxstat bench` (registers itself on the CLI group when imported)."""

from __future__ import annotations

import sys

import click

from ..runtime.bench_options import BenchOptions, run_bench
from .option_types import MAX_RUNS, MAX_SEED, MAX_THREADS, int_range
from ..cli import cli, emit, output_options, parse_shape_options, shape_options, warn
from ..errors import UsageError
from ..render.files import check_output_path
from ..shapes.resolve import parse_assignments


def _parse_inputs(items) -> dict[str, str]:
    return parse_assignments(items, "--input", lambda v: v.strip())


@cli.command("bench")
@click.argument("model", type=click.Path(dir_okay=True, readable=False))
@shape_options
@click.option("--input", "input_files", multiple=True, metavar="NAME=FILE.npy",
              help="Feed input NAME from a .npy file (repeatable); other inputs are generated.")
@click.option("--int-range", default="0,2", show_default=True, metavar="LO,HI",
              help="Generated integer inputs are drawn from [LO, HI) (HI exclusive), clipped to the dtype.")
@click.option("--seed", type=int_range(0, MAX_SEED), default=0, show_default=True, help="Seed of the generated inputs.")
@click.option("--provider", "provider", default="cpu", show_default=True, metavar="P[,P...]",
              help="Execution provider(s) in order of preference: cpu, cuda, tensorrt, … ; "
                   "e.g. cuda,cpu falls back to the CPU with a warning.")
@click.option("--device-id", type=int_range(0, MAX_THREADS), default=0, show_default=True, help="GPU index for cuda/tensorrt.")
@click.option("--warmup", type=int_range(0, MAX_RUNS), default=10, show_default=True, help="Warm-up runs (not counted).")
@click.option("--runs", type=int_range(1, MAX_RUNS), default=None, help="Timed runs [default: 100].")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Run for this many seconds instead of a fixed number of runs.")
@click.option("--threads", type=int_range(0, MAX_THREADS), default=None, help="Intra-op threads (0 = onnxruntime's default).")
@click.option("--inter-threads", type=int_range(0, MAX_THREADS), default=None, help="Inter-op threads (parallel execution mode).")
@click.option("--execution-mode", type=click.Choice(["sequential", "parallel"]), default="sequential", show_default=True)
@click.option("--opt-level", type=click.Choice(["disable", "basic", "extended", "all"]), default="all", show_default=True,
              help="Graph optimisation level ('disable' maps per-node times 1:1 to the ONNX nodes).")
@click.option("--save-optimized", type=click.Path(), default=None, metavar="FILE",
              help="Also write the model as optimised by onnxruntime to FILE.")
@click.option("--batch-dim", default=None, metavar="AXIS|INPUT:AXIS|DIM",
              help="Where the batch size is read for FPS [default: leading dim of the first input].")
@click.option("--per-node", is_flag=True,
              help="Also profile each kernel (separate profiled session) and join to static FLOPs and bytes.")
@click.option("--per-node-runs", type=int_range(1, MAX_RUNS), default=None,
              help="Profiled runs for --per-node [default: min(runs, 20)].")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Show only the N slowest kernels.")
@click.option("--sweep", "sweeps", multiple=True, metavar="NAME=V1,V2,...",
              help="Benchmark every combination (repeatable): batch or a symbolic dim, threads, inter-threads, "
                   "opt-level, provider, concurrency.")
@click.option("--plot", type=click.Path(), default=None, metavar="FILE",
              help="With --sweep: plot FPS and p50 latency against the swept value (.png or .svg).")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, show_default=True,
              help="N threads issue runs on one shared session: aggregate throughput, per-request latency.")
@click.option("--trace", type=click.Path(), default=None, metavar="FILE",
              help="With --per-node: keep onnxruntime's JSON trace (Perfetto, chrome://tracing) in FILE.")
@click.option("--device", default=None, metavar="NAME",
              help="With --per-node: each kernel's efficiency against this device's roof ('host' measures this machine).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@output_options(("table", "json", "markdown", "csv"))
def bench_cmd(model, input_shapes, dims, input_files, int_range, seed, provider, device_id, warmup, runs, duration,
              threads, inter_threads, execution_mode, opt_level, save_optimized, batch_dim, per_node, per_node_runs,
              top, sweeps, plot, concurrency, trace, device, quiet, fmt, output):
    """Measure latency and FPS of MODEL with onnxruntime."""
    from ..runtime.bench_result import print_table, render
    from ..runtime.inputs import parse_int_range

    shapes, dim_values = parse_shape_options(input_shapes, dims)
    files = _parse_inputs(input_files)
    lo_hi = parse_int_range(int_range)
    if runs is not None and duration is not None:
        raise UsageError("give --runs or --duration, not both")
    if output:
        check_output_path(output)
    if plot and not sweeps:
        raise UsageError("--plot draws a sweep: add --sweep NAME=V1,V2,... (the measured roofline is "
                         "'onnxstat profile MODEL --device host --bench --per-node --plot FILE')")
    if (trace or device) and not per_node:
        raise UsageError(f"{'--trace' if trace else '--device'} goes with --per-node")
    options = BenchOptions(
        providers=provider, warmup=warmup, runs=runs if runs is not None else 100, duration=duration,
        threads=threads, inter_threads=inter_threads, execution_mode=execution_mode, opt_level=opt_level,
        inputs=files, int_range=lo_hi, per_node=per_node, per_node_runs=per_node_runs,
        save_optimized=save_optimized, batch_dim=batch_dim, device_id=device_id,
        progress=not quiet and sys.stderr.isatty(), seed=seed, concurrency=concurrency, trace=trace, device=device,
    )
    if sweeps:
        return _sweep(model, shapes, dim_values, sweeps, options, plot, quiet, fmt, output)
    res = run_bench(model, shapes, dim_values, options)
    warn(res.warnings)
    if save_optimized:
        click.echo(f"wrote {save_optimized}", err=True)
    if fmt == "table" and not output:
        print_table(res, top)
        return
    emit(render(res, fmt, top), output)


def _sweep(model, shapes, dim_values, sweeps, options, plot, quiet, fmt, output) -> None:
    from ..runtime.bench_sweep import (
        _config_text,
        bench_sweep,
        parse_bench_sweep,
        plot_bench_sweep,
        print_bench_sweep,
        render_bench_sweep,
    )
    from ..multi.sweep import plot_format

    grid = parse_bench_sweep(sweeps)
    if options.per_node or options.save_optimized:
        raise UsageError("--sweep does not go with --per-node or --save-optimized (one configuration each)")
    for name, given in (("threads", options.threads), ("inter-threads", options.inter_threads),
                        ("concurrency", options.concurrency if options.concurrency != 1 else None)):
        if name in grid and given is not None:
            raise UsageError(f"--{name} and --sweep {name} do not go together")
    if plot:
        plot_format(plot)
    show = not quiet and sys.stderr.isatty()
    options = options.replace(progress=False)

    def on_row(i, n, row):
        if show:
            click.echo(f"[{i}/{n}] {_config_text(row['config'])}: {row['status']}", err=True)

    res = bench_sweep(model, grid, shapes, dim_values, options, on_row=on_row)
    if plot:
        plot_bench_sweep(res, plot)
        click.echo(f"wrote {plot}", err=True)
    warn(res.warnings)
    if fmt == "table" and not output:
        print_bench_sweep(res)
        return
    emit(render_bench_sweep(res, fmt), output)
