"""Command line: a thin layer over the library.

Errors the library raises on purpose (:class:`OnnxstatError`) become one line on
stderr and the error's exit code (1 bad model, 2 bad usage); anything else is an
internal error, exit code 3.  ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from . import __version__
from ._gc import keep_until_exit
from .commands.option_types import INPUT_VALUE, MAX_RUNS, MAX_THREADS, SWEEP, int_range
from .errors import OnnxstatError, UsageError
from .plugins import plugin_option
from .render.files import check_output_path, write_atomic

EXIT_INTERNAL = 3


#: commands defined in modules of their own, imported when first asked for so that
#: starting the CLI for ``profile`` does not load them
LAZY_COMMANDS = {"annotate": "commands.annotate", "bench": "commands.bench", "compare": "commands.compare", "devices": "commands.devices",
                 "llm": "commands.llm", "report": "commands.report"}


class Group(click.Group):
    """Click group whose commands report errors as one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str):
        if name not in self.commands and name in LAZY_COMMANDS:
            from importlib import import_module

            import_module(f"{__package__}.{LAZY_COMMANDS[name]}")  # registers itself on onnxstat.cli.cli
            registered = import_module(f"{__package__}.cli").cli.commands.get(name)
            if registered is not None and name not in self.commands:  # run as ``python -m onnxstat.cli``
                self.add_command(registered)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        from .errors import CLI_CONTEXT

        token = CLI_CONTEXT.set(True)  # error messages name the options (see onnxstat.errors)
        try:
            return self._invoke(ctx)
        finally:
            CLI_CONTEXT.reset(token)

    def _invoke(self, ctx: click.Context) -> Any:
        from .commands import pipes

        stdout_was = pipes.stdout_identity()
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # stdout closed by the reader (| head): success, silently
            pipes.silence_stdout()
            sys.exit(0)
        except SystemExit as exc:  # rich exits 1 on a closed pipe, after pointing stdout at /dev/null
            if exc.code == 1 and pipes.became_devnull(stdout_was):
                sys.exit(0)
            raise
        except OnnxstatError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            fail(str(exc), exc.exit_code)
        except click.UsageError as exc:  # a bad option or argument: one line too
            fail(exc.format_message(), 2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except RecursionError:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            fail("internal error: the model is nested too deeply to analyse (recursion limit)", EXIT_INTERNAL)
        except MemoryError:
            fail("internal error: out of memory", EXIT_INTERNAL)
        except Exception as exc:  # noqa: BLE001 - last resort: no traceback without --debug
            if ctx.obj and ctx.obj.get("debug"):
                raise
            fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", EXIT_INTERNAL)


def fail(message: str, code: int) -> None:
    from .render.textsafe import term

    message = term(" ".join(str(message).split()))
    click.echo(f"onnxstat: error: {message}", err=True)
    sys.exit(code)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="onnxstat")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """What an ONNX model costs: params, MACs, FLOPs, memory traffic, memory and latency."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if not debug:  # numpy's RuntimeWarnings (overflow, invalid casts) are never the user's message
        import warnings

        warnings.simplefilter("ignore", RuntimeWarning)


# --------------------------------------------------------------------------- shared options


def shape_options(fn: Callable) -> Callable:
    """``--input-shape NAME=AxB`` and ``--dim NAME=V`` (both repeatable)."""
    from .commands.option_types import DIM, SHAPE, limit_options

    fn = limit_options(fn)
    fn = click.option(
        "--dim", "dims", multiple=True, metavar="NAME=VALUE", type=DIM,
        help="Value of a symbolic dim (repeatable), e.g. --dim batch=4.",
    )(fn)
    fn = click.option(
        "--input-shape", "input_shapes", multiple=True, metavar="NAME=AxBxC", type=SHAPE,
        help="Shape of a whole input (repeatable), e.g. --input-shape input=1x3x224x224.",
    )(fn)
    return fn


def parse_input_values(items) -> dict:
    from .shapes.resolve import parse_assignments, parse_input_value

    return parse_assignments(items, "--input-value", parse_input_value)


def parse_shape_options(input_shapes, dims) -> tuple[dict, dict]:
    from .shapes.resolve import parse_assignments, parse_dim_value, parse_shape

    return (
        parse_assignments(input_shapes, "--input-shape", parse_shape),
        parse_assignments(dims, "--dim", parse_dim_value),
    )


#: report formats by the extension of ``-o FILE`` (used when --format is left out)
EXTENSION_FORMATS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown",
                     ".html": "html", ".htm": "html"}


def format_for(fmt: str | None, output: str | None, formats: tuple[str, ...]) -> str:
    """The report format: ``--format`` when given, else the one ``-o``'s extension names
    (``.json``, ``.csv``, ``.md``, ``.html``), else the command's default.  A format that
    contradicts the extension is a usage error, not a JSON file holding a table."""
    from pathlib import Path

    by_ext = EXTENSION_FORMATS.get(Path(output).suffix.lower()) if output else None
    if fmt is None:
        if by_ext is None:
            return formats[0]
        if by_ext not in formats:
            raise UsageError(f"-o {output}: this command writes {', '.join(formats)}, not {by_ext}; "
                             "choose another extension or --format")
        return by_ext
    if by_ext is not None and by_ext != fmt:
        raise UsageError(f"--format {fmt} contradicts -o {output} (a {by_ext} file name); "
                         "leave out --format or change the extension")
    return fmt


def output_options(formats: tuple[str, ...]) -> Callable:
    """``-o FILE`` and ``--format``; the command receives the format resolved by :func:`format_for`."""
    import functools

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, fmt=None, output=None, **kwargs):
            return fn(*args, fmt=format_for(fmt, output, formats), output=output, **kwargs)

        wrapper = click.option("-o", "--output", type=click.Path(), help="Write the report to FILE (atomically).")(wrapper)
        wrapper = click.option("--format", "fmt", type=click.Choice(formats), default=None,
                               help=f"Report format [default: from -o's extension, else {formats[0]}].")(wrapper)
        return wrapper

    return deco


def emit(text: str, output: str | None) -> None:
    """Write a rendered report to ``output`` (atomically) or stdout."""
    if output:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:  # color=True: text is written as rendered (click would strip escape codes from a pipe)
        click.echo(text, nl=False, color=True)


def warn(messages) -> None:
    """Each message on stderr as ``onnxstat: warning: ...``: one line each, or on a terminal
    wrapped at its width between words (continuation lines indented)."""
    from .render.textsafe import term

    width = _stderr_width()
    for m in messages:
        line = f"onnxstat: warning: {term(m)}"
        if width:
            import textwrap

            line = "\n".join(textwrap.wrap(line, width, subsequent_indent="    ", break_long_words=False,
                                            break_on_hyphens=False))
        click.echo(line, err=True)


def _stderr_width() -> int | None:
    """The terminal's width when stderr is a terminal, else None (logs keep one line per warning)."""
    import os

    try:
        if not sys.stderr.isatty():
            return None
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------- profile


