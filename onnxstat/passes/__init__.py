"""Passes over the resolved graph: costs, precision, memory, roofline, symbolic, scopes, coverage."""
