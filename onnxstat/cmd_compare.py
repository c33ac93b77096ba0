"""Command module: `onnxstat compare` (registers itself on the CLI group when imported)."""
