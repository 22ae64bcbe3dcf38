#!/usr/bin/env bash
# torch's documented jvp examples and a small MLP, run on the bundled samples.
set -euo pipefail
cd "$(dirname "$0")/.."
set -x
# torch's exp_reducer: jvp of x.exp().sum(dim=1) along ones equals the output
jvpcli jvp 'x.exp().sum(dim=1)' x=samples/x44.npy -v ones
# torch's adder: jvp along ones is [5, 5]
jvpcli jvp 'lambda x, y: 2*x + 3*y' '[0.1, 0.2]' '[0.3, 0.4]' -v ones -v ones
# a pasted def, random tangents (seeded)
jvpcli jvp @samples/mlp.py x=samples/x.npy W=samples/W.npy b=samples/b.npy -v rand -v rand -v rand
# a pipeline: arrays in on stdin, the jvp out as .npy to the next command
python samples/make_data.py | jvpcli jvp 'tanh(x) @ A' - -c A=samples/A.npy -v - --format npy --only jvp \
    | python samples/next.py
