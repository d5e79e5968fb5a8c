"""Learning-rate schedulers: lr sequences against the formulas written out here,
against PyTorch when it is importable, ReduceLROnPlateau on scripted metrics,
checkpoints and validation."""
import math

import numpy as np
import pytest

import minicnn as mc
from minicnn import optim
from minicnn.optim import lr_scheduler as sched

BASE_LRS = (0.1, 0.04)
EPOCHS = 30


def make_optimizer(cls=optim.SGD, device="cpu", **options):
    """Two groups with lrs 0.1 and 0.04."""
    a, b = (mc.nn.Parameter(mc.zeros(n, dtype=mc.float64, device=device)) for n in (3, 2))
    options = {"momentum": 0.9, **options} if cls is optim.SGD else options
    return cls([{"params": [a]}, {"params": [b], "lr": BASE_LRS[1]}], lr=BASE_LRS[0], **options)


def lr_sequence(opt, scheduler, epochs=EPOCHS):
    """The lrs of each group at epochs 0 .. epochs-1 (an optimizer step between scheduler steps)."""
    out = []
    for _ in range(epochs):
        out.append([g["lr"] for g in opt.param_groups])
        assert scheduler.get_last_lr() == out[-1]
        opt.step()
        scheduler.step()
    return np.array(out)


def by_formula(lr_of):
    """[[lr_of(base, e) for each group] for each epoch]."""
    return np.array([[lr_of(base, e) for base in BASE_LRS] for e in range(EPOCHS)])


def cos_anneal(start, end, pct):
    return end + (start - end) * (1 + math.cos(math.pi * pct)) / 2


CASES = {
    "StepLR": (dict(step_size=7, gamma=0.5), lambda b, e: b * 0.5 ** (e // 7)),
    "MultiStepLR": (dict(milestones=[20, 3, 10], gamma=0.3),
                    lambda b, e: b * 0.3 ** sum(e >= m for m in (3, 10, 20))),
    "ExponentialLR": (dict(gamma=0.9), lambda b, e: b * 0.9 ** e),
    "CosineAnnealingLR": (dict(T_max=12, eta_min=0.001),
                          lambda b, e: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * e / 12)) / 2),
    "LambdaLR": (dict(lr_lambda=lambda e: 1 / (1 + e)), lambda b, e: b / (1 + e)),
    "LinearLR": (dict(start_factor=0.2, end_factor=0.9, total_iters=8),
                 lambda b, e: b * (0.2 + 0.7 * min(e, 8) / 8)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_schedule_against_formula(name):
    options, formula = CASES[name]
    opt = make_optimizer()
    np.testing.assert_allclose(lr_sequence(opt, getattr(sched, name)(opt, **options)), by_formula(formula),
                               rtol=1e-12, atol=0)


def test_a_few_values_by_hand():
    opt = make_optimizer()
    lrs = lr_sequence(opt, sched.StepLR(opt, step_size=2, gamma=0.1), epochs=5)[:, 0]
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.01, 0.01, 0.001])
    opt = make_optimizer()
    lrs = lr_sequence(opt, sched.CosineAnnealingLR(opt, T_max=4), epochs=5)[:, 0]
    np.testing.assert_allclose(lrs, [0.1, 0.1 * (1 + math.sqrt(0.5)) / 2, 0.05, 0.1 * (1 - math.sqrt(0.5)) / 2, 0.0],
                               atol=1e-15)


def test_lambda_lr_one_function_per_group():
    opt = make_optimizer()
    scheduler = sched.LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: e + 1])
    lrs = lr_sequence(opt, scheduler, epochs=4)
    np.testing.assert_allclose(lrs, [[0.1 * 0.5 ** e, 0.04 * (e + 1)] for e in range(4)])


def test_construction_performs_step_zero():
    opt = make_optimizer()
    opt.param_groups[0]["lr"] = 0.1
    scheduler = sched.ExponentialLR(opt, gamma=0.5)
    assert scheduler.last_epoch == 0
    assert [g["initial_lr"] for g in opt.param_groups] == list(BASE_LRS)
    assert scheduler.base_lrs == list(BASE_LRS)
    assert scheduler.get_last_lr() == list(BASE_LRS)
    scheduler.step()
    assert scheduler.last_epoch == 1 and scheduler.get_last_lr() == [0.05, 0.02]
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(make_optimizer(), step_size=3, last_epoch=4)


