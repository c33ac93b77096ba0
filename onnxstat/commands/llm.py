"""Command module: `onnxstat llm` (registers itself on the CLI group when imported)."""

from __future__ import annotations

import click

from ..cli import cli, emit, output_options, parse_shape_options, shape_options, warn
from ..errors import UsageError
from ..render.files import check_output_path
from .devices import device_from_options, device_options


@cli.command("llm")
@click.argument("model", type=click.Path(dir_okay=True, readable=False))
@click.option("--prompt", type=click.IntRange(min=1), default=128, show_default=True, help="Prompt tokens (the prefill).")
@click.option("--context", type=click.IntRange(min=2), default=None,
              help="Context window in tokens (prompt + generated) [default: prompt + --generate].")
@click.option("--generate", type=click.IntRange(min=1), default=None,
              help="Tokens to generate (prefill gives the first) [default: context - prompt].")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Sequences per run.")
@device_options
@click.option("--kv", "kv", multiple=True, metavar="INPUT=OUTPUT",
              help="A past input and the present output it becomes, when the names are not recognised (repeatable).")
@click.option("--past-dim", default=None, metavar="NAME", help="Name of the past-length dim of the caches.")
@click.option("--seq-dim", default=None, metavar="NAME", help="Name of the new-tokens dim of input_ids.")
@shape_options
@click.option("--bench", "do_bench", is_flag=True,
              help="Also run a greedy generation loop in onnxruntime: prefill and decode-step latency, tokens/s.")
@click.option("--provider", default="cpu", show_default=True, metavar="P[,P...]",
              help="With --bench: execution provider(s), e.g. cuda,cpu (falls back to the CPU with a warning).")
@click.option("--device-id", type=click.IntRange(min=0), default=0, show_default=True, help="GPU index for cuda/tensorrt.")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True, help="With --bench: timed generations.")
@click.option("--warmup", type=click.IntRange(min=0), default=1, show_default=True, help="With --bench: warm-up generations.")
@click.option("--threads", type=click.IntRange(min=0), default=None, help="With --bench: intra-op threads.")
@click.option("--seed", type=int, default=0, show_default=True, help="With --bench: seed of the generated prompt.")
@output_options(("table", "json", "markdown", "html"))
def llm_cmd(model, prompt, context, generate, batch, device, peak_tflops, bandwidth_gbs, kv, past_dim, seq_dim,
            input_shapes, dims, do_bench, provider, device_id, runs, warmup, threads, seed, fmt, output):
    """Prefill and per-token decode cost, KV cache, weights and tokens/s of a decoder with a KV cache.

    \b
    Examples:
      onnxstat llm model.onnx --prompt 512 --context 4096
      onnxstat llm model.onnx --prompt 512 --context 4096 --device h100
      onnxstat llm model.onnx --prompt 128 --generate 64 --bench
    """
    from ..runtime import llm as llm_mod

    shapes, dim_values = parse_shape_options(input_shapes, dims)
    if output:
        check_output_path(output)
    if fmt == "html" and not output:
        raise UsageError("--format html needs -o FILE.html")
    if not do_bench and (runs != 3 or warmup != 1 or provider != "cpu" or threads is not None):
        raise UsageError("--provider, --runs, --warmup and --threads apply to --bench; add --bench")
    dev = device_from_options(device, peak_tflops, bandwidth_gbs)
    res = llm_mod.llm(model, prompt=prompt, context=context, generate=generate, batch=batch, device=dev, kv=kv,
                      past_dim=past_dim, seq_dim=seq_dim, input_shapes=shapes, dims=dim_values, bench=do_bench,
                      providers=provider, runs=runs, warmup=warmup, threads=threads, seed=seed, device_id=device_id)
    if fmt == "table" and not output:
        llm_mod.print_llm(res)
        return
    warn(res.warnings)
    from ..render.formats import console_text, render_as

    def html() -> str:
        from ..render.report import render_html

        return render_html(res.prefill_profile.to_dict(), llm=res.to_dict())

    text = render_as(fmt, {
        "table": lambda: console_text(lambda console: llm_mod.print_llm(res, console)),
        "json": lambda: llm_mod.to_json(res),
        "markdown": lambda: llm_mod.to_markdown(res),
        "html": html,
    }, "llm")
    emit(text, output)
