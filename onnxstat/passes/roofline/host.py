"""Measuring this machine as a device (``--device host``): an fp32 GEMM with numpy and
copies from memory and from cache-sized working sets."""

from __future__ import annotations

import math
import os
import platform
import time

from .device import Device

_HOST: Device | None = None


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _best_rate(fn, work: float, budget_s: float, min_reps: int = 3) -> tuple[float, int]:
    """Highest work/second over repetitions of ``fn`` within ``budget_s`` (after one warm-up)."""
    fn()
    best = 0.0
    reps = 0
    t_end = time.perf_counter() + budget_s
    while reps < min_reps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        reps += 1
        if dt > 0:
            best = max(best, work / dt)
        if reps >= 200:
            break
    return best, reps


def measure_host(budget_s: float = 1.0, *, refresh: bool = False) -> Device:
    """Measure this machine: fp32 GEMM FLOP/s (numpy/BLAS) and copy bandwidth (bytes read + written).

    Takes about ``budget_s`` seconds (split between the two) the first time; the
    result is kept for the rest of the process.  fp16 and int8 peaks are not
    measured: they are left absent, so nodes at those precisions use the fp32
    measurement (the node's ``roofline_precision`` says so).
    """
    global _HOST
    if _HOST is not None and not refresh:
        return _HOST
    import numpy as np

    half = max(budget_s, 0.1) / 2
    # GEMM size: grow until one multiply takes >= 10 ms (cap 2048); the fastest of three
    # multiplies decides, so that a busy moment does not stop the growth at a small size
    n = 256
    while True:
        a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
        fastest = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            a @ b
            fastest = min(fastest, time.perf_counter() - t0)
        if fastest >= 0.01 or n >= 2048:
            break
        n *= 2
    flops = 2.0 * n * n * n
    gemm_rate, gemm_reps = _best_rate(lambda: a @ b, flops, half)
    del a, b
    # copy: 64 MiB -> 64 MiB, larger than the last-level cache of most machines
    bw, copy_reps = _copy_rate(np, 128 * 2**20, half * 0.6)
    # cache levels: working sets of 256 KiB, 2 MiB and 16 MiB (what a kernel whose data stays in cache reaches)
    levels = []
    for ws in HOST_CACHE_WORKING_SETS:
        level_bw, _reps = _copy_rate(np, ws, half * 0.4 / len(HOST_CACHE_WORKING_SETS))
        if level_bw > bw:
            levels.append((float(ws), level_bw))
    threads = os.cpu_count() or 1
    cpu = cpu_name()
    _HOST = Device(
        name="host (measured)",
        peaks={"fp32": gemm_rate, "fp16": None, "int8": None},
        bandwidth=bw,
        source=(
            f"measured on this machine ({cpu}, {threads} logical CPUs): fp32 = best of {gemm_reps} numpy float32 "
            f"GEMMs {n}x{n}x{n} (2*{n}^3 FLOPs each); bandwidth = best of {copy_reps} copies of 64 MiB "
            f"(bytes read + bytes written = 128 MiB each). fp16 and int8 peaks not measured (absent): "
            f"nodes at those precisions use the fp32 measurement. Cache levels: best copies with working sets of "
            + ", ".join(f"{ws // 2**10} KiB" for ws in HOST_CACHE_WORKING_SETS)
            + " (measured kernels whose bytes fit there are held to that bandwidth)."
        ),
        kind="host",
        aliases=("host",),
        measured=True,
        notes="Measured, not a datasheet peak; BLAS and copy threads as numpy uses them.",
        bandwidth_levels=tuple(sorted(levels)),
    )
    return _HOST


#: working sets (bytes read + written) of the host's cache-level copy measurements
HOST_CACHE_WORKING_SETS = (256 * 2**10, 2 * 2**20, 16 * 2**20)


def _copy_rate(np, working_set: int, budget_s: float) -> tuple[float, int]:
    """Best copy bandwidth (bytes read + written per second) with ``working_set`` bytes in play.

    Source and destination share one buffer, 192 bytes apart: two separate
    allocations are often both page aligned, and then every store aliases the load
    4 KiB away (the CPU stalls on the false dependency and the copy runs several
    times slower than memory allows).  Small working sets are copied many times
    per timing so that the call overhead does not count.
    """
    n = working_set // 8  # float32 elements per half
    buf = np.ones(2 * n + 48, dtype=np.float32)
    src, dst = buf[:n], buf[n + 48: 2 * n + 48]
    reps = max(1, (8 * 2**20) // working_set)

    def copy():
        for _ in range(reps):
            np.copyto(dst, src)

    return _best_rate(copy, float(working_set) * reps, budget_s)
