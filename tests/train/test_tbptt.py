"""train.truncated_bptt: no gradient crosses a chunk border, the carried state is that of one
long pass, training works (with clipping, with an LSTM's (h, c)), bad arguments are named."""

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, optim, train

MSE = nn.loss.get("mse")


class Recording(optim.SGD):
    """An SGD that records every step's gradients and changes nothing."""

    def __init__(self, params):
        super().__init__(params, lr=0.1)
        self.steps = []

    def step(self, closure=None):
        self.steps.append([p.grad.copy() for p in self.params])


class Head(nn.Module):
    """An RNN with a per-step Dense head: model(x, h) -> (y, h_n)."""

    def __init__(self, hidden=8, seed=0):
        super().__init__()
        self.rnn = nn.RNN(1, hidden, dtype=np.float64, seed=seed)
        self.head = nn.TimeDistributed(nn.Dense(hidden, 1, dtype=np.float64, seed=seed))

    def forward(self, x, state=None):
        out, h_n = self.rnn(x, state)
        return self.head(out), h_n


def _grads(rnn, x, y, start_state):
    for p in rnn.parameters():
        p.grad = None
    out, _ = rnn(gn.tensor(x), start_state)
    MSE(out, y).backward()
    return [p.grad.copy() for p in rnn.parameters()]


def test_no_gradient_crosses_a_chunk_border(rng):
    rnn = nn.RNN(2, 3, dtype=np.float64, seed=0)
    X, y = rng.normal(size=(6, 2, 2)), rng.normal(size=(6, 2, 3))
    opt = Recording(rnn.parameters())
    train.truncated_bptt(rnn, X, y, loss="mse", optimizer=opt, k=3)
    assert len(opt.steps) == 2
    _, h1 = rnn(gn.tensor(X[:3]))
    detached = _grads(rnn, X[3:], y[3:], h1.detach())  # the border: h1 a constant
    through = _grads(rnn, X[3:], y[3:], rnn(gn.tensor(X[:3]))[1])  # full BPTT into chunk 1
    for got, cut, full in zip(opt.steps[1], detached, through):
        np.testing.assert_allclose(got, cut, rtol=1e-12, atol=1e-15)
    assert not all(np.allclose(c, f) for c, f in zip(detached, through))  # the cut matters
    # and the input of the first chunk gets nothing from a loss on the second
    x1 = gn.tensor(X[:3], requires_grad=True)
    _, h = rnn(x1)
    out, _ = rnn(gn.tensor(X[3:]), train.detach_state(h))
    out.sum().backward()
    assert x1.grad is None or not x1.grad.any()


@pytest.mark.parametrize("k", [1, 3, 7, 10])
def test_carried_state_is_that_of_one_long_pass(rng, k):
    rnn = nn.RNN(2, 3, num_layers=2, dtype=np.float64, seed=1)
    X, y = rng.normal(size=(7, 2, 2)), rng.normal(size=(7, 2, 3))
    opt = Recording(rnn.parameters())
    chunk_losses, state = train.truncated_bptt(rnn, X, y, loss="mse", optimizer=opt, k=k)
    assert len(chunk_losses) == math.ceil(7 / k)
    _, h_n = rnn(gn.tensor(X))
    np.testing.assert_allclose(state.data, h_n.data, rtol=1e-12)
    assert not state.requires_grad


def test_batch_first_and_a_continued_stream(rng):
    rnn = nn.RNN(2, 3, batch_first=True, dtype=np.float64, seed=2)
    X, y = rng.normal(size=(2, 8, 2)), rng.normal(size=(2, 8, 3))
    opt = Recording(rnn.parameters())
    _, state = train.truncated_bptt(rnn, X[:, :5], y[:, :5], loss="mse", optimizer=opt, k=2)
    _, state = train.truncated_bptt(rnn, X[:, 5:], y[:, 5:], loss="mse", optimizer=opt, k=2,
                                    state=state)  # fmt: skip
    np.testing.assert_allclose(state.data, rnn(gn.tensor(X))[1].data, rtol=1e-12)