@cli.command("profile")
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=True, readable=False))
@shape_options
@output_options(("table", "json", "csv", "markdown", "html"))
@click.option("--top", type=click.IntRange(min=1), default=None, help="Show the N nodes with the most MACs instead of all nodes in graph order.")
@click.option("--simplify", is_flag=True, help="Run onnx-simplifier first; the summary shows node counts and totals before and after.")
@click.option("--shape-source", type=click.Choice(["onnx", "ort", "auto"]), default="onnx", show_default=True,
              help="'ort' also runs the model once in onnxruntime (CPU) to observe shapes; "
                   "'auto' does so only when the static pass leaves shapes unknown.")
@click.option("--no-nodes", is_flag=True, help="Terminal format: leave out the per-node table.")
@click.option("--device", "device", default=None, metavar="NAME",
              help="Roofline on a device preset ('onnxstat devices'; e.g. h100, t4, orin) or 'host' to measure this machine.")
@click.option("--peak-tflops", type=float, default=None, metavar="X", help="Custom roofline device: peak TFLOP/s (with --bandwidth-gbs).")
@click.option("--bandwidth-gbs", type=float, default=None, metavar="Y", help="Custom roofline device: memory bandwidth in GB/s.")
@click.option("--symbolic", is_flag=True, help="Also give every total as a formula of the input dims not fixed by --dim/--input-shape.")
@click.option("--sweep", "sweeps", multiple=True, metavar="DIM=V1,V2,...", type=SWEEP,
              help="Profile at every combination of these dim values (repeatable), with fitted scaling exponents.")
