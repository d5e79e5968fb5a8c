"""The benchmark's outputs: JSON (everything), a Markdown table, a bar chart (matplotlib, optional)."""
from __future__ import annotations

import json


def write_json(results, path):
    with open(path, "w") as f:
        json.dump(results, f, indent=2)


def markdown(results):
    """Markdown tables for the sections present in ``results``."""
    m = results["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['threads']} threads; Python {m['python']}, "
        f"NumPy {m['numpy']} ({m['blas']}), Numba {m['numba']}, PyTorch {m['torch']}; "
        f"kernels setting `{results['kernels_setting']}`; {results['rounds']} interleaved rounds, medians.",
        "",
    ]
    if results.get("training"):
        with_torch = any("torch_ms" in r for r in results["training"])
        head = "| model | batch | pass | minicnn ms | minicnn img/s |"
        rule = "|---|---|---|---|---|"
        if with_torch:
            head += " PyTorch ms | PyTorch img/s | minicnn / PyTorch |"
            rule += "---|---|---|"
        lines += [head, rule]
        for r in results["training"]:
            line = (f"| {r['model']} | {r['batch']} | {r['mode']} | {r['minicnn_ms']:.1f} | "
                    f"{r['minicnn_images_per_s']:,.0f} |")
            if with_torch:
                line += f" {r['torch_ms']:.1f} | {r['torch_images_per_s']:,.0f} | {r['ratio']:.2f} |"
            lines.append(line)
        lines.append("")
    if results.get("kernels"):
        impls = [i for i in ("reference", "numba", "cupy") if any(f"{i}_ms" in r for r in results["kernels"])]
        lines += ["| kernel | case | " + " | ".join(f"{i} ms" for i in impls) + " | speed-up over reference |",
                  "|---|---|" + "---|" * len(impls) + "---|"]
        for r in results["kernels"]:
            speedups = ", ".join(f"{k[:-8]} x{r[k]:.1f}" for k in r if k.endswith("_speedup"))
            lines.append(f"| {r['kernel']} | {r['case']} | "
                         + " | ".join(f"{r[f'{i}_ms']:.2f}" if f"{i}_ms" in r else "-" for i in impls)
                         + f" | {speedups} |")
        lines.append("")
    if results.get("startup"):
        lines += ["| start | import s | first step s | warm step ms | extra s |", "|---|---|---|---|---|"]
        for r in results["startup"]:
            lines.append(f"| {r['start']} | {r['import_s']:.2f} | {r['first_step_s']:.2f} | "
                         f"{1e3 * r['warm_step_s']:.1f} | {r['extra_s']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def plot(results, path):
    """Images/s per network and pass, minicnn beside PyTorch; returns False without matmotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = results.get("training") or []
    if not rows:
        return False
    labels = [f"{r['model']}\nb{r['batch']} {'train' if r['mode'] == 'train step' else 'infer'}" for r in rows]
    positions = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rows)), 4))
    width = 0.4
    ax.bar([p - width / 2 for p in positions], [r["minicnn_images_per_s"] for r in rows], width, label="minicnn")
    if all("torch_images_per_s" in r for r in rows):
        ax.bar([p + width / 2 for p in positions], [r["torch_images_per_s"] for r in rows], width, label="PyTorch")
    ax.set_xticks(list(positions), labels, fontsize=8)
    ax.set_ylabel("images / s (higher is better)")
    ax.set_yscale("log")
    ax.set_title(f"minicnn vs PyTorch, CPU, {results['machine']['threads']} threads, float32")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
