"""Writes an input x and its tangent v to stdout as two .npy records (for the pipe example)."""

import sys

import numpy as np

rng = np.random.default_rng(0)
np.save(sys.stdout.buffer, rng.random(3))
np.save(sys.stdout.buffer, np.ones(3))