@click.option("--plot", "plot", type=click.Path(), default=None,
              help="Write a plot (.png or .svg): the metrics against the swept dim with --sweep, else the roofline (with a device).")
@click.option("--bench", "do_bench", is_flag=True, help="Also measure latency and FPS with onnxruntime (see 'onnxstat bench').")
@click.option("--provider", default="cpu", show_default=True, metavar="P[,P...]", help="With --bench: execution provider(s).")
@click.option("--runs", type=int_range(1, MAX_RUNS), default=100, show_default=True, help="With --bench: timed runs.")
@click.option("--warmup", type=int_range(0, MAX_RUNS), default=10, show_default=True, help="With --bench: warm-up runs.")
@click.option("--per-node", is_flag=True,
              help="With --bench: time every kernel too; with --device its efficiency, and --plot draws the "
                   "measured kernels under the roof.")
@click.option("--input-value", "input_values", multiple=True, metavar="NAME=V[,V...]", type=INPUT_VALUE,
              help="Value of a small input (repeatable), e.g. --input-value sr=16000, so that conditions and "
                   "shapes computed from it resolve statically.")
@click.option("-j", "--jobs", type=int_range(0, MAX_THREADS), default=1, show_default=True,
              help="Several models: profile N at a time in worker processes (0 = one per CPU core).")
@click.option("--progress/--no-progress", default=None,
              help="Several models: progress bar on stderr (default: when stderr is a terminal).")
@click.option("--group-by", "group_by", type=click.Choice(["node", "scope"]), default="node", show_default=True,
              help="'scope': the module tree from node names (/encoder/layer.0/...), with subtotals.")
