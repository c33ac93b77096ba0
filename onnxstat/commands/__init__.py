"""Subcommands of the CLI (registered on onnxstat.cli.cli when first asked for)."""
