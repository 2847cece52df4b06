"""Reports over the score log (``pigeon scores report``)."""
