"""Optimizers: trajectories against the update rules written out in NumPy here,
against PyTorch when it is importable, and the shared machinery (groups,
zero_grad, skipping, state_dict, validation)."""
import math

import numpy as np
import pytest

import minicnn as mc
from minicnn import optim

SHAPES = [(3, 4), (5,)]
STEPS = 5


def make_params(device, shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    return [mc.nn.Parameter(mc.tensor(rng.normal(size=s), dtype=mc.float64, device=device)) for s in shapes]


def make_grads(shapes=SHAPES, steps=STEPS, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s) for s in shapes] for _ in range(steps)]


def run(cls, device, grads=None, params=None, **options):
    """Step a minicnn optimizer through ``grads``; the parameters' values after each step."""
    params = make_params(device) if params is None else params
    opt = cls(params, **options)
    history = []
    for step_grads in make_grads() if grads is None else grads:
        for p, g in zip(params, step_grads):
            p.grad = mc.tensor(g, device=device)
        opt.step()
        history.append([p.numpy().copy() for p in params])
    return history


def assert_trajectories_close(got, expected, rtol=1e-10, atol=1e-12):
    for step, (g_step, e_step) in enumerate(zip(got, expected)):
        for i, (g, e) in enumerate(zip(g_step, e_step)):
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=f"step {step + 1}, parameter {i}")


# ------------------------------------------------------------- hand-written rules
# Each reference takes one parameter's initial value and its gradient sequence
# and returns the values after each step, written directly from the formula.

def ref_sgd(x, grads, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    x, b, out = x.copy(), None, []
    for g in grads:
        g = (-g if maximize else g) + weight_decay * x
        if momentum:
            b = g if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        x = x - lr * g
        out.append(x)
    return out


def ref_adam(x, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
             decoupled=False):
    b1, b2 = betas
    x, m, v, vmax, out = x.copy(), 0 * x, 0 * x, 0 * x, []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if decoupled:
            x = x * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(x)
    return out


def ref_rmsprop(x, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False):
    x, v, gbar, b, out = x.copy(), 0 * x, 0 * x, 0 * x, []
    for g in grads:
        g = (-g if maximize else g) + weight_decay * x
        v = alpha * v + (1 - alpha) * g ** 2
        gbar = alpha * gbar + (1 - alpha) * g
        s = np.sqrt(v - gbar ** 2 if centered else v) + eps
        if momentum:
            b = momentum * b + g / s
            x = x - lr * b
        else:
            x = x - lr * g / s
        out.append(x)
    return out


def ref_adagrad(x, grads, lr, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False):
    x, s, out = x.copy(), np.full_like(x, initial_accumulator_value), []
    for t, g in enumerate(grads, start=1):
        g = (-g if maximize else g) + weight_decay * x
        s = s + g ** 2
        x = x - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(x)
    return out


def ref_adadelta(x, grads, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    x, v, u, out = x.copy(), 0 * x, 0 * x, []
    for g in grads:
        g = (-g if maximize else g) + weight_decay * x
        v = rho * v + (1 - rho) * g ** 2
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta ** 2
        x = x - lr * delta
        out.append(x)
    return out


def reference(ref, options):
    """The reference trajectory of every parameter, in ``run``'s layout."""
    initial = [p.numpy() for p in make_params("cpu")]
    grads = make_grads()
    per_param = [ref(x, [step[i] for step in grads], **options) for i, x in enumerate(initial)]
    return [list(step) for step in zip(*per_param)]


HAND_CASES = [
    (optim.SGD, ref_sgd, dict(lr=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True)),
    (optim.Adam, ref_adam, dict(lr=0.01)),
    (optim.Adam, ref_adam, dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    (optim.Adam, ref_adam, dict(lr=0.01, eps=1e-3, maximize=True)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.5, weight_decay=0.1)),
    (optim.Adadelta, ref_adadelta, dict()),
    (optim.Adadelta, ref_adadelta, dict(lr=0.5, rho=0.7, eps=1e-4, weight_decay=0.1, maximize=True)),
]


@pytest.mark.parametrize("cls, ref, options", HAND_CASES,
                         ids=[f"{c.__name__}-{'-'.join(o)}" for c, _, o in HAND_CASES])
def test_against_hand_written_rule(device, cls, ref, options):
    assert_trajectories_close(run(cls, device, **options), reference(ref, options))


def test_adamw_against_hand_written_rule(device):
    options = dict(lr=0.01, weight_decay=0.1, amsgrad=True)
    expected = reference(lambda x, g, **o: ref_adam(x, g, decoupled=True, **o), options)
    assert_trajectories_close(run(optim.AdamW, device, **options), expected)


def test_first_sgd_momentum_steps_by_hand(device):
    # p = 1, g = 2 then 4; lr = 0.1, momentum = 0.5:  b1 = 2, p = 0.8;  b2 = 0.5*2 + 4 = 5, p = 0.3
    (p,) = params = [mc.nn.Parameter(mc.tensor([1.0], dtype=mc.float64, device=device))]
    history = run(optim.SGD, device, grads=[[np.array([2.0])], [np.array([4.0])]], params=params, lr=0.1, momentum=0.5)
    np.testing.assert_allclose([h[0][0] for h in history], [0.8, 0.3])


def test_first_adam_step_is_lr_times_sign(device):
    # after bias correction the first Adam step is lr·g/(|g| + ε) ≈ lr·sign(g)
    params = [mc.nn.Parameter(mc.tensor([1.0, -2.0, 3.0], dtype=mc.float64, device=device))]
    g = np.array([0.5, -3.0, 1e-3])
    history = run(optim.Adam, device, grads=[[g]], params=params, lr=0.1)
    np.testing.assert_allclose(history[0][0], [1.0, -2.0, 3.0] - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(history[0][0], [0.9, -1.9, 2.9], rtol=1e-5)  # even for a tiny g


# ------------------------------------------------------------- against PyTorch
TORCH_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.85, 0.95), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.02)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.95, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.7, centered=True, eps=1e-5, maximize=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1, eps=1e-8)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict(lr=1.0, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
]


