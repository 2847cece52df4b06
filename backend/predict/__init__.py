"""Inference: the refinement index, image checks and the Predictor (1-4 views -> Guess).

Usage::

    from backend.predict.predictor import Predictor
    guess = Predictor.from_bundle("bundle/").predict([img1, img2, img3, img4])
"""
