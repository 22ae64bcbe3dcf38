"""Writes an input x and its tangent v to stdout as two .npy records (for the pipe example)."""

import io
import sys

import numpy as np

rng = np.random.default_rng(0)
buffer = io.BytesIO()  # np.save needs a seekable file; a pipe is not one
np.save(buffer, rng.random(3))
np.save(buffer, np.ones(3))
sys.stdout.buffer.write(buffer.getvalue())