@click.option("--depth", type=click.IntRange(min=1), default=None, help="With --group-by scope: levels of the tree shown.")
@click.option("--fold-repeats", is_flag=True, help="With --group-by scope: fold repeated blocks (layer.0 … layer.11) into one row.")
@plugin_option
def profile_cmd(models, input_shapes, dims, fmt, output, top, simplify, shape_source, no_nodes,
                device, peak_tflops, bandwidth_gbs, symbolic, sweeps, plot, do_bench, provider, runs, warmup,
                input_values, jobs, progress, group_by, depth, fold_repeats, per_node):
    """Count params, MACs, FLOPs, weight bytes and memory traffic of MODELS.

    Several files, folders (every *.onnx below them) or globs give one summary row
    per model; a model that fails gets its error in its row and the exit code is 1.
    """
    from .render.files import is_batch

    shapes, dim_values = parse_shape_options(input_shapes, dims)
    values = parse_input_values(input_values)
    if output:
        check_output_path(output)
    scope_options = {"depth": depth, "fold_repeats": fold_repeats} if group_by == "scope" else None
    if (depth is not None or fold_repeats) and scope_options is None:
        raise UsageError("--depth and --fold-repeats go with --group-by scope")
    if per_node and not do_bench:
        raise UsageError("--per-node goes with --bench")
    if fmt == "html":
        if is_batch(models) or sweeps or symbolic or scope_options is not None:
            raise UsageError("the HTML report (-o FILE.html) takes one model, without --sweep, --symbolic or --group-by scope")
        return _profile_html(models[0], shapes, dim_values, device, peak_tflops, bandwidth_gbs, do_bench, runs,
                             warmup, simplify, shape_source, output)
    if is_batch(models):
        if sweeps or symbolic or do_bench or plot or device or peak_tflops or bandwidth_gbs or values or scope_options:
            raise UsageError("--sweep, --symbolic, --bench, --plot, --device, --input-value and --group-by scope "
                             "take one model, not several")
        if jobs != 1 and click.get_current_context().params.get("plugins"):
            raise UsageError("--plugin works with --jobs 1 (worker processes do not load plugins)")
        from .multi.batch import cli_run

        code = cli_run(models, shapes, dim_values, fmt=fmt, output=output, jobs=jobs, progress=progress,
                       simplify=simplify, shape_source=shape_source)
        sys.exit(code)
    bench_options = {"providers": provider, "runs": runs, "warmup": warmup}
    if per_node:
        bench_options["per_node"] = True
    if sweeps:
        if scope_options is not None or per_node:
            raise UsageError("--sweep does not go with --group-by scope or --per-node")
        if values:
            raise UsageError("--sweep and --input-value do not go together yet")
        if device or peak_tflops or bandwidth_gbs:
            raise UsageError("--sweep and --device do not go together (--plot draws one plot)")
        if len(models) != 1:
            raise UsageError("--sweep takes one model")
        return _profile_sweep(models[0], shapes, dim_values, sweeps, plot, do_bench, bench_options,
                              shape_source, simplify, fmt, output, symbolic)
    dev = None
    if device or peak_tflops is not None or bandwidth_gbs is not None or plot:
        from .commands.devices import device_from_options

        dev = device_from_options(device, peak_tflops, bandwidth_gbs, plot)
    if symbolic and values:
        raise UsageError("--symbolic and --input-value do not go together yet")
    _profile_one(models[0], shapes, dim_values, dev, fmt, output, top, simplify, shape_source, no_nodes,
                 symbolic, plot, do_bench, bench_options, values, scope_options)


def _profile_html(model, shapes, dim_values, device, peak_tflops, bandwidth_gbs, do_bench, runs, warmup,
                  simplify, shape_source, output) -> None:
    """``profile --format html`` / ``-o FILE.html``: the page ``onnxstat report`` writes."""
    from .render.report import build_report

    dev = device
    if peak_tflops is not None or bandwidth_gbs is not None:
        from .passes.roofline import resolve_device

        dev = resolve_device(device, peak_tflops, bandwidth_gbs)
    page, messages = build_report(model, shapes, dim_values, bench=do_bench, runs=runs if do_bench else None,
                                  warmup=warmup if do_bench else None, device=dev, simplify=simplify,
                                  shape_source=shape_source)
    warn(messages)
    emit(page, output)


def _profile_one(model, shapes, dim_values, dev, fmt, output, top, simplify, shape_source, no_nodes,
                 symbolic, plot, do_bench, bench_options, values, scope_options=None) -> None:
    from .profiler import profile
    from .render import formats as render

    res = profile(model, shapes, dim_values, simplify=simplify, shape_source=shape_source, device=dev,
                  input_values=values)
    keep_until_exit(res)
    measured = b = None
    if do_bench:
        b = _bench_into(res, model, shapes, dim_values, dev, bench_options)
        measured = b.nodes or None
    sym = None
    if symbolic:
        from .passes.symbolic import symbolic_profile

        sym = symbolic_profile(model, shapes, dim_values, shape_source=shape_source)
        res.extras.update(sym.to_dict())
        res.warnings.extend(f"symbolic: {w}" for w in sym.warnings)
    if plot:
        from .render.plot import plot_roofline

        plot_roofline(res, dev, plot, measured=measured, providers_used=b.providers_used if b else None)
        click.echo(f"wrote {plot}", err=True)
    scope_rows = None
    if scope_options is not None:
        from .passes.scopes import by_scope

        scope_rows = by_scope(res, scope_options["depth"], scope_options["fold_repeats"])
        res.extras["by_scope"] = scope_rows
    shown_warnings = _shown_warnings(res, sym)
    if fmt == "table" and not output:  # the warnings first, on stderr; then the tables
        warn(shown_warnings)
        _print_profile(res, sym, render.terminal_console(), top, no_nodes, False, scope_rows)
        return
    text = render.render_as(fmt, {
        "table": lambda: render.console_text(
            lambda console: _print_profile(res, sym, console, top, no_nodes, True, scope_rows)),
        "json": lambda: render.to_json(res),
        "csv": lambda: _profile_csv(res, top, scope_rows),
        "markdown": lambda: _profile_markdown(res, sym, top, scope_rows),
    }, "profile")
    warn(shown_warnings)
    emit(text, output)