def onecycle_by_formula(max_lr, total, pct, div=25.0, final_div=1e4, three_phase=False, linear=False):
    """(lr, momentum) per step, from the phase boundaries written out."""
    anneal = (lambda a, b, x: a + (b - a) * x) if linear else cos_anneal
    initial, low = max_lr / div, max_lr / div / final_div
    up = pct * total - 1  # last step of the warm-up
    out = []
    for e in range(total):
        if e <= up:
            x = e / up
            out.append((anneal(initial, max_lr, x), anneal(0.95, 0.85, x)))
        elif three_phase and e <= 2 * up:
            x = (e - up) / up
            out.append((anneal(max_lr, initial, x), anneal(0.85, 0.95, x)))
        else:
            start = 2 * up if three_phase else up
            x = (e - start) / (total - 1 - start)
            out.append((anneal(initial if three_phase else max_lr, low, x), 0.95 if three_phase else anneal(0.85, 0.95, x)))
    return np.array(out)


@pytest.mark.parametrize("three_phase, linear", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam])
def test_onecycle_against_formula(cls, three_phase, linear):
    opt = make_optimizer(cls)
    scheduler = sched.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=40, pct_start=0.25,
                                 three_phase=three_phase, anneal_strategy="linear" if linear else "cos")
    got = []
    for _ in range(40):
        group = opt.param_groups[1]
        got.append((group["lr"], group["betas"][0] if cls is optim.Adam else group["momentum"]))
        opt.step()
        if len(got) < 40:
            scheduler.step()
    expected = onecycle_by_formula(0.5, 40, 0.25, three_phase=three_phase, linear=linear)
    np.testing.assert_allclose(np.array(got), expected, rtol=1e-12, atol=1e-15)
    assert opt.param_groups[0]["lr"] == pytest.approx(1.0 / 25 / 1e4)
    if cls is optim.Adam:
        assert opt.param_groups[0]["betas"][1] == 0.999


def test_onecycle_landmarks_and_limits():
    opt = make_optimizer()
    scheduler = sched.OneCycleLR(opt, max_lr=2.0, epochs=2, steps_per_epoch=10)  # 20 steps, peak at step 5
    assert scheduler.total_steps == 20
    lrs = lr_sequence(opt, scheduler, epochs=20)[:, 0]
    assert lrs[0] == pytest.approx(2.0 / 25) and lrs[5] == pytest.approx(2.0) and lrs.argmax() == 5
    assert lrs[-1] == pytest.approx(2.0 / 25 / 1e4)
    assert scheduler.last_epoch == 20  # step 20 is still allowed (PyTorch's bound), 21 is not
    with pytest.raises(ValueError, match="total_steps is 20"):
        scheduler.step()
    with pytest.raises(ValueError, match="cycle_momentum"):
        sched.OneCycleLR(make_optimizer(optim.Adagrad), max_lr=1.0, total_steps=10)
    sched.OneCycleLR(make_optimizer(optim.Adagrad), max_lr=1.0, total_steps=10, cycle_momentum=False)


TORCH_CASES = [
    ("StepLR", dict(step_size=4, gamma=0.7)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11], gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.85)),
    ("CosineAnnealingLR", dict(T_max=9, eta_min=0.002)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e * (1 + e % 3))),
    ("LinearLR", dict(start_factor=0.1, total_iters=6)),
    ("OneCycleLR", dict(max_lr=[0.8, 0.3], total_steps=EPOCHS, pct_start=0.4)),
    ("OneCycleLR", dict(max_lr=0.8, total_steps=EPOCHS, three_phase=True, anneal_strategy="linear",
                        base_momentum=0.7, max_momentum=0.9, div_factor=10, final_div_factor=100)),
]


