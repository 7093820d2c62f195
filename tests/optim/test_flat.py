"""Flat parameter buffers: one buffer per dtype, each parameter a view into it, one update per
buffer. Every optimizer gives the same weights on the flat and the per-parameter path, and the
flat path survives arrays assigned to ``p.grad`` and ``p.data``."""

import inspect

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim
from glassnet.nn import Dense, Parameter, Sequential
from glassnet.optim import SGD, Adam

NAMES = [*sorted(optim.NAMES), "bold_driver"]  # every optimizer glassnet.optim exports


def mlp(dtype="float64"):
    return Sequential(Dense(2, 4, "tanh", seed=0, dtype=dtype), Dense(4, 1, seed=1, dtype=dtype))


def mixed():
    """float32 hidden layer, float64 output layer: two dtypes, two buffers."""
    return Sequential(Dense(2, 4, "tanh", seed=0, dtype="float32"),
                      Dense(4, 1, seed=1, dtype="float64"))  # fmt: skip


def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (24, 2))
    return X, np.sin(2 * X[:, :1]) + X[:, 1:]


def _template(name, params):
    """The optimizer as ``optim.get(name)`` builds it (the bold driver has no name there)."""
    return optim.BoldDriver(params) if name == "bold_driver" else optim.NAMES[name](params, None)


def _arguments(opt):
    """The constructor arguments of ``opt``, read back from its attributes."""
    names = [n for n in inspect.signature(type(opt)).parameters if n not in ("params", "flatten")]
    return {n: getattr(opt, n) for n in names if hasattr(opt, n)}


def make(name, params, flatten, **attributes):
    """Optimizer ``name`` with its default settings on either path; ``attributes`` are set on it."""
    template = _template(name, mlp().parameters())
    opt = type(template)(params, **_arguments(template), flatten=flatten)
    for key, value in attributes.items():
        setattr(opt, key, value)
    return opt


def fit(model, opt, epochs):
    """fit as it calls each optimizer: full batch with closures, or mini-batches and step()."""
    X, y = data()
    batch_size = None if opt.full_batch else 8
    gn.fit(model, X, y, loss="mse", optimizer=opt, batch_size=batch_size, epochs=epochs,
           shuffle=False, verbose=0)  # fmt: skip


def train(name, flatten, epochs=4, model=None, **attributes):
    model = mlp() if model is None else model
    opt = make(name, model.parameters(), flatten, **attributes)
    fit(model, opt, epochs)
    return model, opt


def weights(model):
    return [p.data.copy() for p in model.parameters()]


def assert_same(a, b, tol=1e-12):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol)


# ---------------------------------------------------------------- the two paths agree


@pytest.mark.parametrize("name", NAMES)
def test_flat_and_per_parameter_paths_give_the_same_weights(name):
    flat_model, flat = train(name, True)
    loose_model, loose = train(name, False)
    assert flat.flat and not loose.flat
    assert_same(weights(flat_model), weights(loose_model))
    assert not np.allclose(weights(flat_model)[0], weights(mlp())[0])  # it did train


ELEMENTWISE = ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "adadelta"]
EXTRAS = [{"clip_norm": 0.05}, {"clip_value": 0.01}, {"weight_decay": 0.1}]


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("extra", EXTRAS)
def test_the_paths_agree_with_clipping_and_weight_decay(name, extra):
    flat_model, _ = train(name, True, **extra)
    loose_model, _ = train(name, False, **extra)
    assert_same(weights(flat_model), weights(loose_model))


@pytest.mark.parametrize("name", ["rprop+", "rprop-", "irprop+", "irprop-", "bold_driver"])
def test_full_batch_elementwise_methods_agree_with_weight_decay(name):
    flat_model, _ = train(name, True, weight_decay=0.05)
    loose_model, _ = train(name, False, weight_decay=0.05)
    assert_same(weights(flat_model), weights(loose_model))


def test_bold_driver_paths_agree_including_undone_steps():
    results = []
    for flatten in (True, False):
        model = mlp()
        opt = optim.BoldDriver(model.parameters(), lr=0.5, flatten=flatten)  # some steps undone
        fit(model, opt, 12)
        results.append((weights(model), opt.undone, opt.lr))
    assert results[0][1] == results[1][1] > 0 and results[0][2] == results[1][2]
    assert_same(results[0][0], results[1][0])


