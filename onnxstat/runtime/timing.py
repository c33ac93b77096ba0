"""The timed loop and its statistics: the headline session of :func:`onnxstat.runtime.bench.bench`
(first run, warm-up, timed runs, the end-to-end loop of device sessions), latency
percentiles, FPS and throughput, and the batch size FPS is counted in.

The method (what is timed, how percentiles interpolate) is described in
:mod:`onnxstat.runtime.bench`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Mapping, Sequence

from ..errors import ModelError, UsageError
from .bench_options import BenchOptions, time_concurrent
from .ort_log import captured
from .session import SessionSpec, TimingPlan, check_used_providers, host_runner, make_runner, one_line, plan_timing

PERCENTILES = (50, 90, 95, 99)
#: a progress bar appears when the timed loop is expected to take longer than this
PROGRESS_AFTER_S = 1.0


# --------------------------------------------------------------------------- statistics


def percentile(sorted_values: Sequence[int | float], q: int) -> float:
    """Linear-interpolation percentile of ascending values for an integer ``q`` in 0..100."""
    n = len(sorted_values)
    if n == 0:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    num = (n - 1) * int(q)
    k, r = divmod(num, 100)
    lo = sorted_values[k]
    if r == 0:
        return float(lo)
    hi = sorted_values[k + 1]
    return float(lo + (hi - lo) * r / 100)


def latency_stats(samples_ns: Sequence[int]) -> dict[str, float]:
    """Latencies in nanoseconds -> mean, std (n-1), min, p50, p90, p95, p99, max in milliseconds."""
    if not samples_ns:
        raise ValueError("no latencies")
    s = sorted(samples_ns)
    n = len(s)
    mean = math.fsum(s) / n
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in s) / (n - 1)) if n > 1 else 0.0
    out = {"mean": mean / 1e6, "std": std / 1e6, "min": s[0] / 1e6}
    for q in PERCENTILES:
        out[f"p{q}"] = percentile(s, q) / 1e6
    out["max"] = s[-1] / 1e6
    return out


def fps_of(batch: int, mean_ms: float) -> float | None:
    """Samples per second from the mean latency: batch * 1000 / mean_ms."""
    return batch * 1000.0 / mean_ms if mean_ms > 0 else None


def throughput_of(batch: int, runs: int, wall_ns: int) -> float | None:
    """Samples per second over the timed loop's wall time: batch * runs / seconds."""
    return batch * runs * 1e9 / wall_ns if wall_ns > 0 else None

# --------------------------------------------------------------------------- batch size


def batch_size(inputs: Sequence[tuple[str, str, tuple]], declared: Sequence[tuple[str, str, tuple | None]],
               batch_dim: int | str | None = None) -> int:
    """Samples per run.

    Default: the leading dim of the first input (1 for a scalar or no input).
    ``batch_dim`` may be an axis of the first input (``1``), ``INPUT:AXIS``,
    a named dim of the model inputs (``batch``) or an input name (its axis 0).
    """
    shapes = {n: tuple(s or ()) for n, _d, s in inputs}
    if batch_dim is None:
        if not inputs:
            return 1
        first = shapes[inputs[0][0]]
        return int(first[0]) if first else 1
    spec = str(batch_dim).strip()
    if not inputs:
        raise UsageError(f"--batch-dim {spec}: the model has no inputs")

    def axis_of(name: str, axis_text: str) -> int:
        try:
            axis = int(axis_text)
        except ValueError:
            raise UsageError(f"--batch-dim {spec}: axis {axis_text!r} is not an integer") from None
        shp = shapes[name]
        if not -len(shp) <= axis < len(shp):
            raise UsageError(f"--batch-dim {spec}: input {name!r} has rank {len(shp)}, no axis {axis}")
        return int(shp[axis])

    if spec.lstrip("-").isdigit():
        return axis_of(inputs[0][0], spec)
    if ":" in spec:
        name, _, axis = spec.rpartition(":")
        if name not in shapes:
            raise UsageError(f"--batch-dim {spec}: {name!r} is not a model input (inputs: {', '.join(shapes)})")
        return axis_of(name, axis)
    for name, _dtype, shp in declared:
        for k, d in enumerate(shp or ()):
            if d == spec and name in shapes and k < len(shapes[name]):
                return int(shapes[name][k])
    if spec in shapes:
        return axis_of(spec, "0")
    syms = sorted({d for _n, _t, s in declared for d in (s or ()) if isinstance(d, str)})
    raise UsageError(
        f"--batch-dim {spec}: not an axis, INPUT:AXIS, input name or named dim "
        f"(inputs: {', '.join(shapes)}; named dims: {', '.join(syms) or 'none'})"
    )

# --------------------------------------------------------------------------- timing


def time_runs(run: Callable[[], Any], runs: int | None = None, duration_s: float | None = None,
              progress: Callable[[int, int], None] | None = None, progress_every: int = 1) -> tuple[list[int], int]:
    """Call ``run`` ``runs`` times (or until ``duration_s`` has passed, at least once).

    Returns (per-run latencies in ns, wall-clock ns of the whole loop).  Only the
    ``run()`` call sits between the two clock reads.  ``progress(done, elapsed_ns)``
    is called every ``progress_every`` runs, outside the timed region.
    """
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    if duration_s is None:
        if runs is None or runs < 1:
            raise UsageError("runs must be at least 1")
        start = clock()
        if progress is None:
            for _ in range(runs):
                t0 = clock()
                run()
                append(clock() - t0)
        else:
            for i in range(runs):
                t0 = clock()
                run()
                append(clock() - t0)
                if (i + 1) % progress_every == 0:
                    progress(i + 1, clock() - start)
        wall = clock() - start
        return samples, wall
    deadline_ns = int(duration_s * 1e9)
    start = clock()
    i = 0
    while True:
        t0 = clock()
        run()
        t1 = clock()
        append(t1 - t0)
        i += 1
        if progress is not None and i % progress_every == 0:
            progress(i, t1 - start)
        if t1 - start >= deadline_ns:
            break
    return samples, clock() - start


