"""onnxruntime: benchmarks, generated inputs, kernel matching, simplification, fidelity."""