def _bench_into(res, model, shapes, dim_values, dev, bench_options):
    """``profile --bench``: measure ``model`` and put the result in ``res`` (its JSON, its warnings,
    on a device the roofline beside the measured latency); returns the BenchResult."""
    from .runtime.bench import bench

    if bench_options.get("per_node"):  # the kernels join this profile's nodes, under dev's roof
        from .runtime.bench_options import BenchOptions

        bench_options = {**bench_options, "static_profile": res, "options": BenchOptions(device=dev)}
    b = bench(model, shapes, dim_values, progress=sys.stderr.isatty(), **bench_options)
    res.extras["bench"] = b.to_dict()
    res.warnings.extend(w for w in b.warnings if w not in res.warnings)
    if dev is not None:  # roofline latency beside the measured one, as an efficiency
        from .passes.roofline import attach_roofline

        res.roofline = attach_roofline(res, dev, measured_latency_s=b.mean_ms / 1e3,
                                       providers_used=b.providers_used)
    return b


def _profile_csv(res, top, scope_rows) -> str:
    """The nodes, or with --group-by scope the scopes, as CSV."""
    if scope_rows is not None:
        from .passes.scopes import scope_csv

        return scope_csv(scope_rows)
    from .render.formats import to_csv

    return to_csv(res, top)


def _profile_markdown(res, sym, top, scope_rows) -> str:
    """The profile in Markdown: with --symbolic the formulas first, with --group-by scope the
    scope tree last."""
    from .render.formats import to_markdown

    text = to_markdown(res, top)
    if scope_rows is not None:
        from .passes.scopes import scope_markdown

        text += "\n" + scope_markdown(scope_rows)
    if sym is not None:  # the formulas first
        from .passes.symbolic import symbolic_markdown

        title, _, rest = text.partition("\n")
        text = f"{title}\n\n{symbolic_markdown(sym)}\n{_evaluated_at(res, sym)}\n{rest}"
    return text


def _shown_warnings(res, sym) -> list[str]:
    """With --symbolic the formulas cover the dims left unset: the warning that they
    were set to a default for the tables is replaced by the line naming the values."""
    if sym is None:
        return list(res.warnings)
    return [w for w in res.warnings if not w.startswith(("input dims not set", "unresolved dims set to"))]


def _evaluated_at(res, sym) -> str:
    from .render.formats import dims_text

    given = res.settings.get("dims") or {}
    defaulted = res.settings.get("defaulted_dims") or {}
    values = dims_text({"dims": {s: given.get(s, defaulted.get(s, 1)) for s in sym.symbols}}) or "the dims given"
    return f"The tables below are the profile at {values} (--dim NAME=VALUE for other values)."


def _print_profile(res, sym, console, top, no_nodes, show_warnings, scope_rows=None) -> None:
    """The terminal view: with --symbolic the formulas first, then the tables at the values
    used; with --group-by scope the scope tree instead of the node table."""
    from .render import formats as render

    if sym is not None:
        from .passes.symbolic import print_symbolic

        print_symbolic(sym, console)
        console.print(_evaluated_at(res, sym), style="bold")
        console.print()
    render.print_table(res, top=top, console=console, show_nodes=not no_nodes and scope_rows is None,
                       show_warnings=show_warnings)
    if scope_rows is not None:
        from .passes.scopes import print_scope_tree

        print_scope_tree(scope_rows, console)


