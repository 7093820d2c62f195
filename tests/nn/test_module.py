"""Module, Parameter and Sequential: traversal, modes, state dicts, hooks, predict, astype."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import Tensor
from glassnet.errors import ShapeError
from glassnet.nn import Dense, Dropout, Module, Parameter, Sequential


def _net(seed=0, dtype=np.float64):
    """A 3-4-2 tanh MLP with a dropout layer in between (seeds fixed per layer)."""
    return Sequential(
        Dense(3, 4, "tanh", seed=seed, dtype=dtype),
        Dropout(0.5, seed=seed),
        Dense(4, 2, seed=seed + 1, dtype=dtype),
    )


# -- traversal ---------------------------------------------------------------------------


def test_named_parameters_are_dotted_paths_in_assignment_order():
    net = _net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b"]
    params = net.parameters()
    assert [id(p) for p in params] == [id(net[0].W), id(net[0].b), id(net[2].W), id(net[2].b)]
    assert all(isinstance(p, Parameter) and p.requires_grad for p in params)


def test_named_parameters_of_nested_sequential_and_no_bias():
    inner = Sequential(Dense(4, 4, "relu", bias=False, seed=1))
    net = Sequential(Dense(3, 4, seed=0), inner, Dense(4, 1, seed=2))
    names = [name for name, _ in net.named_parameters()]
    assert names == ["layers.0.W", "layers.0.b", "layers.1.layers.0.W", "layers.2.W", "layers.2.b"]
    assert set(net.state_dict()) == set(names)


def test_parameters_in_lists_and_dicts_of_a_custom_module():
    class Custom(Module):
        def __init__(self):
            super().__init__()
            self.first = Parameter(np.zeros(2))
            self.blocks = [Dense(2, 2, seed=0), {"head": Dense(2, 1, seed=1)}]
            self._private = Parameter(np.zeros(3))  # underscore attributes are not walked

        def forward(self, x):
            return x

    names = [name for name, _ in Custom().named_parameters()]
    assert names == ["first", "blocks.0.W", "blocks.0.b", "blocks.1.head.W", "blocks.1.head.b"]


def test_train_and_eval_set_the_flag_recursively():
    net = _net()
    modules = [m for _, m in net.named_modules()]
    # Sequential, Dense, its Tanh activation, Dropout, Dense
    assert len(modules) == 5
    assert net.eval() is net
    assert not any(m.training for m in modules)
    assert net.train() is net
    assert all(m.training for m in modules)
    net.train(False)
    assert not any(m.training for m in modules)


# -- state dicts -------------------------------------------------------------------------


def test_state_dict_holds_copies():
    net = _net()
    state = net.state_dict()
    state["layers.0.W"][...] = 123.0
    assert not np.any(net[0].W.data == 123.0)
    net[0].W.data[...] = -7.0
    assert not np.any(state["layers.0.W"] == -7.0)


def test_load_state_dict_round_trip_in_place():
    source, target = _net(seed=0), _net(seed=10)
    W_array = target[0].W.data  # an optimizer holds the Parameter; the array must stay the same
    target.load_state_dict(source.state_dict())
    for (name, p), (_, q) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    assert target[0].W.data is W_array
    X = np.random.default_rng(3).normal(size=(6, 3))
    np.testing.assert_array_equal(source.predict(X), target.predict(X))


def test_load_state_dict_keeps_the_module_dtype():
    net = _net(dtype=np.float32)
    state = {k: v.astype(np.float64) for k, v in net.state_dict().items()}
    net.load_state_dict(state)
    assert all(p.dtype == np.float32 for p in net.parameters())


def _without_the_last_bias(state):
    del state["layers.2.b"]


def _with_an_unknown_weight(state):
    state["layers.9.W"] = np.zeros((2, 2))


def _with_a_transposed_weight(state):
    state["layers.0.W"] = np.zeros((3, 4))


@pytest.mark.parametrize("spoil, error, message", [
    (_without_the_last_bias, KeyError, r"missing \['layers\.2\.b'\]"),
    (_with_an_unknown_weight, KeyError, r"unexpected \['layers\.9\.W'\]"),
    (_with_a_transposed_weight, ValueError,
     r"expected layers\.0\.W of shape \(4, 3\), got \(3, 4\)"),
], ids=["missing_key", "unexpected_key", "wrong_shape"])  # fmt: skip
def test_load_state_dict_names_what_does_not_fit(spoil, error, message):
    net = _net()
    state = net.state_dict()
    spoil(state)
    with pytest.raises(error, match=message):
        net.load_state_dict(state)


def test_load_state_dict_with_a_wrong_shape_changes_nothing():
    net = _net()
    before = net.state_dict()
    state = net.state_dict()
    state["layers.0.W"] = state["layers.0.W"] + 1.0  # valid, comes first
    state["layers.2.W"] = np.zeros((4, 2))  # wrong shape, comes later
    with pytest.raises(ValueError):
        net.load_state_dict(state)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


# -- hooks -------------------------------------------------------------------------------


def test_forward_hook_gets_module_inputs_output_and_can_replace_it():
    layer = Dense(3, 2, "tanh", seed=0, dtype=np.float64)
    x = Tensor(np.random.default_rng(1).normal(size=(4, 3)))
    calls = []

    def spy(module, inputs, output):
        calls.append((module, inputs, output))

    handle = layer.register_forward_hook(spy)
    out = layer(x)
    assert len(calls) == 1
    module, inputs, output = calls[0]
    assert module is layer and isinstance(inputs, tuple) and inputs[0] is x and output is out

    replace = layer.register_forward_hook(lambda m, i, o: o * 2.0)
    doubled = layer(x)
    np.testing.assert_allclose(doubled.data, 2.0 * out.data, rtol=1e-15)
    assert len(calls) == 2

    handle.remove()
    replace.remove()
    again = layer(x)
    assert len(calls) == 2
    np.testing.assert_array_equal(again.data, out.data)


def test_replaced_output_flows_into_the_next_layer_and_backward():
    net = Sequential(Dense(2, 2, seed=0, dtype=np.float64), Dense(2, 1, seed=1, dtype=np.float64))
    net[0].register_forward_hook(lambda m, i, o: o * 0.0)
    out = net(Tensor(np.ones((3, 2))))
    # the second layer sees zeros, so its output is its bias (zero) and W gets no gradient
    np.testing.assert_array_equal(out.data, np.zeros((3, 1)))
    out.sum().backward()
    np.testing.assert_array_equal(net[1].W.grad, np.zeros((1, 2)))
    np.testing.assert_array_equal(net[0].W.grad, np.zeros((2, 2)))



def test_tensor_and_module_hooks_share_one_handle_class():
    layer = Dense(2, 1, seed=0, dtype=np.float64)
    seen = []
    first = layer.register_forward_hook(lambda m, i, o: seen.append("first"))
    second = layer.register_forward_hook(lambda m, i, o: seen.append("second"))
    gradient = layer.W.register_hook(lambda g: seen.append("W"))
    assert type(first) is type(second) is type(gradient)
    first.remove()
    first.remove()  # harmless
    layer(Tensor(np.ones((1, 2)))).sum().backward()
    assert seen == ["second", "W"]
    second.remove()
    gradient.remove()
    layer(Tensor(np.ones((1, 2)))).sum().backward()
    assert seen == ["second", "W"]


# -- predict -----------------------------------------------------------------------------


def test_predict_batches_agree_and_match_a_manual_forward():
    net = _net()
    X = np.random.default_rng(2).normal(size=(37, 3))
    full = net.predict(X)
    W0, b0, W1, b1 = (p.data for p in net.parameters())
    expected = np.tanh(X @ W0.T + b0) @ W1.T + b1  # dropout is off in predict
    assert isinstance(full, np.ndarray) and full.shape == (37, 2)
    np.testing.assert_allclose(full, expected, rtol=1e-12, atol=1e-12)
    for batch_size in (1, 5, 36, 37, 100):
        np.testing.assert_allclose(
            net.predict(X, batch_size=batch_size), full, rtol=1e-12, atol=1e-14
        )


def test_predict_restores_the_mode_and_builds_no_graph():
    net = _net()
    outputs = []
    net.register_forward_hook(lambda m, i, o: outputs.append(o))
    net.train()
    net.predict(np.ones((4, 3)))
    assert all(m.training for _, m in net.named_modules())
    net.eval()
    net.predict(np.ones((4, 3)))
    assert not any(m.training for _, m in net.named_modules())
    assert len(outputs) == 2
    assert all(not o.requires_grad and o._op is None for o in outputs)
    assert all(p.grad is None for p in net.parameters())


def test_predict_accepts_lists_and_converts_to_the_model_dtype():
    net = _net(dtype=np.float32)
    out = net.predict([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    assert out.dtype == np.float32 and out.shape == (2, 2)


# -- dtype -------------------------------------------------------------------------------


def test_astype_float64_converts_every_parameter_and_keeps_values():
    net = _net(dtype=np.float32)
    before = net.state_dict()
    assert net.dtype == np.float32
    assert net.astype(np.float64) is net
    assert net.dtype == np.float64
    for name, p in net.named_parameters():
        assert p.dtype == np.float64, name
        np.testing.assert_array_equal(p.data, before[name].astype(np.float64))
    out = net(Tensor(np.ones((2, 3))))
    assert out.dtype == np.float64
    out.sum().backward()
    assert all(p.grad.dtype == np.float64 for p in net.parameters())


def test_sequential_rejects_non_modules():
    with pytest.raises(
        TypeError, match=r"Sequential: expected Module layers, got int at position 1"
    ):
        Sequential(Dense(2, 2), 3)


def test_sequential_repr_lists_layers():
    text = repr(_net())
    assert "(0): Dense(3 -> 4, tanh)" in text
    assert "(1): Dropout(p=0.5)" in text
    assert "(2): Dense(4 -> 2, identity)" in text


@pytest.mark.parametrize("first", [
    lambda: gn.nn.LSTM(3, 4, batch_first=True), lambda: gn.nn.GRU(3, 4, batch_first=True),
    lambda: gn.nn.RNN(3, 4, batch_first=True),
    lambda: gn.nn.TransformerEncoderLayer(3, 1, dim_feedforward=8, batch_first=True),
])  # fmt: skip
def test_a_sequence_first_layer_takes_samples_steps_features_and_must_be_batch_first(first):
    from glassnet.nn.module import _check_first_layer

    layer = first()
    _check_first_layer("fit", layer, np.zeros((5, 7, 3), np.float32))
    with pytest.raises(ShapeError, match=r"fit: .* \(the first layer\) expects X of shape "
                                         r"\(samples, steps, 3\), got shape \(5, 7, 2\)"):
        _check_first_layer("fit", layer, np.zeros((5, 7, 2), np.float32))
    with pytest.raises(ShapeError, match=r"expects X of shape \(samples, steps, 3\), got shape "
                                         r"\(5, 3\)"):  # fmt: skip
        _check_first_layer("fit", layer, np.zeros((5, 3), np.float32))
    layer.batch_first = False
    with pytest.raises(ShapeError, match="takes time-major input, but X's first axis is the "
                                         "samples; build it with batch_first=True"):
        _check_first_layer("fit", layer, np.zeros((5, 7, 3), np.float32))
