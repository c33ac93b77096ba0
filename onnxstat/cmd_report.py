"""Command module: `onnxstat report` (registers itself on the CLI group when imported)."""
