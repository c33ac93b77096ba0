"""Does ``onnxstat bench`` measure what a bare ``sess.run`` loop measures?

Runs a bundled model through :func:`onnxstat.runtime.bench.bench`, through a one-row
:func:`onnxstat.runtime.bench_sweep.bench_sweep` (the sweep's single configuration) and
through a bare loop (``perf_counter_ns`` around ``sess.run(None, feeds)``) in the
same process, with the same session options, the same input arrays, the same
warm-up and run counts.  The three rotate (A B C, B C A, C A B, …) to cancel
drift, and the script prints each trial's median latency and the ratios of the
medians over trials (bench / bare and sweep / bare; target: within 3%, i.e. 0.97..1.03).

    python benchmarks/bench_overhead.py                      # cnn.onnx, batch 1
    python benchmarks/bench_overhead.py --model sample_models/mlp.onnx --trials 8 --runs 2000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import onnxruntime as ort  # noqa: E402

from onnxstat.model.loader import load  # noqa: E402
from onnxstat.runtime.bench import bench  # noqa: E402
from onnxstat.runtime.bench_options import BenchOptions  # noqa: E402
from onnxstat.runtime.bench_sweep import bench_sweep  # noqa: E402
from onnxstat.runtime.inputs import make_inputs  # noqa: E402
from onnxstat.shapes.resolve import resolve  # noqa: E402


def bare_loop(model: str, feeds: dict, warmup: int, runs: int, threads: int | None) -> float:
    """Median latency (ms) of a plain sess.run loop with bench()'s default session options."""
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if threads is not None:
        so.intra_op_num_threads = threads
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    for _ in range(warmup):
        sess.run(None, feeds)
    clock = time.perf_counter_ns
    samples = []
    for _ in range(runs):
        t0 = clock()
        sess.run(None, feeds)
        samples.append(clock() - t0)
    return statistics.median(samples) / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "sample_models" / "cnn.onnx"))
    ap.add_argument("--dim", action="append", default=["batch=1", "seq=16"], help="NAME=VALUE (symbolic dims)")
    ap.add_argument("--trials", type=int, default=6, help="pairs of (bench, bare) measurements")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    lm = load(args.model)
    declared = {d for vi in lm.model.graph.input for d in
                (x.dim_param for x in vi.type.tensor_type.shape.dim) if d}
    dims = {k: int(v) for k, v in (s.split("=") for s in args.dim) if k in declared}
    sh = resolve(lm, {}, dims)
    feeds = make_inputs(sh.inputs, seed=0)  # bench() generates the same arrays (seed 0)
    print(f"model {args.model}  inputs {[(n, s) for n, _d, s in sh.inputs]}  "
          f"warmup {args.warmup}  runs {args.runs}  trials {args.trials}  onnxruntime {ort.__version__}")

    bench_ms, sweep_ms, bare_ms = [], [], []
    kinds = ("bench", "sweep", "bare")
    # the sweep varies nothing the others do not fix: one configuration, the first dim at its value
    sweep_dim = next(iter(dims), None)
    for t in range(args.trials):
        order = kinds[t % 3:] + kinds[:t % 3]
        for which in order:
            if which == "bench":
                res = bench(args.model, None, dims, warmup=args.warmup, runs=args.runs, threads=args.threads)
                bench_ms.append(res.latency_ms["p50"])
            elif which == "sweep":
                grid = {sweep_dim: [dims[sweep_dim]]} if sweep_dim else {"opt-level": ["all"]}
                rest = {k: v for k, v in dims.items() if k != sweep_dim}
                sw = bench_sweep(args.model, grid, None, rest,
                                 BenchOptions(warmup=args.warmup, runs=args.runs, threads=args.threads))
                sweep_ms.append(sw.rows[0]["latency_ms"]["p50"])
            else:
                bare_ms.append(bare_loop(args.model, feeds, args.warmup, args.runs, args.threads))
        print(f"trial {t + 1}: {' then '.join(order):22s} bench p50 {bench_ms[-1]:.4f} ms   sweep p50 "
              f"{sweep_ms[-1]:.4f} ms   bare p50 {bare_ms[-1]:.4f} ms")
    mr = statistics.median(bare_ms)
    for label, vals in (("bench", bench_ms), ("sweep", sweep_ms)):
        mb = statistics.median(vals)
        ratio = mb / mr
        print(f"median over trials: {label} {mb:.4f} ms, bare {mr:.4f} ms; ratio of medians {label}/bare = "
              f"{ratio:.4f} ({(ratio - 1) * 100:+.2f}%, target within ±3%: {'yes' if abs(ratio - 1) <= 0.03 else 'NO'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
