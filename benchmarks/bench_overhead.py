"""Does ``onnxstat bench`` measure what a bare ``sess.run`` loop measures?

Runs a bundled model through :func:`onnxstat.bench.bench` and through a bare
loop (``perf_counter_ns`` around ``sess.run(None, feeds)``) in the same process,
with the same session options, the same input arrays, the same warm-up and run
counts.  The two alternate (A B, B A, A B, …) to cancel drift, and the script
prints each trial's median latency and the ratio of the medians over trials
(bench / bare; target: within 3%, i.e. 0.97..1.03).

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

from onnxstat.bench import bench  # noqa: E402
from onnxstat.inputs import make_inputs  # noqa: E402
from onnxstat.loader import load  # noqa: E402
from onnxstat.shapes import resolve  # noqa: E402


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

    bench_ms, bare_ms = [], []
    for t in range(args.trials):
        order = ("bench", "bare") if t % 2 == 0 else ("bare", "bench")
        for which in order:
            if which == "bench":
                res = bench(args.model, None, dims, warmup=args.warmup, runs=args.runs, threads=args.threads)
                bench_ms.append(res.latency_ms["p50"])
            else:
                bare_ms.append(bare_loop(args.model, feeds, args.warmup, args.runs, args.threads))
        print(f"trial {t + 1}: {' then '.join(order):14s} bench p50 {bench_ms[-1]:.4f} ms   bare p50 {bare_ms[-1]:.4f} ms"
              f"   ratio {bench_ms[-1] / bare_ms[-1]:.4f}")
    mb, mr = statistics.median(bench_ms), statistics.median(bare_ms)
    ratio = mb / mr
    print(f"median over trials: bench {mb:.4f} ms, bare {mr:.4f} ms; ratio of medians bench/bare = {ratio:.4f} "
          f"({(ratio - 1) * 100:+.2f}%, target within ±3%: {'yes' if abs(ratio - 1) <= 0.03 else 'NO'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
