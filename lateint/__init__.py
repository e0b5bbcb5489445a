"""lateint: stop cramming documents into one vector.

A small, readable helper library for a course on late interaction (ColBERT, MaxSim).
"""
from .encoders import DEFAULT_MODEL, Encoder, EncoderLoadError, load_encoder
from .maxsim import cosine_scores, explain, maxsim, maxsim_scores, maxsim_scores_ragged, pad
from .pooling import pool
from .checks.expect import expect

__version__ = "0.1.0"