# ---------------------------------------------------------------- the buffers


def test_parameters_are_views_into_one_buffer_per_dtype():
    model = mlp()
    opt = SGD(model.parameters(), lr=0.1)
    ((values, grads),) = opt.buffers
    assert values.size == grads.size == sum(p.size for p in model.parameters()) == 17
    offset = 0
    for p in model.parameters():
        assert p.data.base is values and p.grad.base is grads
        np.testing.assert_array_equal(values[offset : offset + p.size], p.data.reshape(-1))
        offset += p.size
    values[0] = 42.0  # a write to the buffer is a write to the parameter
    assert model.parameters()[0].data.reshape(-1)[0] == 42.0


def test_flattening_keeps_the_values_and_the_existing_gradients():
    model = mlp()
    before = weights(model)
    model.parameters()[1].grad = np.full(4, 3.0)
    opt = Adam(model.parameters())
    assert_same(weights(model), before, tol=0)
    np.testing.assert_array_equal(model.parameters()[1].grad, np.full(4, 3.0))
    assert opt.buffers[0][1].sum() == 12.0  # the other gradients start at zero


def test_zero_grad_releases_the_gradients_and_backward_writes_into_the_buffer():
    X, y = data()
    model = mlp()
    opt = SGD(model.parameters(), lr=0.1)
    gn.nn.loss.get("mse")(model(gn.Tensor(X)), y).backward()
    grads = opt.buffers[0][1]
    views = [p.grad for p in model.parameters()]
    assert np.abs(grads).sum() > 0
    assert all(np.shares_memory(view, grads) for view in views)
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())  # as torch's set_to_none=True
    assert all(p.grad_buffer is view for p, view in zip(model.parameters(), views))
    loss = gn.nn.loss.get("mse")(model(gn.Tensor(2 * X)), y)
    loss.backward()
    assert all(p.grad is view for p, view in zip(model.parameters(), views))  # no copy
    expected = [g.copy() for g in views]
    opt.zero_grad()
    gn.nn.loss.get("mse")(model(gn.Tensor(2 * X)), y).backward()
    for p, g in zip(model.parameters(), expected):  # overwritten, not added to stale values
        np.testing.assert_array_equal(p.grad, g)


def test_a_slot_no_gradient_reached_counts_as_zero_in_step():
    model = mlp()
    opt = SGD(model.parameters(), lr=0.1)
    X, y = data()
    gn.nn.loss.get("mse")(model(gn.Tensor(X)), y).backward()
    opt.step()
    opt.zero_grad()
    before = [p.data.copy() for p in model.parameters()]
    opt.step()  # no backward since zero_grad: every slot counts as zero, nothing moves
    for p, w in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, w)
    assert not opt.buffers[0][1].any()


def test_zero_grad_on_the_per_parameter_path_sets_none():
    params = [Parameter(np.ones(3)), Parameter(np.zeros((2, 2)))]
    opt = SGD(params, lr=0.1, flatten=False)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.zero_grad()
    assert all(p.grad is None for p in params) and opt.buffers == []


def test_the_backward_sweep_writes_into_the_gradient_buffer():
    X, y = data()
    model = mlp()
    opt = SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    gn.nn.loss.get("mse")(model(gn.Tensor(X)), y).backward()
    opt.step()  # whether backward added in place or assigned, the buffer now holds the gradient
    offset, grads = 0, opt.buffers[0][1]
    for p in model.parameters():
        assert p.grad.base is grads
        np.testing.assert_array_equal(grads[offset : offset + p.size], p.grad.reshape(-1))
        offset += p.size
    assert np.abs(grads).sum() > 0


def test_mixed_dtypes_get_two_buffers_and_agree_with_the_per_parameter_path():
    def run(flatten):
        model = mixed()
        opt = Adam(model.parameters(), lr=0.05, flatten=flatten)
        X, y = data()
        for _ in range(5):
            opt.zero_grad()
            gn.nn.loss.get("mse")(model(gn.Tensor(X)), y).backward()
            opt.step()
        return model, opt

    model, opt = run(True)
    assert [(v.dtype, v.size) for v, _ in opt.buffers] == [(np.float32, 12), (np.float64, 5)]
    for p in model.parameters():
        assert any(p.data.base is v for v, _ in opt.buffers)
    assert_same(weights(model), weights(run(False)[0]))


