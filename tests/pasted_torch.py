"""Functions as they are pasted from torch tutorials, papers and ML code, with their inputs.

Each entry: (name, source, {input: (shape, domain)}, {constant: array}). The source is run by
torch itself (the oracle, in the test) and given to jvpcli as FUNC text unchanged.
"""

import numpy as np

_R = np.random.default_rng(2024)
LABELS = np.array([0, 2, 1, 3])
SOFT = _R.dirichlet(np.ones(5), size=4)

PASTED = [
    (
        "attention",
        '''
import torch
import torch.nn.functional as F

def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Scaled dot-product attention."""
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)
    weights = F.softmax(scores, dim=-1)
    return weights @ v
''',
        {"q": ((4, 8), "any"), "k": ((4, 8), "any"), "v": ((4, 8), "any")},
        {},
    ),
    (
        "causal attention",
        """
def causal_attention(q, k, v):
    T = q.shape[0]
    scores = q @ k.transpose(0, 1) / q.shape[-1] ** 0.5
    mask = torch.tril(torch.ones(T, T))
    scores = scores.masked_fill(mask == 0, float('-inf'))
    return torch.softmax(scores, dim=-1) @ v
""",
        {"q": ((5, 4), "any"), "k": ((5, 4), "any"), "v": ((5, 4), "any")},
        {},
    ),
    (
        "multi-head attention",
        """
def mha(x, Wq, Wk, Wv, Wo, n_heads: int = 2):
    B, T, C = x.shape
    q = (x @ Wq).view(B, T, n_heads, C // n_heads).transpose(1, 2)
    k = (x @ Wk).view(B, T, n_heads, C // n_heads).transpose(1, 2)
    v = (x @ Wv).view(B, T, n_heads, C // n_heads).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
    att = F.softmax(att, dim=-1)
    y = (att @ v).transpose(1, 2).reshape(B, T, C)
    return y @ Wo
""",
        {
            "x": ((2, 3, 4), "any"),
            "Wq": ((4, 4), "any"),
            "Wk": ((4, 4), "any"),
            "Wv": ((4, 4), "any"),
            "Wo": ((4, 4), "any"),
        },
        {},
    ),
    (
        "sdpa",
        "lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)",
        {"q": ((2, 4, 3), "any"), "k": ((2, 4, 3), "any"), "v": ((2, 4, 3), "any")},
        {},
    ),
    (
        "layer norm by hand",
        """
def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True, unbiased=False)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta
""",
        {"x": ((3, 6), "any"), "gamma": ((6,), "any"), "beta": ((6,), "any")},
        {},
    ),
    (
        "layer norm, torch's var default",
        "lambda x: (x - x.mean(dim=-1, keepdim=True)) / torch.sqrt(x.var(dim=-1, keepdim=True) + 1e-5)",
        {"x": ((3, 5), "any")},
        {},
    ),
    (
        "F.layer_norm",
        "lambda x, w, b: F.layer_norm(x, (5,), w, b)",
        {"x": ((2, 3, 5), "any"), "w": ((5,), "any"), "b": ((5,), "any")},
        {},
    ),
    (
        "rms norm",
        """
def rms_norm(x, weight, eps: float = 1e-6):
    norm = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return norm * weight
""",
        {"x": ((3, 4), "any"), "weight": ((4,), "any")},
        {},
    ),
    (
        "mlp",
        """
def mlp(x, W1, b1, W2, b2):
    h = F.relu(F.linear(x, W1, b1))
    return F.linear(h, W2, b2)
""",
        {"x": ((5, 3), "any"), "W1": ((8, 3), "any"), "b1": ((8,), "any"), "W2": ((2, 8), "any"), "b2": ((2,), "any")},
        {},
    ),
    (
        "mlp with gelu and residual",
        """
def block(x, W1, W2):
    h = x
    h = h @ W1
    h = F.gelu(h)
    h = h @ W2
    h += x
    return h
""",
        {"x": ((4, 6), "any"), "W1": ((6, 12), "any"), "W2": ((12, 6), "any")},
        {},
    ),
    (
        "swiglu",
        """
def swiglu(x, W, V, W2):
    return (F.silu(x @ W) * (x @ V)) @ W2
""",
        {"x": ((3, 4), "any"), "W": ((4, 8), "any"), "V": ((4, 8), "any"), "W2": ((8, 4), "any")},
        {},
    ),
    (
        "geglu with chunk",
        """
def geglu(x, W):
    a, gate = (x @ W).chunk(2, dim=-1)
    return a * F.gelu(gate)
""",
        {"x": ((3, 4), "any"), "W": ((4, 8), "any")},
        {},
    ),
    ("mse", "lambda pred, y: F.mse_loss(pred, y)", {"pred": ((6,), "any"), "y": ((6,), "any")}, {}),
    ("l1 sum", "lambda pred, y: F.l1_loss(pred, y, reduction='sum')", {"pred": ((6,), "any"), "y": ((6,), "any")}, {}),
    (
        "smooth l1",
        "lambda pred, y: F.smooth_l1_loss(pred, y, beta=0.5)",
        {"pred": ((8,), "any"), "y": ((8,), "any")},
        {},
    ),
    ("huber", "lambda pred, y: F.huber_loss(pred, y, delta=0.7)", {"pred": ((8,), "any"), "y": ((8,), "any")}, {}),
    (
        "cross entropy, class indices",
        """
def loss_fn(logits, target):
    return F.cross_entropy(logits, target)
""",
        {"logits": ((4, 5), "any")},
        {"target": LABELS},
    ),
    (
        "cross entropy, literal targets and smoothing",
        "lambda logits: F.cross_entropy(logits, torch.tensor([1, 0, 4, 2]), label_smoothing=0.1, reduction='sum')",
        {"logits": ((4, 5), "any")},
        {},
    ),
    (
        "cross entropy, probabilities",
        "lambda logits, p: F.cross_entropy(logits, p)",
        {"logits": ((4, 5), "any")},
        {"p": SOFT},
    ),
    (
        "cross entropy by hand",
        """
def ce(logits, y):
    logp = torch.log_softmax(logits, dim=1)
    return -logp[torch.arange(len(y)), y].mean()
""",
        {"logits": ((4, 5), "any")},
        {"y": LABELS},
    ),
    (
        "nll loss with weights",
        "lambda x, t: F.nll_loss(F.log_softmax(x, 1), t, weight=torch.tensor([1.0, 2.0, 0.5, 1, 3], dtype=x.dtype))",
        {"x": ((4, 5), "any")},
        {"t": LABELS},
    ),
    (
        "bce",
        "lambda p, y: F.binary_cross_entropy(torch.sigmoid(p), y)",
        {"p": ((6,), "any")},
        {"y": (_R.random(6) > 0.5) * 1.0},
    ),
    (
        "bce with logits",
        "lambda z, y: F.binary_cross_entropy_with_logits(z, y, pos_weight=torch.tensor(2.0))",
        {"z": ((6,), "any")},
        {"y": (_R.random(6) > 0.5) * 1.0},
    ),
    (
        "kl divergence",
        "lambda logits, target: F.kl_div(F.log_softmax(logits, dim=-1), target, reduction='batchmean')",
        {"logits": ((4, 5), "any")},
        {"target": SOFT},
    ),
    (
        "contrastive cosine",
        "lambda a, b: 1 - F.cosine_similarity(a, b, dim=-1).mean()",
        {"a": ((4, 6), "any"), "b": ((4, 6), "any")},
        {},
    ),
    (
        "triplet by hand",
        "lambda a, p, n: F.relu(F.pairwise_distance(a, p) - F.pairwise_distance(a, n) + 1.0).mean()",
        {"a": ((4, 3), "any"), "p": ((4, 3), "any"), "n": ((4, 3), "any")},
        {},
    ),
    ("normalize", "lambda x: F.normalize(x, dim=-1)", {"x": ((3, 4), "any")}, {}),
    (
        "activations",
        """
def act(x):
    return (F.elu(x) + F.selu(x) + F.leaky_relu(x, negative_slope=0.2) + F.softplus(x, beta=2.0, threshold=1.0)
            + F.hardtanh(x) + F.relu6(3 * x) + F.mish(x) + F.logsigmoid(x) + F.softsign(x) + F.tanhshrink(x))
""",
        {"x": ((10,), "any")},
        {},
    ),
    ("silu sigmoid tanh", "lambda x: torch.tanh(x) * torch.sigmoid(x) + F.silu(x)", {"x": ((7,), "any")}, {}),
    ("leaky relu positional", "lambda x: F.leaky_relu(x, 0.01)", {"x": ((7,), "any")}, {}),
    (
        "top-k mean",
        "lambda x: torch.topk(x, 3, dim=1).values.mean()",
        {"x": ((4, 6), "any")},
        {},
    ),
    ("max over dim", "lambda x: x.max(dim=1)[0]", {"x": ((4, 6), "any")}, {}),
    ("torch.max with dim", "lambda scores: torch.max(scores, dim=1)[0].sum()", {"scores": ((4, 6), "any")}, {}),
    ("min values", "lambda x: x.min(dim=0).values", {"x": ((4, 6), "any")}, {}),
    ("sorted", "lambda x: torch.sort(x, descending=True)[0][:, :2]", {"x": ((3, 5), "any")}, {}),
    ("maximum of two", "lambda x, y: torch.max(x, y).sum()", {"x": ((5,), "any"), "y": ((5,), "any")}, {}),
    ("clamp", "lambda x: torch.clamp(x, min=-0.5, max=0.5) + x.clamp(min=0.1)", {"x": ((7,), "any")}, {}),
    ("logdet", "lambda A: torch.logdet(A @ A.T + torch.eye(3))", {"A": ((3, 3), "any")}, {}),
    (
        "gaussian log-likelihood",
        '''
def gaussian_nll(x, L):
    """log N(x | 0, L L^T + I)"""
    S = L @ L.T + torch.eye(3)
    sign, logabsdet = torch.linalg.slogdet(S)
    return -0.5 * (x @ torch.linalg.solve(S, x) + logabsdet + 3 * math.log(2 * math.pi))
''',
        {"x": ((3,), "any"), "L": ((3, 3), "any")},
        {},
    ),
    ("slogdet field", "lambda A: torch.linalg.slogdet(A).logabsdet", {"A": ((3, 3), "any")}, {}),
    ("cholesky", "lambda A: torch.linalg.cholesky(A @ A.mT + 3 * torch.eye(3))", {"A": ((3, 3), "any")}, {}),
    ("inverse and det", "lambda A: torch.linalg.inv(A).sum() + torch.linalg.det(A)", {"A": ((3, 3), "spd")}, {}),
    (
        "diagonal trace",
        "lambda A: torch.diagonal(A @ A).sum() + A.diagonal(offset=1).sum() + torch.trace(A)",
        {"A": ((3, 3), "any")},
        {},
    ),
    ("tril triu", "lambda A: torch.tril(A) @ torch.triu(A, diagonal=1)", {"A": ((3, 3), "any")}, {}),
    (
        "vector norms",
        "lambda x: torch.linalg.norm(x, dim=1) + torch.linalg.vector_norm(x, ord=1, dim=-1)",
        {"x": ((3, 4), "any")},
        {},
    ),
    ("old torch.norm", "lambda x: torch.norm(x, 2) + x.norm(dim=0).sum()", {"x": ((3, 4), "any")}, {}),
    (
        "construction",
        "lambda x: x * torch.tensor([0.1, 0.2, 0.3]) + torch.ones(3) + torch.zeros_like(x) + torch.full_like(x, 0.5)",
        {"x": ((3,), "any")},
        {},
    ),
    ("arange weights", "lambda x: (x * torch.arange(4)).sum()", {"x": ((4,), "any")}, {}),
    (
        "pendulum energy",
        """
def energy(theta, omega):
    g, L = 9.81, 1.0
    kinetic = 0.5 * L ** 2 * omega ** 2
    potential = g * L * (1 - torch.cos(theta))
    return (kinetic + potential).sum()
""",
        {"theta": ((5,), "any"), "omega": ((5,), "any")},
        {},
    ),
    (
        "spring chain",
        """
def chain_energy(x: torch.Tensor, k: float = 2.0) -> torch.Tensor:
    dx = x[1:] - x[:-1]
    return 0.5 * k * (dx ** 2).sum()
""",
        {"x": ((6,), "any")},
        {},
    ),
    (
        "gravity potential",
        """
def potential(pos):
    diff = pos[:, None, :] - pos[None, :, :]
    r = torch.sqrt((diff ** 2).sum(-1) + 1e-3)
    return -(1.0 / r).triu(diagonal=1).sum()
""",
        {"pos": ((4, 3), "any")},
        {},
    ),
    (
        "laplacian stencil",
        "lambda u: (torch.roll(u, 1, 0) + torch.roll(u, -1, 0) - 2 * u).pow(2).sum()",
        {"u": ((8,), "any")},
        {},
    ),
    (
        "cross product",
        "lambda r, p: torch.linalg.cross(r, p).sum(dim=0)",
        {"r": ((4, 3), "any"), "p": ((4, 3), "any")},
        {},
    ),
    (
        "vae loss",
        """
def vae_loss(mu, logvar, recon, x):
    bce = F.mse_loss(recon, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld
""",
        {"mu": ((4,), "any"), "logvar": ((4,), "any"), "recon": ((6,), "any"), "x": ((6,), "any")},
        {},
    ),
    (
        "reparameterised sample",
        "lambda mu, logvar, eps: mu + torch.exp(0.5 * logvar) * eps",
        {"mu": ((4,), "any"), "logvar": ((4,), "any")},
        {"eps": _R.standard_normal(4)},
    ),
    (
        "gru cell",
        """
def gru_cell(x, h, W, U):
    r, z, n = (x @ W).chunk(3, dim=-1)
    hr, hz, hn = (h @ U).chunk(3, dim=-1)
    r = torch.sigmoid(r + hr)
    z = torch.sigmoid(z + hz)
    n = torch.tanh(n + r * hn)
    return (1 - z) * n + z * h
""",
        {"x": ((2, 3), "any"), "h": ((2, 4), "any"), "W": ((3, 12), "any"), "U": ((4, 12), "any")},
        {},
    ),
    (
        "lstm cell",
        """
def lstm_cell(x, h, c, W):
    gates = torch.cat([x, h], dim=1) @ W
    i, f, g, o = gates.split(4, dim=1)
    c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c2), c2
""",
        {"x": ((2, 3), "any"), "h": ((2, 4), "any"), "c": ((2, 4), "any"), "W": ((7, 16), "any")},
        {},
    ),
    (
        "unbind rows",
        """
def f(x):
    a, b, c = torch.unbind(x, dim=0)
    return a * b + c
""",
        {"x": ((3, 4), "any")},
        {},
    ),
    (
        "policy gradient",
        """
def pg_loss(logits, actions, returns):
    logp = F.log_softmax(logits, dim=-1)
    chosen = logp.gather(1, actions.unsqueeze(1)).squeeze(1)
    return -(chosen * returns).mean()
""",
        {"logits": ((4, 5), "any")},
        {"actions": LABELS, "returns": _R.standard_normal(4)},
    ),
    (
        "ppo clipped objective",
        """
def ppo(logp, old_logp, adv, clip: float = 0.2):
    ratio = torch.exp(logp - old_logp)
    surr1 = ratio * adv
    surr2 = torch.clamp(ratio, 1 - clip, 1 + clip) * adv
    return -torch.min(surr1, surr2).mean()
""",
        {"logp": ((6,), "any")},
        {"old_logp": _R.standard_normal(6), "adv": _R.standard_normal(6)},
    ),
    (
        "focal loss",
        """
def focal(logits, y, gamma=2.0):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    return (ce * (1 - p_t) ** gamma).mean()
""",
        {"logits": ((6,), "any")},
        {"y": (_R.random(6) > 0.5) * 1.0},
    ),
    (
        "dice loss",
        """
def dice(pred, target, smooth=1.0):
    pred = torch.sigmoid(pred).view(-1)
    target = target.view(-1)
    inter = (pred * target).sum()
    return 1 - (2. * inter + smooth) / (pred.sum() + target.sum() + smooth)
""",
        {"pred": ((3, 4), "any")},
        {"target": (_R.random((3, 4)) > 0.5) * 1.0},
    ),
    (
        "batch statistics",
        """
def standardize(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean(0)) / (x.std(0) + 1e-8)
""",
        {"x": ((5, 3), "any")},
        {},
    ),
    (
        "softmax temperature",
        "lambda logits, T=2.0: torch.softmax(logits / T, dim=-1)",
        {"logits": ((3, 4), "any")},
        {},
    ),
    (
        "logsumexp",
        "lambda x: torch.logsumexp(x, dim=1) - x.mean(1)",
        {"x": ((3, 4), "any")},
        {},
    ),
    (
        "einsum bilinear",
        "lambda x, A, y: torch.einsum('bi,ij,bj->b', x, A, y)",
        {"x": ((3, 4), "any"), "A": ((4, 5), "any"), "y": ((3, 5), "any")},
        {},
    ),
    (
        "bmm",
        "lambda a, b: torch.bmm(a, b.transpose(1, 2)).sum(dim=(1, 2))",
        {"a": ((2, 3, 4), "any"), "b": ((2, 3, 4), "any")},
        {},
    ),
    (
        "permute view flatten",
        "lambda x: x.permute(0, 2, 1).contiguous().view(x.size(0), -1).flatten(1)",
        {"x": ((2, 3, 4), "any")},
        {},
    ),
    (
        "expand and repeat",
        "lambda x, b: x + b.unsqueeze(0).expand(x.size(0), -1) + b.repeat(3, 1)",
        {"x": ((3, 4), "any"), "b": ((4,), "any")},
        {},
    ),
    (
        "stack and cat",
        "lambda x, y: torch.cat([x, y], dim=-1) * torch.stack((x, y), dim=-1).sum(-1).repeat(1, 2)",
        {"x": ((3, 2), "any"), "y": ((3, 2), "any")},
        {},
    ),
    (
        "where and masks",
        "lambda x: torch.where(x > 0, x ** 2, torch.zeros_like(x)) + (x < 0).float() * x",
        {"x": ((8,), "any")},
        {},
    ),
    (
        "detach target",
        "lambda x, w: ((x @ w - (x @ w).detach().mean()) ** 2).sum()",
        {"x": ((3, 4), "any"), "w": ((4,), "any")},
        {},
    ),
    (
        "shape-derived constants",
        """
def f(x):
    n = len(x)
    d = x.shape[-1]
    return x.sum() / (n * d) + x.ndim
""",
        {"x": ((3, 4), "any")},
        {},
    ),
    (
        "tuple return",
        "lambda x, y: (x * y, torch.exp(x).sum())",
        {"x": ((3,), "any"), "y": ((3,), "any")},
        {},
    ),
    (
        "helper function",
        """
def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

def ffn(x, W):
    return gelu_tanh(x @ W).sum(-1)
""",
        {"x": ((3, 4), "any"), "W": ((4, 5), "any")},
        {},
    ),
]