@pytest.mark.parametrize("name, options", TORCH_CASES, ids=[f"{n}-{'-'.join(o)}" for n, o in TORCH_CASES])
def test_against_torch(device, name, options):
    torch = pytest.importorskip("torch")
    # a gradient that is missing at one step must be skipped by both
    grads = make_grads(steps=6)
    grads[2][1] = None
    tparams = [torch.nn.Parameter(torch.tensor(p.numpy())) for p in make_params("cpu")]
    topt = getattr(torch.optim, name)(tparams, **options)
    expected = []
    for step_grads in grads:
        for p, g in zip(tparams, step_grads):
            p.grad = None if g is None else torch.tensor(g)
        topt.step()
        expected.append([p.detach().numpy().copy() for p in tparams])

    params = make_params(device)
    opt = getattr(optim, name)(params, **options)
    got = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else mc.tensor(g, device=device)
        opt.step()
        got.append([p.numpy().copy() for p in params])
    assert_trajectories_close(got, expected)


# ------------------------------------------------------------- shared machinery
OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9)),
    (optim.Adam, dict(lr=0.01)),
    (optim.AdamW, dict(lr=0.01, amsgrad=True)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.1)),
    (optim.Adadelta, dict()),
]
OPT_IDS = [c.__name__ for c, _ in OPTIMIZERS]


@pytest.mark.parametrize("cls, options", OPTIMIZERS, ids=OPT_IDS)
def test_updates_in_place_and_skips_missing_grads(device, cls, options):
    a, b = make_params(device)
    a_array, b_before = a.data, b.numpy().copy()
    opt = cls([a, b], **options)
    a.grad = mc.tensor(np.ones(a.shape), device=device)
    opt.step()
    assert a.data is a_array, "the update must write into the parameter's array"
    assert not np.allclose(a.numpy(), make_params("cpu")[0].numpy())
    np.testing.assert_array_equal(b.numpy(), b_before)
    assert b not in opt.state or not opt.state[b]


@pytest.mark.parametrize("cls, options", OPTIMIZERS, ids=OPT_IDS)
def test_minimises_a_quadratic_built_with_minicnn_ops(device, cls, options):
    target = mc.tensor([1.0, -2.0, 0.5], dtype=mc.float64, device=device)
    p = mc.nn.Parameter(mc.zeros(3, dtype=mc.float64, device=device))
    if cls is optim.Adadelta:
        options = dict(lr=20.0)  # Adadelta's first steps are ~√ε·lr: tiny at lr = 1
    opt = cls([p], **options)

    def closure():
        opt.zero_grad()
        loss = ((p - target) * (p - target)).sum()
        loss.backward()
        return loss

    first = float(opt.step(closure))
    for _ in range(60):
        last = float(opt.step(closure))
    assert last < 0.5 * first


