"""Several models or shapes at once: sweeps, comparisons, batches."""
