"""A plain NumPy MLP trained by hand: the floor glassnet.fit is measured against.

The network of the peer benchmark, 784-256-128-10 with ReLU hidden units and logits out,
written without any framework: forward, backward and Adam on preallocated float32 arrays.

    forward:   net_l = a_{l-1} @ W_l.T + b_l,   a_l = relu(net_l)   (the last layer: logits)
    loss:      E = mean_i( log(sum_k exp(z_ik)) - z_i,y_i )          z = logits - max(logits)
    backward:  delta_L = (softmax(z) - onehot(y)) / n                (the fused delta)
               grad_W_l = delta_l.T @ a_{l-1},   grad_b_l = sum_i delta_l
               delta_{l-1} = (delta_l @ W_l) * (net_{l-1} > 0)
    Adam:      m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2
               W = W - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

eps is added to sqrt(v_hat), as torch (and glassnet) do. The weights are (out, in), as in
torch and glassnet, and initialised like torch's nn.Linear (W, b ~ U(-1/sqrt(in), 1/sqrt(in))).
Each epoch shuffles with rng.permutation and gathers the batches with take, as glassnet.fit
does. Every array a step touches is allocated once, so a step is only BLAS calls and in-place
element-wise passes: this is as fast as NumPy allows.

    python benchmarks/numpy_mlp.py          (one epoch on the first 50,000 MNIST images)
"""

import argparse
import itertools
import math
import time
from pathlib import Path

import numpy as np

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"
ZERO, INF = np.float32(0), np.float32(np.inf)  # relu's clip bounds, in the arrays' dtype


