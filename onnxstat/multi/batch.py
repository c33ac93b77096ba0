"""Profiling many models: paths, directories and globs, one summary row per model.

:func:`expand_paths` turns command-line arguments into model files (a file as
given; a directory: every ``*.onnx`` below it; a glob: every match, ``**``
included).  :func:`profile_many` profiles each one, in this process
(``jobs=1``) or in a pool of worker processes (``jobs=N``; the ``spawn`` start
method, so workers share no state with the caller), and never stops at a bad
model: its row carries the error message and the batch's exit code becomes 1.

Rows keep only the totals (exact integers), so a worker sends back a few
hundred bytes per model, not the per-node records.  Nothing is cached on disk.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import OnnxstatError, UsageError
from ..render.files import is_batch, is_glob

SCHEMA = "onnxstat.batch/1"
FORMATS = ("table", "json", "csv", "markdown")

#: row fields, in the order of the CSV columns
COLUMNS = (
    "path", "status", "error", "params", "macs", "flops", "weight_bytes", "memory_traffic_bytes",
    "nodes", "unsupported_nodes", "unresolved_nodes", "complete", "warnings", "seconds",
)


# --------------------------------------------------------------------------- paths


def _onnx_files_under(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=None, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if name.lower().endswith(".onnx"):
                found.append(Path(dirpath) / name)
    return sorted(found)  # by path components: a/b/x.onnx before a/bad.onnx


def expand_paths(args: Iterable[str | os.PathLike]) -> list[Path]:
    """Model files named by ``args``, in argument order, each file once.

    A file is taken as given (whatever its extension); a directory contributes
    every ``*.onnx`` file below it (sorted by path, symbolic links to folders
    not followed); an argument with ``*``, ``?`` or ``[`` that is not an existing
    path is a glob (``**`` matches folders recursively; a matched folder
    contributes its ``*.onnx`` files).  Raises :class:`UsageError` naming the
    argument when a path does not exist, a folder holds no ``.onnx`` file, a glob
    matches nothing, or no argument was given.
    """
    args = [os.fspath(a) for a in args]
    if not args:
        raise UsageError("no model given")
    out: list[Path] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            out.append(p)

    for arg in args:
        if not isinstance(arg, str) or not arg.strip():
            raise UsageError(f"empty model path {arg!r}")
        p = Path(arg)
        if os.path.isdir(arg):
            files = _onnx_files_under(p)
            if not files:
                raise UsageError(f"{arg}: is a directory with no .onnx file in it")
            for f in files:
                add(f)
        elif os.path.lexists(arg):
            add(p)  # a file (or something the loader will name: a broken link, a device, ...)
        elif is_glob(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            files: list[Path] = []
            for m in matches:
                if os.path.isdir(m):
                    files.extend(_onnx_files_under(Path(m)))
                else:
                    files.append(Path(m))
            if not files:
                raise UsageError(f"{arg}: no file matches")
            for f in files:
                add(f)
        else:
            raise UsageError(f"{arg}: no such file or folder")
    return out


# --------------------------------------------------------------------------- rows


@dataclass
class BatchRow:
    """One model's summary (exact integers; ``None`` where the model failed)."""

    path: str
    status: str  # "ok" | "error"
    error: str | None = None
    exit_code: int = 0
    params: Any = None
    macs: Any = None
    flops: Any = None
    weight_bytes: Any = None
    memory_traffic_bytes: Any = None
    nodes: int | None = None
    unsupported_nodes: int | None = None
    #: nodes whose shapes (or trip count) stayed unknown: not counted in MACs / FLOPs
    unresolved_nodes: int | None = None
    complete: bool | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "status": self.status,
            "error": self.error,
            "params": self.params,
            "macs": self.macs,
            "flops": self.flops,
            "weight_bytes": self.weight_bytes,
            "memory_traffic_bytes": self.memory_traffic_bytes,
            "nodes": self.nodes,
            "unsupported_nodes": self.unsupported_nodes,
            "unresolved_nodes": self.unresolved_nodes,
            "complete": self.complete,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 6),
        }