@pytest.mark.parametrize("name", ["bfgs", "lbfgs", "scg", "newton", "lm"])
def test_whole_vector_methods_gather_across_two_dtypes(name):
    def run(flatten):
        model = mixed()
        return train(name, flatten, model=model)

    (flat_model, flat), (loose_model, _) = run(True), run(False)
    assert len(flat.buffers) == 2
    assert_same(weights(flat_model), weights(loose_model))


def test_tied_weights_fall_back_to_the_per_parameter_path_and_still_train():
    rng = np.random.default_rng(0)
    encoder = Parameter(rng.normal(0, 0.5, (3, 5)))
    decoder = Parameter(encoder.data.T)  # tied: a view of the encoder's weights
    X = rng.normal(size=(20, 5))
    opt = SGD([encoder, decoder], lr=0.01)
    assert not opt.flat and opt.buffers == []

    def loss():
        out = gn.ops.matmul(gn.ops.matmul(gn.Tensor(X), decoder), encoder)  # X W^T W
        return ((out - gn.Tensor(X)) * (out - gn.Tensor(X))).mean()

    with gn.no_grad():  # only the value (and no graph that guards the weights read-only)
        first = float(loss().data)
    for _ in range(20):
        opt.zero_grad()
        loss().backward()
        opt.step()
    with gn.no_grad():
        assert float(loss().data) < first
    assert np.shares_memory(encoder.data, decoder.data)  # still tied


def test_a_parameter_listed_twice_is_not_flattened():
    w = Parameter(np.ones(3))
    assert not SGD([w, w], lr=0.1).flat
    a = Parameter(np.ones(3))
    b = Parameter(a.data)  # two parameters on one array
    assert not SGD([a, b], lr=0.1).flat


def test_a_later_optimizer_reuses_the_buffers_of_the_same_parameters():
    model = mlp()
    first = SGD(model.parameters(), lr=0.1)
    data_views = [p.data for p in model.parameters()]
    second = Adam(model.parameters())
    assert all(a is b for a, b in zip(second.buffers[0], first.buffers[0]))
    assert all(p.data is v for p, v in zip(model.parameters(), data_views))
    reordered = SGD(model.parameters()[::-1], lr=0.1)  # another order: a buffer of its own
    assert reordered.flat and reordered.buffers[0][0] is not first.buffers[0][0]
    assert_same([p.data for p in model.parameters()], data_views, tol=0)


def test_fit_twice_keeps_training_on_flat_buffers():
    X, y = data()
    model = mlp()
    gn.fit(model, X, y, loss="mse", optimizer="adam", epochs=2, verbose=0)
    opt = optim.get("adam", model.parameters())
    assert opt.flat  # the views of the first optimizer's buffer are not mistaken for tied weights


# ---------------------------------------------------------------- assigned arrays


def test_an_assigned_gradient_is_copied_into_the_buffer():
    model, loose_model = mlp(), mlp()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    loose = SGD(loose_model.parameters(), lr=0.1, momentum=0.9, flatten=False)
    grads = opt.buffers[0][1]
    for step in range(3):
        for p, q in zip(model.parameters(), loose_model.parameters()):
            p.grad = np.full(p.shape, step + 1.0)  # as an engine that assigns new arrays does
            q.grad = np.full(q.shape, step + 1.0)
        model.parameters()[0].grad = None  # None counts as zeros
        loose_model.parameters()[0].grad = np.zeros(loose_model.parameters()[0].shape)
        opt.step()
        loose.step()
        assert all(p.grad.base is grads for p in model.parameters())
    assert_same(weights(model), weights(loose_model))


def test_an_assigned_weight_array_is_copied_into_the_buffer():
    model = mlp()
    opt = SGD(model.parameters(), lr=0.5)
    values = opt.buffers[0][0]
    b = model.parameters()[1]
    b.data = np.full(4, 2.0)  # the user replaces a parameter's array
    b.grad = np.ones(4)
    opt.step()
    assert b.data.base is values
    np.testing.assert_array_equal(b.data, np.full(4, 1.5))


