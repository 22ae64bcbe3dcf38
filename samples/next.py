"""Reads one .npy array from stdin and prints it: the next command of the pipe example."""

import io
import sys

import numpy as np

print("jvp received by the next command:", np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False))