@pytest.mark.parametrize("cls, options", OPTIMIZERS, ids=OPT_IDS)
def test_float32_parameters_stay_float32(device, cls, options):
    p = mc.nn.Parameter(mc.tensor(np.arange(4.0), dtype=mc.float32, device=device))
    opt = cls([p], **options)
    for _ in range(2):
        p.grad = mc.tensor(np.ones(4), dtype=mc.float32, device=device)
        opt.step()
    assert p.dtype == mc.float32
    assert all(v.dtype == mc.float32 for v in opt.state[p].values() if hasattr(v, "dtype"))
    # a float64 checkpoint loads as float32 state
    sd = opt.state_dict()
    sd["state"][0] = {k: (v.astype(np.float64) if hasattr(v, "astype") else v) for k, v in sd["state"][0].items()}
    opt.load_state_dict(sd)
    assert all(v.dtype == mc.float32 for v in opt.state[p].values() if hasattr(v, "dtype"))


def test_parameter_groups_use_their_own_options(device):
    base, head = make_params(device)
    base0, head0 = base.numpy().copy(), head.numpy().copy()
    opt = optim.SGD([{"params": [base], "lr": 0.01}, {"params": head, "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0, 0.5]
    g_base, g_head = np.ones(base.shape), np.full(head.shape, 2.0)
    for _ in range(2):
        base.grad, head.grad = mc.tensor(g_base, device=device), mc.tensor(g_head, device=device)
        opt.step()
    np.testing.assert_allclose(base.numpy(), base0 - 2 * 0.01 * g_base)
    np.testing.assert_allclose(head.numpy(), head0 - 0.1 * g_head - 0.1 * (0.5 * g_head + g_head))


def test_add_param_group_and_duplicates():
    a, b = make_params("cpu")
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.5, "amsgrad": True})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999) and opt.param_groups[1]["amsgrad"]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.add_param_group({"params": make_params("cpu")[:1], "lr": -1})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(a, lr=0.1)


def test_zero_grad(device):
    a, b = make_params(device)
    opt = optim.SGD([a, b], lr=0.1)
    a.grad = mc.tensor(np.ones(a.shape), device=device)
    b.grad = mc.tensor(np.ones(b.shape), device=device)
    grad_array = b.grad.data
    opt.zero_grad(set_to_none=False)
    assert b.grad.data is grad_array and not b.grad.numpy().any()
    opt.zero_grad()
    assert a.grad is None and b.grad is None


# ------------------------------------------------------------- checkpoints
def _step_all(opt, params, grads, device):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = mc.tensor(g, device=device)
        opt.step()


@pytest.mark.parametrize("cls, options", OPTIMIZERS, ids=OPT_IDS)
def test_state_dict_round_trip_continues_identically(device, cls, options):
    grads = make_grads(steps=6)
    params = make_params(device)
    opt = cls([{"params": params[:1]}, {"params": params[1:], "lr": 0.003}], **options)
    _step_all(opt, params, grads[:3], device)
    snapshot = opt.state_dict()
    values = [p.numpy().copy() for p in params]
    _step_all(opt, params, grads[3:], device)  # the snapshot must not change

    fresh = [mc.nn.Parameter(mc.tensor(v, device=device)) for v in values]
    other = cls([{"params": fresh[:1]}, {"params": fresh[1:]}], lr=0.5)  # lr comes from the snapshot
    other.load_state_dict(snapshot)
    assert other.param_groups[1]["lr"] == 0.003
    _step_all(other, fresh, grads[3:], device)
    for p, q in zip(params, fresh):
        np.testing.assert_array_equal(q.numpy(), p.numpy())


def test_state_dict_layout_is_pytorchs():
    params = make_params("cpu") + make_params("cpu", shapes=[(2,)])
    opt = optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.1}], amsgrad=True)
    params[0].grad = mc.tensor(np.ones(params[0].shape))
    params[2].grad = mc.tensor(np.ones(params[2].shape))
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sorted(sd["state"]) == [0, 2]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][0]["step"] == 1
    for s in sd["state"].values():  # plain arrays and numbers, ready for mc.save
        assert all(isinstance(v, (int, float, np.ndarray)) for v in s.values())