@dataclass
class BatchResult:
    """What :func:`profile_many` returns: rows in the order of the paths."""

    models: list[BatchRow]
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> list[BatchRow]:
        return [r for r in self.models if not r.ok]

    @property
    def exit_code(self) -> int:
        """0 when every model was profiled, 1 when any failed."""
        return 1 if self.failed else 0

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "settings": dict(self.settings),
            "summary": {
                "models": len(self.models),
                "ok": len(self.models) - len(self.failed),
                "failed": len(self.failed),
                "seconds": round(self.seconds, 6),
            },
            "models": [r.to_dict() for r in self.models],
        }


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _profile_row(path: str, input_shapes, dims, simplify: bool, shape_source: str) -> BatchRow:
    """Profile one model into a row; every failure becomes the row's error (never raises but interrupts)."""
    from ..profiler import profile
    from ..result import jsonable

    t0 = time.perf_counter()
    try:
        res = profile(path, input_shapes, dims, simplify=simplify, shape_source=shape_source, strict_dims=False)
        t = res.totals
        row = BatchRow(
            path=path,
            status="ok",
            params=jsonable(t.params),
            macs=jsonable(t.macs),
            flops=jsonable(t.flops),
            weight_bytes=jsonable(t.weight_bytes),
            memory_traffic_bytes=jsonable(t.memory_traffic_bytes),
            nodes=t.node_count,
            unsupported_nodes=t.unsupported_nodes,
            unresolved_nodes=t.unresolved_nodes,
            complete=t.complete,
            warnings=[_one_line(w) for w in res.warnings],
        )
    except OnnxstatError as exc:
        row = BatchRow(path=path, status="error", error=_one_line(exc), exit_code=exc.exit_code)
    except RecursionError:
        row = BatchRow(path=path, status="error", exit_code=3,
                       error="internal error: the model is nested too deeply to analyse (recursion limit)")
    except MemoryError:
        row = BatchRow(path=path, status="error", error="internal error: out of memory", exit_code=3)
    except Exception as exc:  # noqa: BLE001 - one bad model must not stop the batch
        row = BatchRow(path=path, status="error", error=_one_line(f"internal error: {type(exc).__name__}: {exc}"),
                       exit_code=3)
    row.seconds = time.perf_counter() - t0
    return row


def _worker_context() -> dict:
    """Pool arguments that give workers the caller's message wording (options on the
    command line, argument names from Python: see onnxstat.errors)."""
    from ..errors import CLI_CONTEXT

    return {"initializer": _set_cli_context, "initargs": (CLI_CONTEXT.get(),)}


def _set_cli_context(on: bool) -> None:
    from ..errors import CLI_CONTEXT

    CLI_CONTEXT.set(on)


def _worker(task: tuple) -> BatchRow:
    """Pool entry point (top level, so the ``spawn`` start method can pickle it)."""
    return _profile_row(*task)


# --------------------------------------------------------------------------- running


class _Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool, total: int):
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=Console(stderr=True), transient=True,
            )
            self.task = self.bar.add_task("profiling", total=total)

    def __enter__(self) -> "_Progress":
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def done(self, row: BatchRow) -> None:
        if self.bar is not None:
            from rich.markup import escape

            name = escape(Path(row.path).name)  # the column renders markup: a "[red]" in a file name is text
            self.bar.update(self.task, advance=1, description=f"{'ok' if row.ok else 'FAILED'} {name}")


def _norm_jobs(jobs: Any, n_models: int) -> int:
    if isinstance(jobs, bool) or not isinstance(jobs, int):
        raise UsageError(f"jobs must be a whole number (0 = one per CPU core), got {jobs!r}")
    if jobs < 0:
        raise UsageError(f"jobs must be 0 (one per CPU core) or more, got {jobs}")
    if jobs == 0:
        jobs = os.cpu_count() or 1
    return max(1, min(jobs, n_models))


def profile_many(
    paths: Iterable[str | os.PathLike],
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    jobs: int = 1,
    progress: bool = False,
    simplify: bool = False,
    shape_source: str = "onnx",
) -> BatchResult:
    """Profile every model named by ``paths`` (files, folders, globs: see :func:`expand_paths`).

    ``input_shapes`` and ``dims`` apply to every model (a ``--dim`` a model does
    not have is only a warning there; an ``--input-shape`` naming an input it
    does not have fails that model).  ``jobs`` > 1 profiles in that many worker
    processes (0: one per CPU core); ``progress`` shows a bar on stderr.  Errors
    of single models are recorded in their rows; bad arguments (no model found,
    a bad shape or job count) raise :class:`UsageError` before any work.
    """
    from ..profiler import norm_dims, norm_input_shapes

    files = expand_paths(paths)
    input_shapes = norm_input_shapes(input_shapes)
    dims = norm_dims(dims)
    if shape_source not in ("onnx", "ort", "auto"):
        raise UsageError(f"unknown shape source {shape_source!r}: use 'onnx', 'ort' or 'auto'")
    n_jobs = _norm_jobs(jobs, len(files))
    tasks = [(str(f), input_shapes, dims, bool(simplify), shape_source) for f in files]
    t0 = time.perf_counter()
    with _Progress(progress, len(tasks)) as bar:
        if n_jobs == 1:
            rows = []
            for task in tasks:
                rows.append(_profile_row(*task))
                bar.done(rows[-1])
        else:
            rows = _run_pool(tasks, n_jobs, bar)
    return BatchResult(
        models=rows,
        settings={
            "input_shapes": {k: list(v) for k, v in input_shapes.items()},
            "dims": dict(dims),
            "simplify": bool(simplify),
            "shape_source": shape_source,
            "jobs": n_jobs,
        },
        seconds=time.perf_counter() - t0,
    )