def test_lstm_state_pair_is_carried_and_detached(rng):
    lstm = nn.LSTM(2, 3, dtype=np.float64, seed=3)
    X, y = rng.normal(size=(7, 2, 2)), rng.normal(size=(7, 2, 3))
    opt = Recording(lstm.parameters())
    _, state = train.truncated_bptt(lstm, X, y, loss="mse", optimizer=opt, k=3)
    assert isinstance(state, tuple) and len(state) == 2
    _, (h_n, c_n) = lstm(gn.tensor(X))
    np.testing.assert_allclose(state[0].data, h_n.data, rtol=1e-12)
    np.testing.assert_allclose(state[1].data, c_n.data, rtol=1e-12)
    assert not any(s.requires_grad for s in state)
    # chunk 2's gradient is that of a manual detach of both h and c
    _, (h1, c1) = lstm(gn.tensor(X[:3]))
    for p in lstm.parameters():
        p.grad = None
    out, _ = lstm(gn.tensor(X[3:6]), (h1.detach(), c1.detach()))
    MSE(out, y[3:6]).backward()
    for got, p in zip(opt.steps[1], lstm.parameters()):
        np.testing.assert_allclose(got, p.grad, rtol=1e-12, atol=1e-15)


def test_training_reduces_the_loss_of_a_delay_task(rng):
    model = Head(seed=0)
    X = rng.normal(size=(40, 4, 1))
    y = np.concatenate([np.zeros((1, 4, 1)), X[:-1]])  # y_t = x_{t-1}: needs the carried state
    opt = optim.Adam(model.parameters(), lr=0.03)
    opt.clip_norm = 1.0
    means = [np.mean(train.truncated_bptt(model, X, y, loss="mse", optimizer=opt, k=10)[0])
             for _ in range(40)]  # fmt: skip
    assert means[-1] < 0.1 * means[0], (means[0], means[-1])


def test_clipping_goes_through_the_optimizer(rng):
    rnn = nn.RNN(2, 3, dtype=np.float64, seed=4)
    X, y = rng.normal(size=(5, 2, 2)), 10 * rng.normal(size=(5, 2, 3))
    before = [p.data.copy() for p in rnn.parameters()]
    opt = optim.SGD(rnn.parameters(), lr=1.0)
    opt.clip_norm = 1e-3
    train.truncated_bptt(rnn, X, y, loss="mse", optimizer=opt, k=5)  # one chunk, one step
    change = math.sqrt(sum(((p.data - b) ** 2).sum() for p, b in zip(rnn.parameters(), before)))
    assert 0 < change <= 1e-3 * (1 + 1e-6)


def test_bad_arguments_are_named(rng):
    rnn = nn.RNN(2, 3, dtype=np.float64, seed=0)
    X, y = rng.normal(size=(6, 2, 2)), rng.normal(size=(6, 2, 3))
    opt = optim.SGD(rnn.parameters(), lr=0.1)

    def run(model=rnn, X=X, y=y, **kw):
        kw = {"loss": "mse", "optimizer": opt, "k": 3} | kw
        return train.truncated_bptt(model, X, y, **kw)

    with pytest.raises(ValueError, match="expected k to be a positive int, got 0"):
        run(k=0)
    with pytest.raises(ValueError, match="expected k to be a positive int, got 2.5"):
        run(k=2.5)
    with pytest.raises(TypeError, match="expected optimizer to be a glassnet Optimizer"):
        run(optimizer="adam")
    with pytest.raises(ValueError, match="LBFGS needs a closure"):
        run(optimizer=optim.LBFGS(rnn.parameters()))
    with pytest.raises(ValueError,
                       match=r"expected y to match X .* X \(6, 2, 2\) and y \(5, 2, 3\)"):
        run(y=y[:5])
    with pytest.raises(TypeError, match=r"expected model\(x_chunk, state\) to return \(output, "):
        run(model=lambda x, s: x)
    with pytest.raises(TypeError, match="expected the state as None, a Tensor or a tuple"):
        train.detach_state(np.zeros(3))
