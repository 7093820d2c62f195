"""The lectures' initialisation experiment (deck 004, after CS231n): why initial weights matter.

Ten fully connected layers of 500 units get random input (1,000 samples from N(0, 1)). We
print the standard deviation of every layer's activations, read by glassnet's diagnostics
recorder, for four set-ups:

1. tanh, weights from uniform(-0.01, 0.01): the activations shrink layer by layer towards 0
   (each layer multiplies their scale by about 500 * 0.01^2 / 3 ~ 0.13) and so will the
   gradients: the network cannot learn.
2. tanh, Xavier/Glorot weights (variance 2 / (fan_in + fan_out) = 1 / 500 here): the scale
   stays of order one through all ten layers; the cure (Glorot & Bengio 2010).
3. ReLU with Xavier weights: ReLU zeroes half of its inputs, so the variance halves per layer
   and the activations fade again.
4. ReLU with He weights (variance 2 / fan_in, He et al. 2015): the factor 2 undoes the
   halving; the scale stays constant.

Run:  python examples/init_experiment.py
"""

import numpy as np

import glassnet as gn
from glassnet import nn

SETUPS = {
    "tanh, uniform(-0.01, 0.01)": ("tanh", nn.init.Uniform(0.01)),
    "tanh, Xavier (glorot_normal)": ("tanh", "glorot_normal"),
    "relu, Xavier (glorot_normal)": ("relu", "glorot_normal"),
    "relu, He (he_normal)": ("relu", "he_normal"),
}


def layer_stds(activation, init, *, layers=10, units=500, samples=1000, seed=0):
    """Standard deviation of each layer's activations for one forward pass of random input."""
    rng = np.random.default_rng(seed)
    model = nn.Sequential(*[nn.Dense(units, units, activation, init=init, seed=rng) for _ in range(layers)])
    recorder = nn.Recorder(model)
    with gn.no_grad():
        model(gn.tensor(rng.standard_normal((samples, units)).astype(np.float32)))
    return [stats["std"][-1] for stats in recorder.layers.values()]


def main():
    results = {name: layer_stds(*setup) for name, setup in SETUPS.items()}
    print("std of the activations, layer by layer (10 layers of 500 units, N(0, 1) input)\n")
    print(f"{'layer':>5}  " + "  ".join(f"{name:>28}" for name in results))
    for i in range(10):
        print(f"{i + 1:>5}  " + "  ".join(f"{stds[i]:>28.3g}" for stds in results.values()))
    print("\nuniform(-0.01, 0.01) collapses the tanh activations to ~0 (and with them the deltas);")
    print("Xavier keeps tanh alive; ReLU needs He's factor 2 to keep its scale.")
    return results


if __name__ == "__main__":
    main()
