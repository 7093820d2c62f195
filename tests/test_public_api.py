"""The public surface: the names users' scripts rely on exist, with the documented signatures,
and every public name has a docstring."""

import inspect

import glassnet
import glassnet.autodiff
import glassnet.data
import glassnet.io
import glassnet.models
import glassnet.nn
import glassnet.ops
import glassnet.optim
import glassnet.train

MODULES = [glassnet, glassnet.autodiff, glassnet.ops, glassnet.nn, glassnet.optim, glassnet.train,
           glassnet.io, glassnet.data, glassnet.models]  # fmt: skip


def test_every_public_name_has_a_docstring():
    missing = []
    for module in MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismodule(obj)) and not inspect.getdoc(obj):
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"public names without a docstring: {missing}"


def _parameters(fn):
    return [
        (p.name, p.default if p.default is not inspect.Parameter.empty else "<required>", p.kind.name)
        for p in inspect.signature(fn).parameters.values()
    ]


def test_signatures_that_users_rely_on():
    assert _parameters(glassnet.tensor)[:3] == [
        ("array", "<required>", "POSITIONAL_OR_KEYWORD"), ("requires_grad", False, "POSITIONAL_OR_KEYWORD"),
        ("dtype", None, "POSITIONAL_OR_KEYWORD")]  # fmt: skip
    gradcheck = dict((n, d) for n, d, _ in _parameters(glassnet.autodiff.gradcheck))
    assert (gradcheck["eps"], gradcheck["atol"], gradcheck["rtol"]) == (1e-6, 1e-5, 1e-3)
    assert [n for n, *_ in _parameters(glassnet.ops.softmax_cross_entropy)] == ["logits", "labels", "reduction"]
    assert [n for n, *_ in _parameters(glassnet.ops.sigmoid_binary_cross_entropy)] == ["logits", "targets", "reduction"]
    dense = dict((n, (d, k)) for n, d, k in _parameters(glassnet.nn.Dense))
    assert dense["activation"] == (None, "POSITIONAL_OR_KEYWORD")
    assert dense["bias"] == (True, "KEYWORD_ONLY") and dense["init"] == ("glorot_uniform", "KEYWORD_ONLY")
    assert dense["seed"] == (None, "KEYWORD_ONLY")
    assert dict((n, (d, k)) for n, d, k in _parameters(glassnet.nn.Dropout))["seed"] == (None, "KEYWORD_ONLY")
    assert [(n, d) for n, d, _ in _parameters(glassnet.optim.SGD)][1:] == [
        ("lr", 0.01), ("momentum", 0.0), ("nesterov", False), ("weight_decay", 0.0),
        ("flatten", True)]  # fmt: skip
    assert [(n, d) for n, d, _ in _parameters(glassnet.optim.Adam)][1:] == [
        ("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8), ("weight_decay", 0.0),
        ("flatten", True)]  # fmt: skip
    fit = dict((n, d) for n, d, _ in _parameters(glassnet.fit))
    assert fit == {"model": "<required>", "X": "<required>", "y": "<required>", "loss": "<required>",
                   "optimizer": "adam", "lr": None, "epochs": 10, "batch_size": 32, "shuffle": True,
                   "validation_data": None, "validation_split": 0.0, "callbacks": (), "metrics": (),
                   "verbose": 1, "seed": None, "augment": None}  # fmt: skip
    evaluate = dict((n, d) for n, d, _ in _parameters(glassnet.evaluate))
    assert evaluate["metrics"] == () and evaluate["batch_size"] == 1024
    assert dict((n, d) for n, d, _ in _parameters(glassnet.nn.Module.predict))["batch_size"] == 1024
    assert [n for n, *_ in _parameters(glassnet.save)] == ["model", "path", "history"]
    assert dict((n, d) for n, d, _ in _parameters(glassnet.data.two_moons)) == {"n": 1000, "noise": 0.1, "seed": None}
    assert dict((n, d) for n, d, _ in _parameters(glassnet.data.two_spirals)) == {"seed": None}
    assert dict((n, d) for n, d, _ in _parameters(glassnet.data.load_mnist)) == {"path": None}
    assert glassnet.nn.Softmax().axis == -1
