"""Command module: `onnxstat annotate` (registers itself on the CLI group when imported)."""

from __future__ import annotations

import sys

import click

from ..cli import cli, parse_input_values, parse_shape_options, shape_options, warn
from ..plugins import plugin_option


@cli.command("annotate")
@click.argument("model", type=click.Path(dir_okay=False, readable=False))
@click.option("-o", "--output", type=click.Path(), required=True,
              help="Write the annotated copy to FILE (atomically; never over MODEL).")
@shape_options
@click.option("--external-data", type=click.Choice(["reference", "copy"]), default="reference", show_default=True,
              help="Weights in external data files: reference them where they are (the copy goes in the same "
                   "folder) or copy them into FILE.data next to the copy.")
@click.option("--bench", "do_bench", is_flag=True, help="Measure with onnxruntime (with --per-node: each node's time).")
@click.option("--per-node", is_flag=True, help="With --bench: write each node's measured time into its metadata.")
@click.option("--provider", default="cpu", show_default=True, metavar="P[,P...]", help="With --bench: execution provider(s).")
@click.option("--runs", type=click.IntRange(min=1), default=100, show_default=True, help="With --bench: timed runs.")
@click.option("--warmup", type=click.IntRange(min=0), default=10, show_default=True, help="With --bench: warm-up runs.")
@click.option("--opt-level", type=click.Choice(["disable", "basic", "extended", "all"]), default="all", show_default=True,
              help="With --bench: onnxruntime graph optimisation ('disable' times every node on its own; with "
                   "'all' nodes fused into another kernel get no time).")
@click.option("--shape-source", type=click.Choice(["onnx", "ort"]), default="onnx", show_default=True,
              help="'ort' also runs the model once in onnxruntime (CPU) to observe shapes inference leaves unknown.")
@click.option("--input-value", "input_values", multiple=True, metavar="NAME=V[,V...]",
              help="Value of a small input (repeatable), so that conditions computed from it resolve statically.")
@plugin_option
def annotate_cmd(model, output, input_shapes, dims, external_data, do_bench, per_node, provider, runs, warmup,
                 opt_level, shape_source, input_values):
    """Write a copy of MODEL with every node's cost in its metadata and every resolved
    shape as value_info, for Netron and other viewers.

    \b
    Example:
      onnxstat annotate model.onnx -o model.costs.onnx --dim batch=1
    """
    from ..errors import UsageError
    from ..render.annotate import annotate

    shapes, dim_values = parse_shape_options(input_shapes, dims)
    values = parse_input_values(input_values)
    if per_node and not do_bench:
        raise UsageError("--per-node goes with --bench")
    res = annotate(
        model, output, shapes, dim_values, external_data=external_data, bench=do_bench, per_node=per_node,
        bench_options={"providers": provider, "runs": runs, "warmup": warmup, "opt_level": opt_level,
                       "progress": sys.stderr.isatty()},
        shape_source=shape_source, input_values=values,
    )
    warn(res.warnings)
    if res.data_path is not None:
        click.echo(f"wrote {res.data_path}", err=True)
    click.echo(f"wrote {res.path}: {res.annotated_nodes} nodes annotated, {res.value_infos} tensor shapes", err=True)
