def mlp(x, W, b):
    """A one-layer perceptron with a squared-activation readout."""
    h = tanh(W @ x + b)
    return (h**2).sum()