class NumpyMLP:
    """ReLU MLP with softmax cross-entropy, trained by mini-batch Adam, all in place.

    Args:
        sizes: units per layer, input first, e.g. (784, 256, 128, 10).
        batch_size: samples per step (the last batch of an epoch may be smaller).
        lr, beta1, beta2, eps: Adam's hyperparameters (torch's defaults).
        seed: int or Generator for the initial weights and the shuffling.
    """

    def __init__(self, sizes, batch_size=128, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, seed=0):
        self.rng = np.random.default_rng(seed)
        self.batch_size, self.lr, self.eps = batch_size, lr, eps
        self.beta1, self.beta2 = beta1, beta2
        L = len(sizes) - 1
        W_shapes = [(n_out, n_in) for n_in, n_out in itertools.pairwise(sizes)]
        shapes = W_shapes + [(n,) for n in sizes[1:]]
        # all parameters in one flat array w (their gradients in g, Adam's moments in m and v), so
        # that an Adam step is a dozen ufunc calls over one array, not a dozen per parameter
        self.w, views = _flat(shapes)
        self.W, self.b = views[:L], views[L:]
        self.g, views = _flat(shapes)
        self.grad_W, self.grad_b = views[:L], views[L:]
        self.m, self.v, self.scratch = (np.zeros_like(self.w) for _ in range(3))
        for W, b in zip(self.W, self.b):
            r = 1 / math.sqrt(W.shape[1])
            W[...] = self.rng.uniform(-r, r, W.shape)
            b[...] = self.rng.uniform(-r, r, b.shape)
        self.t = 0
        # a[0]: the input batch; a[l]: the activation of layer l (logits last); delta[l]: its delta
        self.a = [np.empty((batch_size, n), np.float32) for n in sizes]
        self.delta = [np.empty((batch_size, n), np.float32) for n in sizes]
        self.y = np.zeros(batch_size, np.int64)
        self.rows = np.arange(batch_size)

    def forward_backward(self, n):
        """Loss of the batch in a[0][:n], y[:n]; leaves the gradients in grad_W, grad_b."""
        a, delta, L = [x[:n] for x in self.a], [d[:n] for d in self.delta], len(self.W)
        for l, (W, b) in enumerate(zip(self.W, self.b), start=1):
            np.matmul(a[l - 1], W.T, out=a[l])
            a[l] += b
            if l < L:  # relu as a clip with float32 bounds: NumPy vectorises it, 2x maximum
                np.clip(a[l], ZERO, INF, out=a[l])
        z, y, rows = a[L], self.y[:n], self.rows[:n]
        z -= z.max(axis=1, keepdims=True)
        z_y = z[rows, y]
        np.exp(z, out=z)
        total = z.sum(axis=1)
        loss = float(np.mean(np.log(total) - z_y))
        np.divide(z, total[:, None], out=delta[L])  # softmax(z)
        delta[L][rows, y] -= 1.0
        delta[L] *= 1.0 / n
        grad_W, grad_b = self.grad_W, self.grad_b
        for l in range(L, 0, -1):
            np.matmul(delta[l].T, a[l - 1], out=grad_W[l - 1])
            np.sum(delta[l], axis=0, out=grad_b[l - 1])
            if l > 1:  # the input needs no delta
                np.matmul(delta[l], self.W[l - 1], out=delta[l - 1])
                delta[l - 1] *= a[l - 1] > 0  # relu'(net) from the output: a > 0 iff net > 0
        return loss

    def adam_step(self):
        """One Adam update of all parameters at once, in place (torch's eps placement)."""
        self.t += 1
        beta1, beta2, t = self.beta1, self.beta2, self.t
        w, g, m, v, s = self.w, self.g, self.m, self.v, self.scratch
        m *= beta1
        np.multiply(g, 1.0 - beta1, out=s)
        m += s
        v *= beta2
        np.multiply(g, g, out=s)
        s *= 1.0 - beta2
        v += s
        # lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps), with sqrt(1 - beta2^t)
        # multiplied through so that one pass over the array is saved
        root_correction2 = math.sqrt(1.0 - beta2**t)
        np.sqrt(v, out=s)
        s += self.eps * root_correction2
        np.divide(m, s, out=s)
        s *= self.lr * root_correction2 / (1.0 - beta1**t)
        w -= s

    def epoch(self, X, y):
        """One shuffled pass over (X, y) (float32 rows, int64 labels); returns the mean loss."""
        order = self.rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), self.batch_size):
            index = order[start : start + self.batch_size]
            n = len(index)
            np.take(X, index, axis=0, out=self.a[0][:n])
            np.take(y, index, axis=0, out=self.y[:n])
            total += self.forward_backward(n) * n
            self.adam_step()
        return total / len(X)

    def predict(self, X):
        """Class of each row of X."""
        a = X
        for l, (W, b) in enumerate(zip(self.W, self.b), start=1):
            a = a @ W.T + b
            if l < len(self.W):
                np.clip(a, ZERO, INF, out=a)
        return a.argmax(axis=1)


def _flat(shapes):
    """(one float32 array, a list of views of it with the given shapes)."""
    sizes = [math.prod(shape) for shape in shapes]
    flat = np.zeros(sum(sizes), np.float32)
    ends = np.cumsum(sizes).tolist()
    return flat, [
        flat[end - size : end].reshape(shape) for size, end, shape in zip(sizes, ends, shapes)
    ]


def load(n=50000):
    """The first n training images as float32 rows in [0, 1], their int64 labels, and the test set."""
    with np.load(MNIST, allow_pickle=False) as f:
        X = (f["x_train"][:n].reshape(-1, 784) / 255.0).astype(np.float32)
        y = f["y_train"][:n].astype(np.int64)
        X_test = (f["x_test"].reshape(-1, 784) / 255.0).astype(np.float32)
        y_test = f["y_test"].astype(np.int64)
    return X, y, X_test, y_test


def main(argv=None):
    parser = argparse.ArgumentParser(description="plain NumPy 784-256-128-10 MLP on MNIST")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    X, y, X_test, y_test = load()
    mlp = NumpyMLP((784, 256, 128, 10), seed=args.seed)
    for epoch in range(args.epochs):
        start = time.perf_counter()
        loss = mlp.epoch(X, y)
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(mlp.predict(X_test) == y_test))
        print(
            f"epoch {epoch + 1}: loss {loss:.4f}, test accuracy {accuracy:.4f}  ({seconds:.2f} s)"
        )


if __name__ == "__main__":
    main()
