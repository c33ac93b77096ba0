"""Test-wide settings."""

import pytest
from hypothesis import settings

import helpers

# Property tests draw the same examples on every run, so a CI failure can be replayed.
settings.register_profile("onnxstat", derandomize=True, print_blob=True)
settings.load_profile("onnxstat")


@pytest.fixture(autouse=True)
def _remember_basetemp(tmp_path_factory):
    helpers.BASETEMP[0] = str(tmp_path_factory.getbasetemp())
