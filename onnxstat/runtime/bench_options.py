"""Options of a benchmark as one value, the host it runs on, and concurrent timing.

:class:`BenchOptions` is the one place that holds the settings of
:func:`onnxstat.runtime.bench.bench` (warm-up, runs, threads, providers, per-node
profiling, ...), so that a sweep can copy a configuration and change one field
(:meth:`BenchOptions.replace`).  ``bench(model, shapes, dims, options=BenchOptions(...))``
gives them in one value (also :func:`run_bench`); ``bench(model, shapes, dims, runs=50)``
keeps working: every keyword argument replaces that field of ``options``
(:func:`merge_options`).

Concurrency (``concurrency=N``, like onnxruntime_perf_test's concurrent mode):
N threads call ``run`` on the one shared session (onnxruntime sessions are
thread-safe; each thread has its own runner, so IO bindings are not shared).
Every call is timed on its own thread with ``perf_counter_ns``; the latency
percentiles are over all calls, and the aggregate throughput is
``batch x calls / wall-clock seconds`` from the first request's start to the last
request's end (thread start-up is not counted).  ``runs`` counts calls over all threads (split as evenly as
possible); with ``duration`` every thread runs until the time is up.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..errors import UsageError
from .inputs import DEFAULT_INT_RANGE

#: BenchOptions fields that were bench()'s keyword arguments before BenchOptions held them all
LEGACY_FIELDS = (
    "providers", "warmup", "runs", "duration", "threads", "inter_threads", "execution_mode", "opt_level",
    "inputs", "int_range", "per_node", "per_node_runs", "save_optimized", "batch_dim", "device_id", "progress",
    "seed", "static_profile", "available_providers",
)


@dataclass(frozen=True)
class BenchOptions:
    """Every setting of one benchmark (see :func:`onnxstat.runtime.bench.bench` for the meaning of each)."""

    providers: str | Sequence[str] = ("cpu",)
    warmup: int = 10
    runs: int = 100
    duration: float | None = None
    threads: int | None = None
    inter_threads: int | None = None
    execution_mode: str = "sequential"
    opt_level: str = "all"
    inputs: Mapping[str, Any] | None = None
    int_range: tuple[int, int] = DEFAULT_INT_RANGE
    per_node: bool = False
    per_node_runs: int | None = None
    save_optimized: Any = None
    batch_dim: int | str | None = None
    device_id: int = 0
    progress: bool = False
    seed: int = 0
    static_profile: Any = None
    available_providers: Sequence[str] | None = None
    #: threads issuing runs on the one shared session (1 = the ordinary timed loop)
    concurrency: int = 1
    #: keep onnxruntime's JSON trace of the per-node session in this file
    trace: Any = None
    #: roofline device (a Device or a preset name) for the per-kernel efficiency
    device: Any = None

    def __post_init__(self) -> None:
        c = self.concurrency
        if isinstance(c, bool) or not isinstance(c, int) or c < 1:
            raise UsageError(f"concurrency must be a positive integer, got {c!r}")

    def replace(self, **changes: Any) -> "BenchOptions":
        return dataclasses.replace(self, **changes)

    def legacy_kwargs(self) -> dict[str, Any]:
        """The fields that were bench()'s keyword arguments (all fields are keyword arguments now)."""
        return {k: getattr(self, k) for k in LEGACY_FIELDS}

    @classmethod
    def from_kwargs(cls, **kw: Any) -> "BenchOptions":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kw) - names)
        if unknown:
            raise UsageError(f"unknown bench option(s): {', '.join(unknown)}")
        return cls(**kw)


def merge_options(options: BenchOptions | None, overrides: Mapping[str, Any], caller: str = "bench") -> BenchOptions:
    """``options`` (defaults when None) with the fields named in ``overrides`` replaced.

    A name that is no field is a TypeError naming it, as Python raises for an unknown
    keyword argument of ``caller``.
    """
    if options is not None and not isinstance(options, BenchOptions):
        raise UsageError(f"options must be a BenchOptions, got {type(options).__name__}")
    base = options if options is not None else BenchOptions()
    if not overrides:
        return base
    names = {f.name for f in dataclasses.fields(BenchOptions)}
    for key in overrides:
        if key not in names:
            raise TypeError(f"{caller}() got an unexpected keyword argument {key!r}")
    return base.replace(**overrides)


