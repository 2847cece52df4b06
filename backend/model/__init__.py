"""PIGEON model: open_clip backbone registry, weights, heads, training and the model bundle."""
