"""``python -m onnxstat``: the command line."""

from .cli import main

main()
