"""The lectures' initialisation experiment (examples/init_experiment.py): collapse and cure."""

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "init_experiment.py"


def load_example():
    spec = importlib.util.spec_from_file_location("init_experiment", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_uniform_weights_collapse_and_xavier_and_he_cure_it(capsys):
    results = load_example().main()
    tiny, xavier_tanh, xavier_relu, he_relu = (results[name] for name in load_example().SETUPS)
    # uniform(-0.01, 0.01): each tanh layer scales the std by ~ sqrt(500 * 0.01^2 / 3) ~ 0.13
    assert tiny[-1] < 1e-6 and all(b < 0.2 * a for a, b in zip(tiny, tiny[1:]))
    assert min(xavier_tanh) > 0.15  # Xavier keeps tanh activations of order one
    assert xavier_relu[-1] < 0.1 * xavier_relu[0]  # ReLU halves the variance each layer
    assert 0.5 < he_relu[-1] / he_relu[0] < 2.0  # He's factor 2 keeps the scale
    out = capsys.readouterr().out
    assert "layer" in out and len(out.splitlines()) >= 12