@pytest.mark.parametrize("cls_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name, options", TORCH_CASES, ids=[n for n, _ in TORCH_CASES])
def test_against_torch(name, options, cls_name):
    torch = pytest.importorskip("torch")

    def sequence(module, opt):
        scheduler = getattr(module.lr_scheduler, name)(opt, **options)
        out = []
        for _ in range(EPOCHS):
            out.append([g["lr"] for g in opt.param_groups] +
                       [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups])
            opt.step()
            if len(out) < EPOCHS:
                scheduler.step()
        return np.array(out)

    kw = {"momentum": 0.9} if cls_name == "SGD" else {}
    tparams = [torch.nn.Parameter(torch.zeros(n)) for n in (3, 2)]
    topt = getattr(torch.optim, cls_name)([{"params": tparams[:1]}, {"params": tparams[1:], "lr": BASE_LRS[1]}],
                                          lr=BASE_LRS[0], **kw)
    expected = sequence(torch.optim, topt)
    got = sequence(optim, make_optimizer(getattr(optim, cls_name)))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------- ReduceLROnPlateau
def plateau_lrs(metrics, **options):
    opt = make_optimizer()
    scheduler = sched.ReduceLROnPlateau(opt, **options)
    out = []
    for m in metrics:
        scheduler.step(m)
        out.append(opt.param_groups[0]["lr"])
        assert scheduler.get_last_lr()[0] == out[-1]
    return out


def test_reduce_on_plateau_min_with_patience_and_cooldown():
    # patience 2: the 3rd epoch in a row without improvement reduces; cooldown 1 then
    # ignores the next epoch.  7.9995 is not 1e-4-relatively better than 8, so it is "bad".
    metrics = [10, 9, 9, 9, 9, 9, 9, 9, 8, 9.0, 9.0, 9.0, 7.9995]
    lrs = plateau_lrs(metrics, mode="min", factor=0.5, patience=2, cooldown=1)
    #   epoch:       1    2    3    4    5      6      7      8      9      10     11     12     13
    #   bad count:   0    0    1    2    3->R   cd     1      2      0      1      2      3->R   cd
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025])


def test_reduce_on_plateau_threshold_modes():
    # rel: each value is within 1e-4·10 of the best, so none improves; abs with threshold 1e-5: each does
    metrics = [10, 10.0005, 10.0008, 10.0009]
    lrs_rel = plateau_lrs(metrics, mode="max", patience=1, factor=0.1)
    lrs_abs = plateau_lrs(metrics, mode="max", patience=1, factor=0.1, threshold_mode="abs", threshold=1e-5)
    assert lrs_rel == pytest.approx([0.1, 0.1, 0.01, 0.01])
    assert lrs_abs == pytest.approx([0.1, 0.1, 0.1, 0.1])


def test_reduce_on_plateau_min_lr_per_group_and_eps():
    opt = make_optimizer()
    scheduler = sched.ReduceLROnPlateau(opt, factor=0.1, patience=0, min_lr=[0.005, 0.0])
    for _ in range(4):
        scheduler.step(1.0)
    # group 0 stops at its min_lr; group 1 keeps shrinking until a change is below eps = 1e-8
    assert opt.param_groups[0]["lr"] == 0.005
    assert opt.param_groups[1]["lr"] == pytest.approx(0.04 * 1e-3)
    for _ in range(10):
        scheduler.step(1.0)
    assert opt.param_groups[1]["lr"] == pytest.approx(4e-9)  # 4e-8 -> 4e-9 was 3.6e-8 > eps; 4e-9 -> 4e-10 is not


def test_reduce_on_plateau_against_torch():
    torch = pytest.importorskip("torch")
    noise = np.random.default_rng(3).normal(0, 0.005, 60)
    metrics = list(np.r_[np.linspace(5, 1, 20), np.ones(20), np.linspace(1, 0.9, 20)] + noise)
    options = dict(mode="min", factor=0.3, patience=3, threshold=0.01, cooldown=2, min_lr=0.001)
    ours = plateau_lrs(metrics, **options)
    tparam = torch.nn.Parameter(torch.zeros(2))
    topt = torch.optim.SGD([tparam], lr=0.1)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **options)
    theirs = []
    for m in metrics:
        tsched.step(m)
        theirs.append(topt.param_groups[0]["lr"])
    assert ours == pytest.approx(theirs, rel=1e-12)


