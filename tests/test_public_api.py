"""The public surface: the names users' scripts rely on exist, with the documented signatures,
and every public name has a docstring."""

import builtins
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

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
            documentable = inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismodule(obj)
            if documentable and not inspect.getdoc(obj):
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"public names without a docstring: {missing}"


def _parameters(fn):
    return [
        (p.name, "<required>" if p.default is inspect.Parameter.empty else p.default, p.kind.name)
        for p in inspect.signature(fn).parameters.values()
    ]


def _names(fn):
    return [name for name, *_ in _parameters(fn)]


def test_signatures_that_users_rely_on():
    assert _parameters(glassnet.tensor)[:3] == [
        ("array", "<required>", "POSITIONAL_OR_KEYWORD"),
        ("requires_grad", False, "POSITIONAL_OR_KEYWORD"),
        ("dtype", None, "POSITIONAL_OR_KEYWORD")]  # fmt: skip
    gradcheck = dict((n, d) for n, d, _ in _parameters(glassnet.autodiff.gradcheck))
    assert (gradcheck["eps"], gradcheck["atol"], gradcheck["rtol"]) == (1e-6, 1e-5, 1e-3)
    assert _names(glassnet.ops.softmax_cross_entropy) == ["logits", "labels", "reduction",
                                                          "ignore_index"]  # fmt: skip
    assert _names(glassnet.ops.sigmoid_binary_cross_entropy) == ["logits", "targets", "reduction"]
    dense = dict((n, (d, k)) for n, d, k in _parameters(glassnet.nn.Dense))
    assert dense["activation"] == (None, "POSITIONAL_OR_KEYWORD")
    assert dense["bias"] == (True, "KEYWORD_ONLY")
    assert dense["init"] == ("glorot_uniform", "KEYWORD_ONLY")
    assert dense["seed"] == (None, "KEYWORD_ONLY")
    dropout = dict((n, (d, k)) for n, d, k in _parameters(glassnet.nn.Dropout))
    assert dropout["seed"] == (None, "KEYWORD_ONLY")
    assert [(n, d) for n, d, _ in _parameters(glassnet.optim.SGD)][1:] == [
        ("lr", 0.01), ("momentum", 0.0), ("nesterov", False), ("weight_decay", 0.0),
        ("flatten", True)]  # fmt: skip
    assert [(n, d) for n, d, _ in _parameters(glassnet.optim.Adam)][1:] == [
        ("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8), ("weight_decay", 0.0),
        ("flatten", True)]  # fmt: skip
    fit = dict((n, d) for n, d, _ in _parameters(glassnet.fit))
    assert fit == {"model": "<required>", "X": "<required>", "y": "<required>",
                   "loss": "<required>", "optimizer": "adam", "lr": None, "epochs": 10,
                   "batch_size": 32, "shuffle": True, "validation_data": None,
                   "validation_split": 0.0, "callbacks": (), "metrics": (), "verbose": 1,
                   "seed": None, "augment": None, "resume_from": None}  # fmt: skip
    trainer = [p for p in _parameters(glassnet.train.Trainer) if not p[0].startswith("_")]
    assert trainer == [("model", "<required>", "POSITIONAL_OR_KEYWORD"),
                       ("loss", "<required>", "POSITIONAL_OR_KEYWORD"),
                       ("optimizer", "adam", "POSITIONAL_OR_KEYWORD"), ("lr", None, "KEYWORD_ONLY"),
                       ("metrics", (), "KEYWORD_ONLY"), ("callbacks", (), "KEYWORD_ONLY"),
                       ("augment", None, "KEYWORD_ONLY"),
                       ("seed", None, "KEYWORD_ONLY")]  # fmt: skip
    assert _names(glassnet.train.Trainer.run_epoch)[1:5] == ["X", "y", "batch_size", "shuffle"]
    assert dict((n, d) for n, d, _ in _parameters(glassnet.train.ModelCheckpoint)) == {
        "path": "<required>", "every": 1, "monitor": "val_loss", "save_best_only": False,
        "mode": "auto"}  # fmt: skip
    evaluate = dict((n, d) for n, d, _ in _parameters(glassnet.evaluate))
    assert evaluate["metrics"] == () and evaluate["batch_size"] == 1024
    assert dict((n, d) for n, d, _ in _parameters(glassnet.nn.Module.predict))["batch_size"] == 1024
    assert [n for n, *_ in _parameters(glassnet.save)] == ["model", "path", "history", "info"]
    two_moons = dict((n, d) for n, d, _ in _parameters(glassnet.data.two_moons))
    assert two_moons == {"n": 1000, "noise": 0.1, "seed": None}
    assert dict((n, d) for n, d, _ in _parameters(glassnet.data.two_spirals)) == {"seed": None}
    assert dict((n, d) for n, d, _ in _parameters(glassnet.data.load_mnist)) == {
        "path": None, "flatten": True}  # fmt: skip
    assert glassnet.nn.Softmax().axis == -1


# ---- the names README.md and docs/*.md use are the real ones ------------------------------------

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SUBPACKAGES = sorted(
    m.name for m in pkgutil.iter_modules(glassnet.__path__) if not m.name.startswith("_")
)
# A dotted name in code: gn.x.y, glassnet.x.y, or a subpackage as the tour imports it (nn.Dense).
DOTTED = re.compile(rf"(?<![\w.])(?:gn|glassnet|{'|'.join(SUBPACKAGES)})(?:\.[A-Za-z_]\w*)+")
CAMEL_CASE = re.compile(r"(?<![\w.])[A-Z][a-z]+[A-Za-z0-9]*\b")
# scikit-learn's names that the README and docs mention
FOREIGN = {"GridSearchCV", "Pipeline", "StandardScaler", "MLPClassifier", "BaseEstimator"}


def _code(path):
    """The inline code spans and fenced blocks of a Markdown file."""
    text = path.read_text()
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M))
    return blocks + inline