def _run_pool(tasks: list[tuple], n_jobs: int, bar: _Progress, worker=_worker) -> list[BatchRow]:
    """Rows for ``tasks`` from a spawn-started process pool, in task order.

    A worker that dies (killed for memory, a crash in native code) breaks the
    pool: the unfinished models are then run again one at a time in a fresh
    single-worker pool, so the model that kills its worker is found and
    reported, and the others still get their rows.  ``worker`` must be a
    top-level function (tests pass their own).
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    rows: list[BatchRow | None] = [None] * len(tasks)
    pending = list(range(len(tasks)))
    pool = ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx, **_worker_context())
    try:
        futures = {pool.submit(worker, tasks[i]): i for i in pending}
        broken = False
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                rows[i] = fut.result()
            except BrokenProcessPool:
                broken = True
                continue
            bar.done(rows[i])
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if not broken:
        return rows  # type: ignore[return-value]
    # isolate the model(s) that kill their worker
    pending = [i for i in range(len(tasks)) if rows[i] is None]
    while pending:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, **_worker_context())
        try:
            futures = [(i, pool.submit(worker, tasks[i])) for i in pending]
            for k, (i, fut) in enumerate(futures):
                try:
                    rows[i] = fut.result()
                except BrokenProcessPool:
                    # one worker runs the tasks in order: the first unfinished one killed it
                    rows[i] = BatchRow(path=tasks[i][0], status="error", exit_code=3,
                                       error="internal error: the worker process profiling this model died "
                                             "(out of memory or a crash in native code)")
                    bar.done(rows[i])
                    pending = [j for j, _f in futures[k + 1:]]
                    break
                bar.done(rows[i])
            else:
                pending = []
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    return rows  # type: ignore[return-value]


# --------------------------------------------------------------------------- rendering


def _si(x: Any) -> str:
    from ..render import units

    return "-" if x is None else units.si(x)


def _bytes(x: Any) -> str:
    from ..render import units

    return "-" if x is None else units.nbytes(x)


TABLE_HEADERS = ["Model", "Status", "Params", "MACs", "FLOPs", "Weights", "Traffic", "Nodes", "Unsup.", "Unres.", "Secs"]


def _short_error(r: BatchRow) -> str:
    """The error without the model path it usually starts with (the row names the model)."""
    msg = r.error or ""
    for prefix in (f"{r.path}: ", f"{os.path.abspath(r.path)}: "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    return msg


def _cells(r: BatchRow) -> list[str]:
    status = "ok" if r.ok else f"error: {_short_error(r)}"
    return [
        r.path, status, _si(r.params), _si(r.macs), _si(r.flops), _bytes(r.weight_bytes),
        _bytes(r.memory_traffic_bytes), "-" if r.nodes is None else f"{r.nodes:,}",
        "-" if r.unsupported_nodes is None else str(r.unsupported_nodes),
        "-" if r.unresolved_nodes is None else str(r.unresolved_nodes), f"{r.seconds:.2f}",
    ]


def _footer(res: BatchResult) -> str:
    n, bad = len(res.models), len(res.failed)
    return f"{n} model{'s' if n != 1 else ''}, {n - bad} ok, {bad} failed, {res.seconds:.2f} s"


def to_json(res: BatchResult) -> str:
    return json.dumps(res.to_dict(), indent=2) + "\n"


def to_csv(res: BatchResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)  # text quoted: round-trips (textsafe)
    w.writerow(COLUMNS)
    for r in res.models:
        d = r.to_dict()
        d["warnings"] = len(r.warnings)
        d["error"] = r.error or ""
        w.writerow(["" if d[c] is None else d[c] for c in COLUMNS])
    return buf.getvalue()


def _md_cell(x: Any) -> str:
    return str(x).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(res: BatchResult) -> str:
    lines = ["# onnxstat batch profile", "", "| " + " | ".join(TABLE_HEADERS) + " |",
             "|" + "|".join(["---", "---"] + ["---:"] * (len(TABLE_HEADERS) - 2)) + "|"]
    for r in res.models:
        lines.append("| " + " | ".join(_md_cell(c) for c in _cells(r)) + " |")
    lines += ["", _footer(res) + "."]
    return "\n".join(lines) + "\n"


#: columns left out, in this order, while the table is wider than the terminal
_DROP_ORDER = ("Unsup.", "Weights", "Traffic", "Secs")


def print_table(res: BatchResult, console=None) -> None:
    """The summary table on a rich console (stdout by default).

    On a narrow terminal the least important number columns are left out
    (:data:`_DROP_ORDER`) before model paths and error messages are wrapped;
    the JSON, CSV and Markdown reports always have every column.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ..render.formats import terminal_console

    console = console or terminal_console()
    rows = [_cells(r) for r in res.models]
    keep = list(range(len(TABLE_HEADERS)))

    widest = [max(len(c) for c in [h] + [row[i] for row in rows]) for i, h in enumerate(TABLE_HEADERS)]
    # numbers never wrap; paths may wrap down to 16 characters, status and messages down to 12
    least = [min(widest[0], 16), min(widest[1], 12)] + widest[2:]

    def width(cols) -> int:
        return sum(least[i] + 3 for i in cols)  # padding and the column separator

    for name in _DROP_ORDER:
        if width(keep) <= console.width:
            break
        keep.remove(TABLE_HEADERS.index(name))
    # what is left for the two text columns: paths first, the message gets the rest
    room = max(console.width - width(keep[2:]) - 6, least[0] + least[1])
    model_w = min(widest[0], max(least[0], room - min(widest[1], max(least[1], room // 2))))
    status_w = min(widest[1], max(least[1], room - model_w))
    table = Table(title="onnxstat batch profile", caption=_footer(res), box=box.SIMPLE_HEAD, pad_edge=False)
    for i in keep:
        table.add_column(TABLE_HEADERS[i], justify="left" if i < 2 else "right", overflow="fold", no_wrap=i >= 2,
                         width=model_w if i == 0 else status_w if i == 1 else None)
    for r, row in zip(res.models, rows):
        cells = [Text(row[i]) for i in keep]  # Text: paths and messages are never read as markup
        if not r.ok:
            cells[1].stylize("red")
        table.add_row(*cells)
    console.print(table)


def render(res: BatchResult, fmt: str, width: int = 160) -> str:
    """The batch report as text in ``fmt`` (table, json, csv or markdown)."""
    from ..render.formats import console_text, render_as

    return render_as(fmt, {
        "table": lambda: console_text(lambda console: print_table(res, console), width),
        "json": lambda: to_json(res),
        "csv": lambda: to_csv(res),
        "markdown": lambda: to_markdown(res),
    }, "batch")


# --------------------------------------------------------------------------- command line


def cli_run(
    models: Sequence[str],
    input_shapes: Mapping[str, Any] | None = None,
    dims: Mapping[str, Any] | None = None,
    *,
    fmt: str = "table",
    output: str | None = None,
    jobs: int = 1,
    progress: bool | None = None,
    simplify: bool = False,
    shape_source: str = "onnx",
) -> int:
    """``onnxstat profile`` with several models: profile, write the report, return the exit code.

    The report goes to ``output`` (atomically) or stdout; a one-line error on
    stderr counts the failed models.  ``progress=None`` shows the bar when
    stderr is a terminal.  Bad arguments raise :class:`UsageError`.
    """
    import click

    from ..render.files import check_output_path, write_atomic
    from ..render.formats import check_format

    check_format(fmt, FORMATS, "batch")
    if output:
        check_output_path(output)
    if progress is None:
        progress = sys.stderr.isatty()
    res = profile_many(models, input_shapes, dims, jobs=jobs, progress=progress, simplify=simplify,
                       shape_source=shape_source)
    if output:
        write_atomic(output, render(res, fmt))
        click.echo(f"wrote {output}", err=True)
    elif fmt == "table":
        print_table(res)
    else:
        click.echo(render(res, fmt), nl=False)
    if res.failed:
        n = len(res.models)
        click.echo(f"onnxstat: error: {len(res.failed)} of {n} model{'s' if n != 1 else ''} failed", err=True)
    return res.exit_code


__all__ = ["cli_run", "BatchResult", "BatchRow", "expand_paths", "is_batch", "profile_many", "render", "SCHEMA"]