def test_state_dict_matches_torch_layout():
    torch = pytest.importorskip("torch")
    tparams = [torch.nn.Parameter(torch.tensor(p.numpy())) for p in make_params("cpu")]
    topt = torch.optim.RMSprop(tparams, lr=0.01, momentum=0.5, centered=True)
    params = make_params("cpu")
    opt = optim.RMSprop(params, lr=0.01, momentum=0.5, centered=True)
    for p, tp, g in zip(params, tparams, make_grads(steps=1)[0]):
        p.grad, tp.grad = mc.tensor(g), torch.tensor(g)
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["state"].keys() == tsd["state"].keys()
    for k in sd["state"]:
        assert sd["state"][k].keys() == tsd["state"][k].keys()
        for field, value in sd["state"][k].items():
            np.testing.assert_allclose(np.asarray(value), tsd["state"][k][field].numpy())
    ours, theirs = sd["param_groups"][0], tsd["param_groups"][0]
    assert ours["params"] == theirs["params"]
    assert {k: ours[k] for k in ("lr", "alpha", "eps", "momentum", "centered")} == \
        {k: theirs[k] for k in ("lr", "alpha", "eps", "momentum", "centered")}


def test_load_state_dict_accepts_what_a_file_gives_back(device):
    """String keys, 0-d arrays for numbers and arrays for tuples, as an .npz round trip may give."""
    grads = make_grads(steps=4)
    params = make_params(device)
    opt = optim.Adam(params, lr=0.01, betas=(0.8, 0.9))
    _step_all(opt, params, grads[:2], device)
    sd = opt.state_dict()
    as_file = {
        "state": {str(k): {f: np.asarray(mc.tensor(v).numpy() if hasattr(v, "shape") else v) for f, v in s.items()}
                  for k, s in sd["state"].items()},
        "param_groups": [{k: (np.asarray(v) if isinstance(v, (tuple, float, int)) else v) for k, v in g.items()}
                         for g in sd["param_groups"]],
    }
    fresh = [mc.nn.Parameter(mc.tensor(p.numpy(), device=device)) for p in params]
    other = optim.Adam(fresh)
    other.load_state_dict(as_file)
    assert other.param_groups[0]["betas"] == (0.8, 0.9)
    assert isinstance(other.state[fresh[0]]["step"], int) and other.state[fresh[0]]["step"] == 2
    assert other.state[fresh[0]]["exp_avg"].__class__ is fresh[0].data.__class__
    _step_all(opt, params, grads[2:], device)
    _step_all(other, fresh, grads[2:], device)
    for p, q in zip(params, fresh):
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-14)


