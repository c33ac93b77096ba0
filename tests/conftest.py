"""Test-wide settings."""

from hypothesis import settings

# Property tests draw the same examples on every run, so a CI failure can be replayed.
settings.register_profile("onnxstat", derandomize=True, print_blob=True)
settings.load_profile("onnxstat")