def test_astype_rebuilds_the_buffers_in_the_new_dtype_and_keeps_the_state():
    X, y = data()
    model, loose_model = mlp(), mlp()
    opt = Adam(model.parameters(), lr=0.01)
    loose = Adam(loose_model.parameters(), lr=0.01, flatten=False)
    for m, o in ((model, opt), (loose_model, loose)):
        for cast in (None, "float32"):
            if cast:
                m.astype(cast)
            for _ in range(3):
                o.zero_grad()
                gn.nn.loss.get("mse")(m(gn.Tensor(X.astype(m.dtype))), y.astype(m.dtype)).backward()
                o.step()
    assert [v.dtype for v, _ in opt.buffers] == [np.float32] and opt.flat
    assert all(p.data.base is opt.buffers[0][0] for p in model.parameters())
    assert_same(weights(model), weights(loose_model), tol=1e-6)


# ---------------------------------------------------------------- state_dict


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("saved_flat", [True, False])
def test_state_dict_loads_across_paths_and_training_continues_the_same(name, saved_flat):
    model, opt = train(name, saved_flat, epochs=3)
    state = opt.state_dict()
    for key, value in state.items():  # what a file would hold: npz-friendly values
        assert isinstance(value, (int, float, bool, np.ndarray)), (key, type(value))
    clone = mlp()
    clone.load_state_dict(model.state_dict())
    other = make(name, clone.parameters(), not saved_flat)
    other.load_state_dict(state)
    again = other.state_dict()
    assert set(again) == set(state)
    for key, value in state.items():
        np.testing.assert_array_equal(again[key], value, err_msg=key)
    fit(model, opt, 2)
    fit(clone, other, 2)
    assert_same(weights(model), weights(clone))


@pytest.mark.parametrize(
    "name, keys",
    [("irprop+", {"previous_error"}), ("lm", {"stalled", "trials"}), ("newton", {"mu"})],
)
def test_state_dict_holds_the_state_kept_outside_the_arrays(name, keys):
    _, opt = train(name, True, epochs=2)
    assert keys <= set(opt.state_dict())


def test_bold_driver_state_dict_holds_previous_loss_and_undone():
    model = mlp()
    opt = optim.BoldDriver(model.parameters(), lr=0.5)
    fit(model, opt, 12)
    state = opt.state_dict()
    assert state["previous_loss"] == opt.previous_loss and state["undone"] == opt.undone > 0
    fresh = optim.BoldDriver(mlp().parameters())
    fresh.load_state_dict(state)
    assert (fresh.previous_loss, fresh.undone, fresh.lr) == (opt.previous_loss, opt.undone, opt.lr)


def test_state_views_on_the_flat_path_are_per_parameter():
    model = mlp()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad = np.ones(p.shape)
    opt.step()
    for p, state in zip(model.parameters(), opt.state):
        assert state["dw"].shape == p.shape
        np.testing.assert_array_equal(state["dw"], np.full(p.shape, -0.1))


# ---------------------------------------------------------------- validation


def test_a_module_instead_of_its_parameters_is_refused():
    with pytest.raises(TypeError, match=r"SGD: expected the model's parameters, got the Sequential "
                                        r"itself; pass model.parameters\(\)"):  # fmt: skip
        SGD(mlp())