def run_bench(model, input_shapes=None, dims=None, options: BenchOptions | None = None):
    """:func:`onnxstat.runtime.bench.bench` with the settings in one :class:`BenchOptions`."""
    from .bench import bench

    return bench(model, input_shapes, dims, options=options)


# --------------------------------------------------------------------------- host


def usable_cores() -> int:
    """Logical CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0)) or (os.cpu_count() or 1)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def host_info(ort_version: str) -> dict[str, Any]:
    """What every bench JSON records about the machine: CPU model, cores, onnxruntime version."""
    import platform

    from ..passes.roofline import cpu_name

    return {
        "cpu": cpu_name(),
        "logical_cores": os.cpu_count() or 1,
        "usable_cores": usable_cores(),
        "machine": platform.machine(),
        "system": platform.system(),
        "onnxruntime_version": ort_version,
    }


def thread_warnings(threads: int | None, inter_threads: int | None = None, concurrency: int = 1) -> list[str]:
    """A warning when the threads asked for exceed the cores this process can use."""
    cores = usable_cores()
    out = []
    for what, v in (("--threads", threads), ("--inter-threads", inter_threads)):
        if v and v > cores:
            out.append(f"{what} {v} exceeds the {cores} core(s) this machine gives the process: "
                       "threads will share cores and latency suffers")
    if concurrency > 1 and threads and concurrency * threads > cores:
        out.append(f"--concurrency {concurrency} x --threads {threads} = {concurrency * threads} threads "
                   f"on {cores} core(s): requests compete for cores")
    return out


# --------------------------------------------------------------------------- concurrent timing


def time_concurrent(make_run: Callable[[], tuple[Callable[[], Any], Any]], concurrency: int,
                    runs: int | None = None, duration_s: float | None = None) -> tuple[list[int], int, list[int]]:
    """``concurrency`` threads each call their own ``run`` (from ``make_run()``) on a shared session.

    Returns (every call's latency in ns, wall-clock ns from the first call's start to
    the last call's end, calls per thread).  ``runs`` calls in total, split evenly; or,
    with ``duration_s``, every thread calls until the time is up (at least once).
    The first exception of any thread is raised after all threads have stopped.
    """
    if concurrency < 1:
        raise UsageError(f"concurrency must be a positive integer, got {concurrency!r}")
    if duration_s is None and (runs is None or runs < 1):
        raise UsageError("runs must be at least 1")
    runners = [make_run() for _ in range(concurrency)]
    if duration_s is None:
        share = [runs // concurrency + (1 if i < runs % concurrency else 0) for i in range(concurrency)]
    else:
        share = [None] * concurrency
    results: list[list[int]] = [[] for _ in range(concurrency)]
    errors: list[BaseException] = []
    clock = time.perf_counter_ns
    deadline = [0]

    spans: list[tuple[int, int]] = []  # (first request's start, last request's end) of every thread

    def worker(i: int) -> None:
        run = runners[i][0]
        out = results[i]
        append = out.append
        n = share[i]
        start_gate.wait()
        first = clock()
        try:
            if n is not None:
                for _ in range(n):
                    t0 = clock()
                    run()
                    append(clock() - t0)
            else:
                while True:
                    t0 = clock()
                    run()
                    t1 = clock()
                    append(t1 - t0)
                    if t1 >= deadline[0]:
                        break
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)
        spans.append((first, clock()))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency) if share[i] != 0]
    start_gate = threading.Barrier(len(threads) + 1)  # every thread starts together
    for t in threads:
        t.start()
    start = clock()
    if duration_s is not None:
        deadline[0] = start + int(duration_s * 1e9)
    start_gate.wait()
    for t in threads:
        t.join()
    # wall time from the first request's start to the last one's end (thread start-up left out)
    wall = (max(e for _s, e in spans) - min(b for b, _e in spans)) if spans else clock() - start
    del runners
    if errors:
        raise errors[0]
    samples = [s for r in results for s in r]
    return samples, wall, [len(r) for r in results]


__all__ = ["BenchOptions", "merge_options", "run_bench", "host_info", "thread_warnings", "time_concurrent", "usable_cores"]