# a second set: short lines and whole functions from tutorials, physics and ML code
PASTED += [
    (
        "more 0: lambda x: F.softmax(x, dim=-1) * F.log_s",
        "lambda x: F.softmax(x, dim=-1) * F.log_softmax(x, dim=-1)",
        {"x": ((3, 4), "any")},
        {},
    ),
    (
        "more 1: lambda x: torch.sigmoid(x).mean() + torc",
        "lambda x: torch.sigmoid(x).mean() + torch.relu(x).pow(2).sum()",
        {"x": ((5,), "any")},
        {},
    ),
    (
        "more 2: lambda x, W: torch.tanh(x @ W.t()).sum(d",
        "lambda x, W: torch.tanh(x @ W.t()).sum(dim=1)",
        {"x": ((3, 4), "any"), "W": ((2, 4), "any")},
        {},
    ),
    (
        "more 3: lambda x: x.unsqueeze(1) - x.unsqueeze(0",
        "lambda x: x.unsqueeze(1) - x.unsqueeze(0)",
        {"x": ((4,), "any")},
        {},
    ),
    (
        "more 4: lambda x: (x[:, None, :] - x[None, :, :]",
        "lambda x: (x[:, None, :] - x[None, :, :]).norm(dim=-1)",
        {"x": ((3, 2), "any")},
        {},
    ),
    ("more 5: lambda x: x.abs().max()", "lambda x: x.abs().max()", {"x": ((5,), "any")}, {}),
    (
        "more 6: lambda x: torch.amax(x, dim=-1) - torch.",
        "lambda x: torch.amax(x, dim=-1) - torch.amin(x, dim=0).sum()",
        {"x": ((3, 4), "any")},
        {},
    ),
    ("more 7: lambda x: x.flip(0).cumsum(0)", "lambda x: x.flip(0).cumsum(0)", {"x": ((5,), "any")}, {}),
    ("more 8: lambda x: torch.prod(x, dim=1)", "lambda x: torch.prod(x, dim=1)", {"x": ((3, 4), "any")}, {}),
    (
        "more 10: lambda x: torch.where(x > 0, x, 0.01 * x",
        "lambda x: torch.where(x > 0, x, 0.01 * x)",
        {"x": ((6,), "any")},
        {},
    ),
    (
        "more 11: lambda x: torch.exp(-x ** 2 / 2) / math.",
        "lambda x: torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)",
        {"x": ((6,), "any")},
        {},
    ),
    (
        "more 12: lambda A: A @ A.T + 1e-3 * torch.eye(A.s",
        "lambda A: A @ A.T + 1e-3 * torch.eye(A.shape[0])",
        {"A": ((3, 3), "any")},
        {},
    ),
    (
        "more 13: lambda A, b: torch.linalg.solve(A @ A.T ",
        "lambda A, b: torch.linalg.solve(A @ A.T + torch.eye(3), b)",
        {"A": ((3, 3), "any"), "b": ((3,), "any")},
        {},
    ),
    (
        "more 14: lambda x: F.normalize(x, p=2, dim=1) @ F",
        "lambda x: F.normalize(x, p=2, dim=1) @ F.normalize(x, p=2, dim=1).T",
        {"x": ((3, 4), "any")},
        {},
    ),
    (
        "more 15: lambda x: F.gelu(x, approximate='tanh') ",
        "lambda x: F.gelu(x, approximate='tanh') + F.silu(x) + F.softplus(x)",
        {"x": ((6,), "any")},
        {},
    ),
    (
        "more 16: lambda x: F.log_softmax(x, dim=1).gather",
        "lambda x: F.log_softmax(x, dim=1).gather(1, torch.tensor([[1],[0],[2]])).mean()",
        {"x": ((3, 4), "any")},
        {},
    ),
    (
        "more 17: lambda x: x.sum(dim=(0, 2)) / x.shape[1]",
        "lambda x: x.sum(dim=(0, 2)) / x.shape[1]",
        {"x": ((2, 3, 4), "any")},
        {},
    ),
    (
        "more 18: lambda x: x.mean(dim=[1, 2], keepdim=Tru",
        "lambda x: x.mean(dim=[1, 2], keepdim=True)",
        {"x": ((2, 3, 4), "any")},
        {},
    ),
    (
        "more 19: lambda x: x.std(dim=0, unbiased=True) + ",
        "lambda x: x.std(dim=0, unbiased=True) + x.var(0, correction=0)",
        {"x": ((4, 3), "any")},
        {},
    ),
    ("more 20: lambda x: torch.logsumexp(x, 0)", "lambda x: torch.logsumexp(x, 0)", {"x": ((4, 3), "any")}, {}),
    (
        "more 21: lambda x: torch.einsum('ij,ij->i', x, x)",
        "lambda x: torch.einsum('ij,ij->i', x, x)",
        {"x": ((3, 4), "any")},
        {},
    ),
    (
        "more 22: lambda x, y: torch.dot(x, y) + torch.inn",
        "lambda x, y: torch.dot(x, y) + torch.inner(x, y)",
        {"x": ((4,), "any"), "y": ((4,), "any")},
        {},
    ),
    (
        "more 23: lambda x, y: torch.outer(x, y).trace()",
        "lambda x, y: torch.outer(x, y).trace()",
        {"x": ((3,), "any"), "y": ((3,), "any")},
        {},
    ),
    (
        "more 24: lambda x: x.reshape(2, 2, 3).permute(2, ",
        "lambda x: x.reshape(2, 2, 3).permute(2, 0, 1).flatten()",
        {"x": ((12,), "any")},
        {},
    ),
    ("more 25: lambda x: x.view(-1, 2).sum(1)", "lambda x: x.view(-1, 2).sum(1)", {"x": ((3, 4), "any")}, {}),
    (
        "more 26: lambda x: x.squeeze(0).unsqueeze(-1).exp",
        "lambda x: x.squeeze(0).unsqueeze(-1).expand(-1, 3)",
        {"x": ((1, 4), "any")},
        {},
    ),
    (
        "more 27: lambda x: torch.cat([x, x ** 2], dim=0)",
        "lambda x: torch.cat([x, x ** 2], dim=0)",
        {"x": ((3,), "any")},
        {},
    ),
    (
        "more 28: lambda x: x[1:-1] - 2 * x[:-2] + x[2:]",
        "lambda x: x[1:-1] - 2 * x[:-2] + x[2:]",
        {"x": ((6,), "any")},
        {},
    ),
    ("more 29: lambda x: x[::2] * x[1::2]", "lambda x: x[::2] * x[1::2]", {"x": ((6,), "any")}, {}),
    (
        "more 30: lambda x: x[..., 0] ** 2 + x[..., 1] ** ",
        "lambda x: x[..., 0] ** 2 + x[..., 1] ** 2",
        {"x": ((3, 2), "any")},
        {},
    ),
    (
        "more 31: lambda q, p: 0.5 * (p ** 2).sum() + (1 -",
        "lambda q, p: 0.5 * (p ** 2).sum() + (1 - torch.cos(q)).sum()",
        {"q": ((3,), "any"), "p": ((3,), "any")},
        {},
    ),
    (
        "more 32: def hamiltonian(q: torch.Tensor, p: torc",
        "\ndef hamiltonian(q: torch.Tensor, p: torch.Tensor, m: float = 1.0, k: float = 2.0) -> torch.Tensor:\n    T = (p ** 2).sum() / (2 * m)\n    V = 0.5 * k * (q ** 2).sum()\n    return T + V\n",
        {"q": ((3,), "any"), "p": ((3,), "any")},
        {},
    ),
    (
        "more 33: def kepler(r):",
        "\ndef kepler(r):\n    dist = torch.linalg.norm(r)\n    return -1.0 / dist\n",
        {"r": ((3,), "any")},
        {},
    ),
    (
        "more 34: def lennard_jones(pos, eps=1.0, sigma=1.",
        "\ndef lennard_jones(pos, eps=1.0, sigma=1.0):\n    n = pos.shape[0]\n    d = pos.unsqueeze(0) - pos.unsqueeze(1)\n    r2 = (d ** 2).sum(-1) + torch.eye(n)\n    inv6 = (sigma ** 2 / r2) ** 3\n    e = 4 * eps * (inv6 ** 2 - inv6)\n    return torch.triu(e, diagonal=1).sum()\n",
        {"pos": ((4, 3), "any")},
        {},
    ),
    (
        "more 35: def rnn(x, h, Wx, Wh, b):",
        "\ndef rnn(x, h, Wx, Wh, b):\n    h = torch.tanh(x[0] @ Wx + h @ Wh + b)\n    h = torch.tanh(x[1] @ Wx + h @ Wh + b)\n    h = torch.tanh(x[2] @ Wx + h @ Wh + b)\n    return h\n",
        {"x": ((3, 2), "any"), "h": ((4,), "any"), "Wx": ((2, 4), "any"), "Wh": ((4, 4), "any"), "b": ((4,), "any")},
        {},
    ),
    (
        "more 36: def conv1d_by_hand(x, w):",
        "\ndef conv1d_by_hand(x, w):\n    return x[:-2] * w[0] + x[1:-1] * w[1] + x[2:] * w[2]\n",
        {"x": ((8,), "any"), "w": ((3,), "any")},
        {},
    ),
    (
        "more 37: def gaussian_kernel(x, y, lengthscale=1.",
        "\ndef gaussian_kernel(x, y, lengthscale=1.0):\n    d2 = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)\n    return torch.exp(-0.5 * d2 / lengthscale ** 2)\n",
        {"x": ((3, 2), "any"), "y": ((4, 2), "any")},
        {},
    ),
    (
        "more 38: def gp_nll(K_raw, y):",
        "\ndef gp_nll(K_raw, y):\n    K = K_raw @ K_raw.T + 0.1 * torch.eye(K_raw.shape[0])\n    L = torch.linalg.cholesky(K)\n    alpha = torch.cholesky_solve(y.unsqueeze(-1), L)\n    return 0.5 * (y.unsqueeze(-1) * alpha).sum() + torch.log(torch.diagonal(L)).sum()\n",
        {"K_raw": ((4, 4), "any"), "y": ((4,), "any")},
        {},
    ),
    (
        "more 39: def softmax_by_hand(x):",
        "\ndef softmax_by_hand(x):\n    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)\n    return e / e.sum(dim=-1, keepdim=True)\n",
        {"x": ((3, 4), "any")},
        {},
    ),
    (
        "more 40: def logsumexp_stable(x):",
        "\ndef logsumexp_stable(x):\n    m, _ = torch.max(x, dim=1, keepdim=True)\n    return m + torch.log(torch.sum(torch.exp(x - m), dim=1, keepdim=True))\n",
        {"x": ((3, 4), "any")},
        {},
    ),
    (
        "more 41: def entropy(logits):",
        "\ndef entropy(logits):\n    p = F.softmax(logits, dim=-1)\n    return -(p * torch.log(p + 1e-12)).sum(-1).mean()\n",
        {"logits": ((3, 5), "any")},
        {},
    ),
    (
        "more 42: def label_smoothing_ce(logits, target, e",
        "\ndef label_smoothing_ce(logits, target, eps: float = 0.1):\n    n = logits.size(-1)\n    logp = F.log_softmax(logits, dim=-1)\n    nll = -logp.gather(dim=-1, index=target.unsqueeze(1)).squeeze(1)\n    smooth = -logp.mean(dim=-1)\n    return ((1 - eps) * nll + eps * smooth).mean()\n",
        {"logits": ((4, 5), "any")},
        {"target": LABELS},
    ),
    (
        "more 43: def mixture_density(x, logits, mu, log_s",
        "\ndef mixture_density(x, logits, mu, log_sigma):\n    log_pi = F.log_softmax(logits, dim=-1)\n    z = (x.unsqueeze(-1) - mu) / torch.exp(log_sigma)\n    log_prob = -0.5 * z ** 2 - log_sigma - 0.5 * math.log(2 * math.pi)\n    return -torch.logsumexp(log_pi + log_prob, dim=-1).mean()\n",
        {"x": ((4,), "any"), "logits": ((4, 3), "any"), "mu": ((4, 3), "any"), "log_sigma": ((4, 3), "any")},
        {},
    ),
    (
        "more 44: def attention_with_mask(q, k, v, mask):",
        "\ndef attention_with_mask(q, k, v, mask):\n    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))\n    scores = scores.masked_fill(mask == 0, -1e9)\n    p_attn = F.softmax(scores, dim=-1)\n    return torch.matmul(p_attn, v), p_attn\n",
        {"q": ((2, 3, 4), "any"), "k": ((2, 3, 4), "any"), "v": ((2, 3, 4), "any")},
        {"mask": np.tril(np.ones((3, 3)))},
    ),
    (
        "more 46: def bce_manual(p, y):",
        "\ndef bce_manual(p, y):\n    p = torch.sigmoid(p)\n    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()\n",
        {"p": ((6,), "any")},
        {"y": (_R.random(6) > 0.5) * 1.0},
    ),
    (
        "more 47: def hinge(scores, y):",
        "\ndef hinge(scores, y):\n    margins = torch.clamp(1 - y * scores, min=0)\n    return margins.mean()\n",
        {"scores": ((6,), "any")},
        {"y": np.sign(_R.standard_normal(6))},
    ),
    (
        "more 48: def weight_decay_loss(w, lam=1e-2):",
        "\ndef weight_decay_loss(w, lam=1e-2):\n    return lam * torch.sum(w ** 2) + torch.norm(w, p=1)\n",
        {"w": ((5,), "any")},
        {},
    ),
    (
        "more 49: def moe(x, Wg, W1, W2):",
        "\ndef moe(x, Wg, W1, W2):\n    gates = F.softmax(x @ Wg, dim=-1)\n    e1 = x @ W1\n    e2 = x @ W2\n    return gates[:, 0:1] * e1 + gates[:, 1:2] * e2\n",
        {"x": ((3, 4), "any"), "Wg": ((4, 2), "any"), "W1": ((4, 4), "any"), "W2": ((4, 4), "any")},
        {},
    ),
    (
        "more 50: def glu_block(x, W):",
        "\ndef glu_block(x, W):\n    return F.glu(x @ W, dim=-1)\n",
        {"x": ((3, 4), "any"), "W": ((4, 6), "any")},
        {},
    ),
    (
        "more 51: def nerf_encoding(x, L: int = 3):",
        "\ndef nerf_encoding(x, L: int = 3):\n    freqs = 2.0 ** torch.arange(L)\n    xb = x[..., None] * freqs\n    return torch.cat([torch.sin(xb), torch.cos(xb)], dim=-1).flatten(-2)\n",
        {"x": ((4, 2), "any")},
        {},
    ),
    (
        "more 52: def huber_manual(x, delta=1.0):",
        "\ndef huber_manual(x, delta=1.0):\n    a = x.abs()\n    return torch.where(a <= delta, 0.5 * a ** 2, delta * (a - 0.5 * delta)).sum()\n",
        {"x": ((6,), "any")},
        {},
    ),
    (
        "more 53: def sinkhorn_step(C, eps=0.1):",
        "\ndef sinkhorn_step(C, eps=0.1):\n    K = torch.exp(-C / eps)\n    u = 1.0 / K.sum(1)\n    v = 1.0 / (K.T @ u)\n    return (u[:, None] * K * v[None, :]).sum()\n",
        {"C": ((3, 3), "any")},
        {},
    ),
]
