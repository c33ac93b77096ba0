"""Command module: `onnxstat devices` (registers itself on the CLI group when imported)."""