def test_load_state_dict_errors_leave_the_optimizer_unchanged():
    params = make_params("cpu")
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    _step_all(opt, params, make_grads(steps=1), "cpu")
    before_state = {p: {k: v.copy() for k, v in s.items()} for p, s in opt.state.items()}

    two_groups = optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="2 parameter group.*has 1"):
        opt.load_state_dict(two_groups)
    one_param = optim.SGD(params[:1], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="group 0 has 1 parameter.*2 in the optimizer"):
        opt.load_state_dict(one_param)
    bad_shape = opt.state_dict()
    bad_shape["param_groups"][0]["lr"] = 123.0
    bad_shape["state"][1]["momentum_buffer"] = np.zeros(7)
    with pytest.raises(ValueError, match=r"momentum_buffer.*shape \(7,\).*\(5,\)"):
        opt.load_state_dict(bad_shape)
    bad_option = opt.state_dict()
    bad_option["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.load_state_dict(bad_option)

    assert opt.param_groups[0]["lr"] == 0.1
    for p, s in opt.state.items():
        np.testing.assert_array_equal(s["momentum_buffer"], before_state[p]["momentum_buffer"])


# ------------------------------------------------------------- validation
BAD = [
    (optim.SGD, dict(lr=-0.1), "lr must be >= 0"),
    (optim.SGD, dict(momentum=-0.5), "momentum must be >= 0"),
    (optim.SGD, dict(weight_decay=-1), "weight_decay must be >= 0"),
    (optim.SGD, dict(nesterov=True), "Nesterov momentum needs momentum > 0"),
    (optim.SGD, dict(momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
    (optim.Adam, dict(lr=-1), "lr must be >= 0"),
    (optim.Adam, dict(betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\)"),
    (optim.Adam, dict(betas=(0.9, -0.1)), r"betas\[1\] must be in \[0, 1\)"),
    (optim.Adam, dict(eps=-1e-8), "eps must be >= 0"),
    (optim.AdamW, dict(weight_decay=-0.01), "weight_decay must be >= 0"),
    (optim.RMSprop, dict(alpha=1.5), r"alpha must be in \[0, 1\]"),
    (optim.RMSprop, dict(momentum=-1), "momentum must be >= 0"),
    (optim.Adagrad, dict(lr_decay=-1), "lr_decay must be >= 0"),
    (optim.Adagrad, dict(initial_accumulator_value=-1), "initial_accumulator_value must be >= 0"),
    (optim.Adadelta, dict(rho=1.1), r"rho must be in \[0, 1\]"),
    (optim.LBFGS, dict(history_size=0), "history_size must be >= 1"),
    (optim.LBFGS, dict(line_search_fn="armijo"), "line_search_fn must be None or 'strong_wolfe'"),
]


@pytest.mark.parametrize("cls, options, message", BAD, ids=[f"{c.__name__}-{m[:20]}" for c, _, m in BAD])
def test_bad_hyper_parameters_raise(cls, options, message):
    with pytest.raises(ValueError, match=message):
        cls(make_params("cpu"), **options)


# ------------------------------------------------------------- L-BFGS
def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def lbfgs_closure(opt, p, f=rosenbrock):
    def closure():
        opt.zero_grad()
        loss = f(p)
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_minimises_rosenbrock(device, line_search_fn):
    p = mc.nn.Parameter(mc.tensor([-1.5, 2.0], dtype=mc.float64, device=device))
    opt = optim.LBFGS([p], lr=1, max_iter=100, history_size=10, line_search_fn=line_search_fn)
    closure = lbfgs_closure(opt, p)
    start = float(opt.step(closure))
    for _ in range(4):
        opt.step(closure)
    assert start > 1
    np.testing.assert_allclose(p.numpy(), [1.0, 1.0], atol=1e-4)
    assert float(rosenbrock(p)) < 1e-8


def test_lbfgs_solves_a_quadratic_exactly_with_line_search(device):
    # on f(x) = ½xᵀAx - bᵀx, L-BFGS with an exact-enough line search reaches A⁻¹b in a few iterations
    a = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    b = np.array([1.0, -1.0, 2.0])
    A, B = mc.tensor(a, device=device), mc.tensor(b, device=device)
    p = mc.nn.Parameter(mc.zeros(3, dtype=mc.float64, device=device))
    opt = optim.LBFGS([p], max_iter=50, line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-14)
    opt.step(lbfgs_closure(opt, p, lambda x: 0.5 * (x * (A @ x)).sum() - (B * x).sum()))
    np.testing.assert_allclose(p.numpy(), np.linalg.solve(a, b), atol=1e-9)
    assert opt.state[p]["n_iter"] <= 10


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_against_torch(line_search_fn, device):
    torch = pytest.importorskip("torch")
    p = mc.nn.Parameter(mc.tensor([-1.5, 2.0], dtype=mc.float64, device=device))
    opt = optim.LBFGS([p], lr=0.5, max_iter=4, history_size=3, line_search_fn=line_search_fn)
    tp = torch.nn.Parameter(torch.tensor([-1.5, 2.0], dtype=torch.float64))
    topt = torch.optim.LBFGS([tp], lr=0.5, max_iter=4, history_size=3, line_search_fn=line_search_fn)
    closure, tclosure = lbfgs_closure(opt, p), lbfgs_closure(topt, tp)
    for _ in range(5):
        opt.step(closure)
        topt.step(tclosure)
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert opt.state[p]["func_evals"] == topt.state[tp]["func_evals"]
    assert opt.state[p]["n_iter"] == topt.state[tp]["n_iter"]


def test_lbfgs_state_dict_round_trip():
    p = mc.nn.Parameter(mc.tensor([-1.5, 2.0], dtype=mc.float64))
    opt = optim.LBFGS([p], max_iter=3, line_search_fn="strong_wolfe")
    opt.step(lbfgs_closure(opt, p))
    snapshot, value = opt.state_dict(), p.numpy().copy()
    opt.step(lbfgs_closure(opt, p))

    q = mc.nn.Parameter(mc.tensor(value))
    other = optim.LBFGS([q], max_iter=3, line_search_fn="strong_wolfe")
    other.load_state_dict(snapshot)
    other.step(lbfgs_closure(other, q))
    np.testing.assert_array_equal(q.numpy(), p.numpy())


def test_lbfgs_needs_a_closure_and_one_group():
    a, b = make_params("cpu")
    with pytest.raises(ValueError, match="closure"):
        optim.LBFGS([a]).step()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])


def test_repr_lists_the_groups():
    text = repr(optim.SGD(make_params("cpu"), lr=0.1, momentum=0.9))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "momentum: 0.9" in text
    assert math.isclose(optim.AdamW(make_params("cpu")).defaults["weight_decay"], 1e-2)
