"""Plot the paths of minicnn's optimizers on two 2-d functions.

    python docs/scripts/plot_optimizers.py   # writes docs/images/optimizer_trajectories.png

Left: an elongated quadratic bowl, f(x, y) = (x² + 20·y²)/2, where plain
gradient descent zig-zags across the narrow direction and momentum or
per-coordinate scaling help.  Right: the Rosenbrock valley (2500 steps; L-BFGS: 40),
f(x, y) = (1 - x)² + 100·(y - x²)², minimum at (1, 1).  Every path is made by
minicnn's own optimizers stepping a 2-element Parameter; needs matplotlib
(the ``viz`` extra).
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minicnn as mc  # noqa: E402
from minicnn import optim  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "images" / "optimizer_trajectories.png"


def quadratic(p):
    return 0.5 * (p[0] * p[0] + 20 * p[1] * p[1])


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] * p[0]) ** 2


def path(f, start, make_optimizer, steps):
    """The points visited by an optimizer minimising ``f`` from ``start``."""
    p = mc.nn.Parameter(mc.tensor(start, dtype=mc.float64))
    opt = make_optimizer([p])

    def closure():
        opt.zero_grad()
        loss = f(p)
        loss.backward()
        return loss

    points = [p.numpy().copy()]
    for _ in range(steps):
        opt.step(closure)
        points.append(p.numpy().copy())
    return np.array(points)


PANELS = [
    ("elongated quadratic  (x² + 20y²)/2", quadratic, (-4.0, 1.5), 60, (-4.5, 1.5, -1.6, 1.8), [
        ("SGD", lambda ps: optim.SGD(ps, lr=0.09)),
        ("SGD momentum 0.9", lambda ps: optim.SGD(ps, lr=0.02, momentum=0.9)),
        ("Nesterov 0.9", lambda ps: optim.SGD(ps, lr=0.02, momentum=0.9, nesterov=True)),
        ("Adagrad", lambda ps: optim.Adagrad(ps, lr=1.0)),
        ("RMSprop", lambda ps: optim.RMSprop(ps, lr=0.05)),
        ("Adam", lambda ps: optim.Adam(ps, lr=0.3)),
        ("Adadelta (lr 30)", lambda ps: optim.Adadelta(ps, lr=30.0)),
    ]),
    ("Rosenbrock  (1-x)² + 100(y-x²)²", rosenbrock, (-1.5, 2.0), 2500, (-2.0, 2.0, -0.5, 3.0), [
        ("SGD", lambda ps: optim.SGD(ps, lr=1e-3)),
        ("SGD momentum 0.9", lambda ps: optim.SGD(ps, lr=3e-4, momentum=0.9)),
        ("Adagrad", lambda ps: optim.Adagrad(ps, lr=0.5)),
        ("RMSprop", lambda ps: optim.RMSprop(ps, lr=0.01)),
        ("Adam", lambda ps: optim.Adam(ps, lr=0.05)),
        # one L-BFGS iteration per step (the history carries over between steps)
        ("L-BFGS + strong Wolfe", lambda ps: optim.LBFGS(ps, max_iter=1, max_eval=25, line_search_fn="strong_wolfe"), 40),
    ]),
]


def main():
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=80)
    for ax, (title, f, start, steps, (x0, x1, y0, y1), optimizers) in zip(axes, PANELS):
        xs, ys = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
        zs = f(np.stack([xs, ys]))  # the same formula on a NumPy grid
        ax.contour(xs, ys, zs, levels=np.geomspace(max(zs.min(), 1e-2), zs.max(), 14), colors="0.8",
                   linewidths=0.7)
        for (name, make, *own_steps), color in zip(optimizers, colors):
            pts = path(f, start, make, own_steps[0] if own_steps else steps)
            ax.plot(pts[:, 0], pts[:, 1], ".-", color=color, lw=1.1, ms=2.5 if len(pts) <= 100 else 0, label=name)
        minimum = (0, 0) if f is quadratic else (1, 1)
        ax.plot(*start, "ko", ms=5)
        ax.plot(*minimum, "k*", ms=10)
        ax.set(title=title, xlim=(x0, x1), ylim=(y0, y1))
        ax.legend(fontsize=7, loc="upper right" if f is quadratic else "lower right", framealpha=0.9)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, pil_kwargs={"optimize": True})
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
