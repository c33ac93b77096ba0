"""Shape resolution: one forward pass, constant folding, control flow, ORT-observed shapes."""