# ------------------------------------------------------------- checkpoints and validation
@pytest.mark.parametrize("make", [
    lambda o: sched.StepLR(o, step_size=3, gamma=0.5),
    lambda o: sched.CosineAnnealingLR(o, T_max=10),
    lambda o: sched.OneCycleLR(o, max_lr=1.0, total_steps=20),
    lambda o: sched.LambdaLR(o, lambda e: 0.9 ** e),
], ids=["StepLR", "CosineAnnealingLR", "OneCycleLR", "LambdaLR"])
def test_state_dict_round_trip(make):
    opt = make_optimizer()
    scheduler = make(opt)
    for _ in range(7):
        opt.step()
        scheduler.step()
    sd, opt_sd = scheduler.state_dict(), opt.state_dict()
    assert "optimizer" not in sd and "lr_lambdas" not in sd
    expected = lr_sequence(opt, scheduler, epochs=8)

    opt2 = make_optimizer()
    scheduler2 = make(opt2)
    opt2.load_state_dict(opt_sd)
    scheduler2.load_state_dict(sd)
    assert scheduler2.last_epoch == 7
    np.testing.assert_array_equal(lr_sequence(opt2, scheduler2, epochs=8), expected)


def test_reduce_on_plateau_state_dict_round_trip():
    metrics = [5, 4, 4, 4, 4, 3, 3, 3, 3, 3]
    opt = make_optimizer()
    scheduler = sched.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for m in metrics[:4]:
        scheduler.step(m)
    opt2 = make_optimizer()
    scheduler2 = sched.ReduceLROnPlateau(opt2)
    opt2.load_state_dict(opt.state_dict())
    scheduler2.load_state_dict(scheduler.state_dict())
    for m in metrics[4:]:
        scheduler.step(m)
        scheduler2.step(m)
        assert scheduler2.get_last_lr() == scheduler.get_last_lr()
    assert scheduler.best == scheduler2.best == 3


BAD = [
    (lambda o: sched.StepLR(o, step_size=0), "step_size must be a positive integer"),
    (lambda o: sched.StepLR(o, step_size=2, gamma=-0.1), "gamma must be > 0"),
    (lambda o: sched.ExponentialLR(o, gamma=0), "gamma must be > 0"),
    (lambda o: sched.CosineAnnealingLR(o, T_max=0), "T_max must be > 0"),
    (lambda o: sched.LinearLR(o, start_factor=0), r"start_factor must be in \(0, 1\]"),
    (lambda o: sched.LinearLR(o, end_factor=1.5), r"end_factor must be in \[0, 1\]"),
    (lambda o: sched.LambdaLR(o, [lambda e: 1.0]), "1 lr_lambdas for 2 parameter group"),
    (lambda o: sched.OneCycleLR(o, max_lr=1.0), "give total_steps, or epochs and steps_per_epoch"),
    (lambda o: sched.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), r"pct_start must be in \[0, 1\]"),
    (lambda o: sched.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"), "anneal_strategy"),
    (lambda o: sched.OneCycleLR(o, max_lr=[1.0, 2.0, 3.0], total_steps=10), "3 values of max_lr for 2"),
    (lambda o: sched.ReduceLROnPlateau(o, factor=1.0), r"factor must be in \[0, 1\)"),
    (lambda o: sched.ReduceLROnPlateau(o, mode="lowest"), "mode must be 'min' or 'max'"),
    (lambda o: sched.ReduceLROnPlateau(o, threshold_mode="pct"), "threshold_mode must be 'rel' or 'abs'"),
    (lambda o: sched.ReduceLROnPlateau(o, min_lr=[0.1]), "1 values of min_lr for 2"),
]


@pytest.mark.parametrize("make, message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make(make_optimizer())


def test_needs_a_minicnn_optimizer():
    with pytest.raises(TypeError, match="optimizer"):
        sched.StepLR(object(), step_size=2)