class _ProgressBar:
    """A rich progress bar on stderr (transient); a no-op when disabled."""

    def __init__(self, enabled: bool, total: float, label: str, unit_is_time: bool):
        self.enabled = enabled
        self.unit_is_time = unit_is_time
        self._p = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._p = Progress(
                TextColumn("[progress.description]{task.description}"), BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True, refresh_per_second=4,
            )
            self._task = self._p.add_task(label, total=total)

    def __enter__(self):
        if self._p is not None:
            self._p.start()
        return self

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.stop()
        return False

    def callback(self) -> Callable[[int, int], None] | None:
        if self._p is None:
            return None
        p, task = self._p, self._task
        if self.unit_is_time:
            return lambda done, elapsed_ns: p.update(task, completed=elapsed_ns / 1e9)
        return lambda done, elapsed_ns: p.update(task, completed=done)


# --------------------------------------------------------------------------- the headline session


@dataclass
class Timing:
    """What the headline session measured (nanoseconds)."""

    #: providers the session uses
    used: list[str]
    plan: TimingPlan
    init_ns: int
    first_ns: int
    #: latency of every timed run (the first run's too when there is no warm-up)
    samples: list[int]
    wall_ns: int
    #: runs of every thread with ``concurrency`` > 1, else None
    per_thread: list[int] | None
    #: statistics of the host-to-host loop of device sessions (ms), else None
    end_to_end: dict[str, float] | None


def run_or_fail(run: Callable[[], Any], generated_ints: bool, int_range) -> int:
    """The first run, with onnxruntime's log captured: its time in ns, or one error line."""
    t0 = time.perf_counter_ns()
    hint = ""
    if generated_ints:
        hint = (f" (integer inputs were drawn from [{int_range[0]}, {int_range[1]}); "
                "adjust --int-range or give real data with --input NAME=file.npy)")
    try:
        with captured() as log:
            run()
    except Exception as exc:
        raise ModelError(log.fold(f"onnxruntime failed to run the model: {one_line(exc)}") + hint) from None
    if log.messages():  # an error logged behind a run that returned
        raise ModelError(log.fold("onnxruntime failed to run the model") + hint)
    return time.perf_counter_ns() - t0


def time_session(spec: SessionSpec, feeds: Mapping[str, Any], dtypes: Mapping[str, str], opts: BenchOptions,
                 generated_ints: bool, fallback_listed: bool, warnings: list[str]) -> Timing:
    """Create the headline session and time it: first run, ``opts.warmup - 1`` more warm-up
    runs, then the timed loop (``opts.runs`` or ``opts.duration``; ``opts.concurrency``
    threads).  Warnings about the providers used are appended to ``warnings``."""
    sess, init_ns = spec.create()
    used = list(sess.get_providers())
    warnings.extend(check_used_providers(spec.providers, used, fallback_listed=fallback_listed))
    plan = plan_timing(used, list(dtypes.values()), [o.type for o in sess.get_outputs()])
    run, keep = make_runner(sess, feeds, dtypes, plan, spec.device_id, ort=spec.ort)

    first_ns = run_or_fail(run, generated_ints, opts.int_range)
    last_ns = first_ns
    for _ in range(max(opts.warmup - 1, 0)):
        t0 = time.perf_counter_ns()
        run()
        last_ns = time.perf_counter_ns() - t0
    per_thread = None
    if opts.concurrency > 1:  # N threads, one shared session (the serial warm-up above is the same)
        samples, wall_ns, per_thread = time_concurrent(
            partial(make_runner, sess, feeds, dtypes, plan, spec.device_id, ort=spec.ort), opts.concurrency,
            opts.runs if opts.duration is None else None, opts.duration)
    else:
        samples, wall_ns = _timed_loop(run, opts, last_ns)
    if opts.warmup == 0 and per_thread is None:  # without warm-up the first run is a timed run too
        samples = [first_ns] + samples
        wall_ns += first_ns

    e2e = None
    if plan.end_to_end:
        hrun, hkeep = host_runner(sess, feeds, dtypes, ort=spec.ort)
        for _ in range(min(opts.warmup, 3)):
            hrun()
        e2e_samples, _ = time_runs(hrun, opts.runs if opts.duration is None else None, opts.duration)
        e2e = latency_stats(e2e_samples)
        del hkeep
    del run, keep, sess
    return Timing(used, plan, init_ns, first_ns, samples, wall_ns, per_thread, e2e)


def _timed_loop(run: Callable[[], Any], opts: BenchOptions, last_ns: int) -> tuple[list[int], int]:
    """The serial timed loop, with a progress bar when it is expected to take long
    (``last_ns``: the last warm-up run)."""
    duration = opts.duration
    # without warm-up the first run is a timed run too
    loop_runs = None if duration is not None else (opts.runs - 1 if opts.warmup == 0 else opts.runs)
    if loop_runs == 0:
        return [], 0
    expected_s = duration if duration is not None else last_ns * loop_runs / 1e9
    show = bool(opts.progress) and expected_s > PROGRESS_AFTER_S
    every = max(1, int(0.05e9 / max(last_ns, 1)))
    bar = _ProgressBar(show, duration if duration is not None else loop_runs, "benchmark", duration is not None)
    with bar:
        return time_runs(run, loop_runs, duration, bar.callback(), every)


__all__ = [
    "PERCENTILES", "Timing", "batch_size", "fps_of", "latency_stats", "percentile", "run_or_fail",
    "throughput_of", "time_runs", "time_session",
]
