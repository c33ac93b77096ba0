"""Command module: `onnxstat bench` (registers itself on the CLI group when imported)."""
