"""Weight decay as a regulariser of the loss, and training with noise on the weights.

The penalty is part of the loss, so backpropagation differentiates it with everything else:

    L2 (Tikhonov):  E + lambda/2 * sum W^2    gradient step: W := W + dW - eta lambda W
    L1:             E + lambda * sum |W|      gradient step: W := W + dW - eta lambda sign(W)

(the first is the lectures' update, deck 000). By default only the weights are penalised:
the weight matrices and kernels of every layer (Dense, the convolutions, the recurrent and
attention layers, embeddings; ``Module.own_weights``), not the biases and not the scale and
shift of a normalisation; ``exclude_linear_output=True`` also spares the weights of a linear
output layer, as deck 000 advises for regression outputs.

How it relates to glassnet's other decays:
- ``optimizer weight_decay`` (torch's convention) adds weight_decay * w to the gradient of
  every parameter the optimizer holds, biases included; for plain SGD that equals an L2
  penalty with lambda = weight_decay on all parameters, but for adaptive methods (Adam) the
  added term is rescaled like the gradient.
- ``AdamW`` decays decoupled from the gradient: w := w - lr * weight_decay * w.
- scikit-learn's ``alpha`` adds alpha / (2 n) * ||W||^2 to the mean loss over n samples, i.e.
  lambda = alpha / n per sample-averaged loss, weights only.
Reference: Krogh & Hertz, "A simple weight decay can improve generalization", NIPS 1991;
Goodfellow, Bengio & Courville, Deep Learning (2016), 7.1.
"""

import copy
import math

from .. import ops
from ..backend import as_rng
from ..nn import Dense
from ..nn import loss as losses
from .callbacks import Callback
from .checks import is_real

__all__ = ["penalized_weights", "WeightPenalty", "WeightNoise"]


def penalized_weights(model, include_biases=False, exclude_linear_output=False):
    """The Parameters a weight penalty acts on: every layer's weights (``Module.own_weights``:
    the kernels of the convolutions, the weight matrices of Dense, the recurrent and attention
    layers, embedding tables; not a normalisation's gamma and beta), then, if asked, their
    biases (``own_biases``). Each once, in the order of ``named_modules``, a tied weight too.
    ``exclude_linear_output`` leaves out the last Dense layer when it has no activation."""
    spared = None
    if exclude_linear_output:
        dense = [m for _, m in model.named_modules() if isinstance(m, Dense)]
        if dense and dense[-1].activation is None:
            spared = dense[-1]
    layers = [m for _, m in model.named_modules() if m is not spared]
    chosen = [w for layer in layers for w in layer.own_weights()]
    if include_biases:
        chosen += [b for layer in layers for b in layer.own_biases()]
    once = {}  # by identity: a weight two layers share is penalised once
    for p in chosen:
        once.setdefault(id(p), p)
    return list(once.values())


class WeightPenalty:
    """A loss plus an L2 and/or L1 penalty on the model's weights: use it as ``fit``'s loss.

        fit(model, X, y, loss=WeightPenalty("mse", model, l2=1e-3), ...)

    Args:
        loss: a loss name or callable loss(output, target). model: whose weights are penalised.
        l2: lambda of lambda/2 * sum W^2.  l1: lambda of lambda * sum |W|.
        include_biases: penalise the biases too (default False).
        exclude_linear_output: spare the weights of a linear output layer (default False).
    """

    def __init__(self, loss, model, l2=0.0, l1=0.0, include_biases=False,
                 exclude_linear_output=False):  # fmt: skip
        for name, value in (("l2", l2), ("l1", l1)):
            if not (is_real(value) and 0 <= value < math.inf):
                raise ValueError(f"WeightPenalty: expected {name} >= 0, got {value!r}")
        if not callable(getattr(model, "named_modules", None)):
            raise TypeError(f"WeightPenalty: expected the model whose weights are penalised (a "
                            f"Module) as the second argument, got {model!r}")  # fmt: skip
        self.base, self.l2, self.l1 = losses.get(loss), float(l2), float(l1)
        self.name = getattr(self.base, "name", None)  # fit treats targets as for the base loss
        self.reduction = getattr(self.base, "reduction", "mean")
        self.weights = penalized_weights(model, include_biases, exclude_linear_output)

    def penalty(self):
        """lambda2/2 * sum W^2 + lambda1 * sum |W| over the chosen weights, as a Tensor."""
        total = None
        for W in self.weights:
            term = None
            if self.l2:
                term = (0.5 * self.l2) * ops.sum(W * W)
            if self.l1:
                l1_term = self.l1 * ops.sum(ops.abs(W))
                term = l1_term if term is None else term + l1_term
            if term is not None:
                total = term if total is None else total + term
        return total

    @property
    def threshold(self):
        """The base loss's decision threshold for the metrics."""
        return getattr(self.base, "threshold", 0.5)

    def bind(self, model):
        """This penalty with its base loss resolved for ``model`` (see ``nn.loss``)."""
        bound = copy.copy(self)
        bound.base = losses.bind(self.base, model)
        return bound

    def __call__(self, output, target):
        value = self.base(output, target)
        penalty = self.penalty()
        return value if penalty is None else value + penalty

    def __repr__(self):
        return f"WeightPenalty({self.base!r}, l2={self.l2}, l1={self.l1})"


class WeightNoise(Callback):
    """Training with noise on the weights: for every step, Gaussian noise N(0, std^2) is added
    to the weights before the forward pass and taken away after the update, so the gradient is
    taken at noisy weights and applied to the clean ones:  w := w + dw(w + noise).

    Args:
        std: standard deviation of the noise. seed: int or Generator.
        include_biases: perturb the biases too (default False).
    Reference: Murray & Edwards, "Enhanced MLP performance and fault tolerance resulting from
    synaptic weight noise during training", IEEE Trans. Neural Networks 5(5), 1994.
    """

    state_attributes = ("rng",)

    def __init__(self, std, seed=None, include_biases=False):
        if not (is_real(std) and 0 <= std < math.inf):
            raise ValueError(f"WeightNoise: expected std >= 0, got {std!r}")
        self.std, self.rng, self.include_biases = float(std), as_rng(seed), include_biases

    def on_train_begin(self, logs=None):
        self.weights = penalized_weights(self.state.model, self.include_biases)

    def on_batch_begin(self, batch, logs=None):
        self.noise = [self.rng.normal(0.0, self.std, W.shape).astype(W.dtype) for W in self.weights]
        for W, noise in zip(self.weights, self.noise):
            W.data += noise

    def on_batch_end(self, batch, logs=None):
        for W, noise in zip(self.weights, self.noise):
            W.data -= noise