def _after_import_glassnet_alone(names):
    """Resolve ``glassnet.a.b`` names by attribute access in a fresh interpreter that ran only
    ``import glassnet``; returns (names that failed, optional packages that got imported)."""
    code = (
        "import json, sys, glassnet\n"
        "missing = []\n"
        "for name in sys.argv[1:]:\n"
        "    obj = glassnet\n"
        "    try:\n"
        "        for part in name.split('.')[1:]:\n"
        "            obj = getattr(obj, part)\n"
        "    except AttributeError as e:\n"
        "        missing.append(f'{name}: {e}')\n"
        "optional = {'torch', 'sklearn', 'scipy', 'matplotlib'}\n"
        "optional &= {m.split('.')[0] for m in sys.modules}\n"
        "print(json.dumps([missing, sorted(optional)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return json.loads(out)


def test_every_subpackage_works_after_import_glassnet_alone():
    """``import glassnet`` then ``glassnet.viz.learning_curves``, ... (and still no matplotlib)."""
    modules = {sub: importlib.import_module(f"glassnet.{sub}") for sub in SUBPACKAGES}
    names = [f"glassnet.{sub}.{module.__all__[0]}" for sub, module in modules.items()
             if hasattr(module, "__all__")]  # fmt: skip
    assert {name.split(".")[1] for name in names} >= {"viz", "cli", "data", "io", "models", "train"}
    missing, optional = _after_import_glassnet_alone(names)
    assert not missing, missing
    assert not optional, f"import glassnet imported {optional}"


def test_every_dotted_name_in_the_docs_resolves():
    """``gn.train.WeightNoise``, not ``nn.WeightNoise``: each dotted name the README and docs
    write in code resolves, from ``import glassnet`` alone."""
    found = {}
    for path in DOCUMENTS:
        for span in _code(path):
            for name in DOTTED.findall(span):
                full = "glassnet." + name.split(".", 1)[1] if name.startswith("gn.") else name
                full = full if full.startswith("glassnet.") else f"glassnet.{full}"
                found.setdefault(full, path.name)
    assert "glassnet.train.WeightNoise" in found and "glassnet.viz" in found  # the extraction works
    missing, _ = _after_import_glassnet_alone(sorted(found))
    assert not missing, [f"{found[m.split(':')[0]]}: {m}" for m in missing]


def _defined_names():
    """Every name defined at module level anywhere in glassnet (private modules included)."""
    names = set()
    for info in pkgutil.walk_packages(glassnet.__path__, "glassnet."):
        names.update(vars(importlib.import_module(info.name)))
    return names


def test_every_class_name_in_the_docs_exists():
    """A CamelCase name in code (``Perceptron``, ``MaxEpochs``) is a glassnet class, a builtin,
    or one of scikit-learn's that the README names."""
    known = _defined_names() | set(dir(builtins)) | FOREIGN
    unknown = sorted({f"{path.name}: {name}" for path in DOCUMENTS for span in _code(path)
                      for name in CAMEL_CASE.findall(span) if name not in known})  # fmt: skip
    assert not unknown, unknown