def _profile_sweep(model, shapes, dim_values, sweeps, plot, do_bench, bench_options, shape_source, simplify,
                   fmt, output, symbolic=False) -> None:
    """--sweep: one row per grid point and the exact polynomial of each counted metric in
    the swept dims.  With --symbolic the full formulas (every free dim, per op type) follow
    the sweep: after the tables, as ``symbolic`` in the JSON, as a section in Markdown."""
    from .multi.sweep import parse_sweep, plot_format, plot_sweep, print_sweep, render_sweep, sweep

    grid = parse_sweep(sweeps)
    if symbolic and fmt == "csv":
        raise UsageError("--symbolic with --sweep: the formulas do not fit a CSV; use --format json or markdown")
    if plot:
        plot_format(plot)
        check_output_path(plot)
    sw = sweep(model, grid, shapes, dim_values, bench=do_bench, bench_options=bench_options,
               shape_source=shape_source, simplify=simplify)
    sym = None
    if symbolic:
        from .passes.symbolic import symbolic_profile

        sym = symbolic_profile(model, shapes, dim_values, shape_source=shape_source)
    if plot:
        plot_sweep(sw, plot)
        click.echo(f"wrote {plot}", err=True)
    warn(sw.warnings + ([f"symbolic: {w}" for w in sym.warnings] if sym else []))
    if fmt == "table" and not output:
        from .passes.symbolic import print_symbolic
        from .render.formats import terminal_console

        console = terminal_console()
        print_sweep(sw, console)
        if sym is not None:
            console.print()
            print_symbolic(sym, console)
        return
    if sym is None:
        return emit(render_sweep(sw, fmt), output)
    import json

    from .passes.symbolic import symbolic_markdown
    from .render.formats import render_as

    emit(render_as(fmt, {  # the sweep, then the formulas (no CSV: refused above)
        "table": lambda: render_sweep(sw, fmt) + "\n" + _symbolic_text(sym),
        "json": lambda: json.dumps({**sw.to_dict(), **sym.to_dict()}, indent=2) + "\n",
        "markdown": lambda: render_sweep(sw, fmt) + "\n" + symbolic_markdown(sym),
    }, "--sweep with --symbolic"), output)


def _symbolic_text(sym) -> str:
    from .passes.symbolic import print_symbolic
    from .render.formats import console_text

    return console_text(lambda console: print_symbolic(sym, console))


# --------------------------------------------------------------------------- ops


@cli.command("ops")
@click.argument("name", required=False)
@output_options(("table", "json", "markdown"))
@click.option("--domain", default=None, help="Only this domain (ai.onnx, com.microsoft, …).")
@plugin_option
def ops_cmd(name, fmt, output, domain):
    """List every supported (domain, op_type) with its formula, or look up op NAME
    (any case; e.g. 'onnxstat ops conv', 'onnxstat ops Attention --domain com.microsoft')."""
    from .passes.coverage import ops_table
    from .render.formats import terminal_console

    emit(ops_table(fmt, domain, name, width=terminal_console().width), output)


def main() -> None:
    """The ``onnxstat`` console script: run the CLI, then end the process at once.

    A profile leaves many objects behind (the parsed graph, one record per node);
    tearing the interpreter down frees each of them, about 13 ms on ResNet-50, an
    eighth of the whole run.  Like mypy's ``hard_exit``, the process ends with
    ``os._exit`` once the exit handlers have run and the standard streams are
    flushed; with other threads still running it exits the ordinary way.
    """
    from . import _gc

    _gc.FREEZE_AFTER_PAUSE = True
    try:
        cli(prog_name="onnxstat")
        code = 0
    except SystemExit as exc:
        code = exc.code
    hard_exit(code)


def hard_exit(code: Any) -> None:
    """``sys.exit(code)`` without the interpreter's teardown (see :func:`main`)."""
    import atexit
    import os
    import threading

    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (onnxstat ... | head) or stream
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
