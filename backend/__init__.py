"""pigeon-bot backend: the PIGEON pipeline, the inference server and the score log.

Layout: ``backend.core`` is the sans-I/O core (pure numpy/stdlib: geodesy, scoring,
label smoothing, refinement math, protocol messages); everything else is a thin I/O shell.
"""

__version__ = "0.1.0"