def test_arrays_instead_of_parameters_are_refused():
    with pytest.raises(TypeError, match=r"Adam: expected Parameters \(Tensors that require grad\), "
                                        r"got ndarray at position 0"):  # fmt: skip
        Adam([np.ones(3)])
    with pytest.raises(TypeError, match=r"got a Tensor with requires_grad=False at position 1"):
        SGD([Parameter(np.ones(2)), gn.Tensor(np.ones(2))])
    with pytest.raises(TypeError, match=r"expected a list of Parameters, got a single Parameter"):
        SGD(Parameter(np.ones(2)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scalar", [np.float32, np.float64])
def test_numpy_scalars_are_accepted_as_hyperparameters(name, scalar):
    arguments = _arguments(_template(name, mlp().parameters()))
    given = {k: scalar(v) if isinstance(v, float) else (np.int64(v) if type(v) is int else v)
             for k, v in arguments.items()}  # fmt: skip
    rebuilt = type(_template(name, mlp().parameters()))(mlp().parameters(), **given)
    for key, value in arguments.items():
        assert getattr(rebuilt, key) == pytest.approx(value, rel=1e-6), key
        assert type(getattr(rebuilt, key)) is type(value), key  # stored as Python numbers


def test_a_step_while_a_graph_keeps_the_weights_is_refused_on_both_paths():
    X, y = data()
    for flatten in (True, False):
        model = mlp()
        opt = SGD(model.parameters(), lr=0.1, flatten=flatten)
        for p in model.parameters():
            p.grad = np.ones(p.shape)
        loss = gn.nn.loss.get("mse")(model(gn.Tensor(X)), y)  # its graph saved W: read-only now
        with pytest.raises(ValueError, match="read-only"):
            opt.step()
        del loss


def _loss_and_grads(model, X, y):
    out = model(gn.tensor(X))
    loss = ((out - y) ** 2).mean()
    loss.backward()


OUT_OF_PLACE = [
    lambda p: Adam(p, lr=0.05), lambda p: SGD(p, lr=0.1), lambda p: SGD(p, lr=0.1, momentum=0.9),
    lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
    lambda p: optim.RMSprop(p, lr=0.01), lambda p: optim.Adagrad(p, lr=0.1),
    lambda p: optim.Adadelta(p, lr=1.0),
]  # fmt: skip


@pytest.mark.parametrize("make", [mlp, mixed])
@pytest.mark.parametrize("method", range(len(OUT_OF_PLACE)))
def test_out_of_place_steps_equal_in_place_and_keep_the_start_weights(make, method):
    """step(keep_previous=True) writes the new weights into a second buffer per dtype: the
    same numbers as the in-place step, bit for bit, over 6 steps, and previous_weights() holds
    the weights each step started from, untouched (Adam, SGD with and without momentum,
    Nesterov with weight decay, RMSprop, Adagrad, Adadelta)."""
    X, y = data()
    models = [make(), make()]
    opts = [OUT_OF_PLACE[method](m.parameters()) for m in models]
    assert opts[0].keeps_previous
    for _ in range(6):
        before = [p.data.copy() for p in models[1].parameters()]
        for keep, (model, opt) in enumerate(zip(models, opts)):
            opt.zero_grad()
            _loss_and_grads(model, X, y)
            opt.step(keep_previous=bool(keep))
        previous = opts[1].previous_weights()
        assert opts[0].previous_weights() is None
        for a, b, start, now in zip(models[0].parameters(), models[1].parameters(), before,
                                    previous):  # fmt: skip
            np.testing.assert_array_equal(a.data, b.data)
            np.testing.assert_array_equal(now, start)
            assert not np.shares_memory(now, b.data)
    for (values, _), p in zip(opts[1].buffers, models[1].parameters()):
        assert p.data.dtype != values.dtype or np.shares_memory(p.data, values)


def test_only_out_of_place_methods_on_the_flat_path_keep_the_previous_weights():
    assert not optim.AdamW(mlp().parameters()).keeps_previous  # it shrinks w in place first
    assert not Adam(mlp().parameters(), flatten=False).keeps_previous
    assert not optim.RpropMinus(mlp().parameters()).keeps_previous
    model = mlp()
    opt = optim.RpropMinus(model.parameters())
    X, y = data()
    _loss_and_grads(model, X, y)
    opt.step(keep_previous=True)  # asked where it cannot: an ordinary in-place step
    assert opt.previous_weights() is None


def test_a_new_optimizer_after_out_of_place_steps_stays_on_the_flat_path():
    """After steps that swapped the buffers, the parameters view the second buffer; a new
    optimizer (a second fit on the same model) recognises it and shares it, as it does the
    first, instead of taking the views for tied weights (the per-parameter path)."""
    X, y = data()
    model = mlp()
    for _ in range(3):
        opt = Adam(model.parameters(), lr=0.05)
        assert opt.flat and opt.keeps_previous
        for _ in range(3):  # an odd number of swaps: the parameters end on the other buffer
            opt.zero_grad()
            _loss_and_grads(model, X, y)
            opt.step(keep_previous=True)
        (values, grads), = opt.buffers
        assert all(np.shares_memory(p.data, values) for p in model.parameters())
        assert all(np.shares_memory(p.grad, grads) for p in model.parameters())
