"""The benchmark's outputs: JSON (everything), a Markdown table, a bar chart (matplotlib, optional)."""
from __future__ import annotations

import json

MISSING = "—"  # a figure that was not measured (no such implementation, or it failed)


def write_json(results, path):
    with open(path, "w") as f:
        json.dump(results, f, indent=2)


def _gpu(results):
    """The GPU's description when the run was on the GPU, else None."""
    return results["machine"].get("gpu") if results.get("device", "cpu") != "cpu" else None


def _number(value, spec):
    return MISSING if value is None else format(value, spec)


def markdown(results):
    """Markdown tables for the sections present in ``results``."""
    m = results["machine"]
    gpu = _gpu(results)
    header = (f"Machine: {m['cpu']}, {m['cores']} cores, {m['threads']} threads; Python {m['python']}, "
              f"NumPy {m['numpy']} ({m['blas']}), Numba {m['numba']}, PyTorch {m['torch']}; ")
    if gpu is not None:
        header += (f"GPU: {gpu['name']} (CuPy {gpu['cupy']}"
                   + (f", PyTorch CUDA {gpu['torch_cuda']}, cuDNN {gpu['cudnn']}" if "torch_cuda" in gpu else "")
                   + "); ")
    header += f"kernels setting `{results['kernels_setting']}`; {results['rounds']} interleaved rounds, medians"
    if gpu is not None:
        cpu_rounds = results.get("cpu_rounds", results["rounds"])
        header += (f" (minicnn on the CPU in the first {cpu_rounds} of them)" if cpu_rounds
                   else " (minicnn not timed on the CPU)")
    header += "."
    lines = [header, ""]
    if results.get("torch_note"):
        lines += [results["torch_note"] + ".", ""]
    if results.get("torch_gpu_settings"):
        settings = ", ".join(f"`{k} = {v}`" for k, v in results["torch_gpu_settings"].items())
        lines += [f"PyTorch on the GPU: {settings} (float32 on both sides).", ""]
    if results.get("training"):
        lines += (_gpu_training_table if gpu is not None else _training_table)(results["training"]) + [""]
    if results.get("kernels"):
        lines += (_gpu_kernel_table if gpu is not None else _kernel_table)(results["kernels"]) + [""]
    if results.get("startup"):
        lines += ["| start | import s | first step s | warm step ms | extra s |", "|---|---|---|---|---|"]
        for r in results["startup"]:
            lines.append(f"| {r['start']} | {r['import_s']:.2f} | {r['first_step_s']:.2f} | "
                         f"{1e3 * r['warm_step_s']:.1f} | {r['extra_s']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def _training_table(rows):
    with_torch = any("torch_ms" in r for r in rows)
    head = "| model | batch | pass | minicnn ms | minicnn img/s |"
    rule = "|---|---|---|---|---|"
    if with_torch:
        head += " PyTorch ms | PyTorch img/s | minicnn / PyTorch |"
        rule += "---|---|---|"
    lines = [head, rule]
    for r in rows:
        line = (f"| {r['model']} | {r['batch']} | {r['mode']} | {r['minicnn_ms']:.1f} | "
                f"{r['minicnn_images_per_s']:,.0f} |")
        if with_torch:
            line += f" {r['torch_ms']:.1f} | {r['torch_images_per_s']:,.0f} | {r['ratio']:.2f} |"
        lines.append(line)
    return lines


def _gpu_training_table(rows):
    """minicnn on the GPU, PyTorch on the GPU (time ratio), minicnn on the CPU (speed-up of the GPU)."""
    lines = ["| model | batch | pass | minicnn GPU ms | minicnn GPU img/s | PyTorch GPU ms | PyTorch GPU img/s "
             "| minicnn / PyTorch (time) | minicnn CPU img/s | minicnn GPU / CPU (speed-up) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['batch']} | {r['mode']} | {r['minicnn_ms']:.2f} | "
            f"{r['minicnn_images_per_s']:,.0f} | {_number(r.get('torch_ms'), '.2f')} | "
            f"{_number(r.get('torch_images_per_s'), ',.0f')} | {_number(r.get('ratio'), '.2f')} | "
            f"{_number(r.get('minicnn_cpu_images_per_s'), ',.0f')} | {_number(r.get('gpu_speedup'), '.1f')} |")
    return lines


def _kernel_table(rows):
    impls = [i for i in ("reference", "numba", "cupy") if any(f"{i}_ms" in r for r in rows)]
    lines = ["| kernel | case | " + " | ".join(f"{i} ms" for i in impls) + " | speed-up over reference |",
             "|---|---|" + "---|" * len(impls) + "---|"]
    for r in rows:
        speedups = ", ".join(f"{k[:-8]} x{r[k]:.1f}" for k in r if k.endswith("_speedup"))
        lines.append(f"| {r['kernel']} | {r['case']} | "
                     + " | ".join(f"{r[f'{i}_ms']:.2f}" if f"{i}_ms" in r else "-" for i in impls)
                     + f" | {speedups} |")
    if any("chunks" in r for r in rows):
        lines += ["", "im2col and col2im: \"n chunks of k\" is the batch as the convolution walks it (one call per "
                      "chunk of k samples, each into a reused `out`: the scratch buffer, or the chunk's slice of "
                      "the result; the reference copies into it), on one thread; \"whole batch\" is one call "
                      "into a fresh result (allocating it is part of the time)."]
    return lines


def _gpu_kernel_table(rows):
    """cupy and the reference on GPU arrays, the CPU's fastest on host arrays; MISSING where not measured."""
    lines = ["| kernel | case | cupy ms | reference on GPU ms | CPU ms (implementation) "
             "| cupy speed-up over reference on GPU | GPU speed-up over CPU (GPU implementation) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        errors = "; ".join(f"{k[:-6]} failed: {r[k]}" for k in r if k.endswith("_error"))
        gpu_vs_cpu = _number(r["gpu_vs_cpu"], ".1f")
        lines.append(
            f"| {r['kernel']} | {r['case']} | {_number(r['cupy_ms'], '.3f')} | "
            f"{_number(r['reference_gpu_ms'], '.3f')} | {_number(r['cpu_ms'], '.2f')} ({r['cpu_impl']}) | "
            f"{_number(r['cupy_speedup'], '.1f')} | {gpu_vs_cpu}"
            + (f" ({r['gpu_impl']})" if r["gpu_vs_cpu"] is not None else "")
            + (f" {errors}" if errors else "") + " |")
    return lines


def plot(results, path):
    """Images/s per network and pass, minicnn beside PyTorch (and minicnn's CPU on a GPU run);
    returns False without matplotlib or training figures."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = results.get("training") or []
    if not rows:
        return False
    gpu = _gpu(results)
    where = "GPU" if gpu is not None else "CPU"
    series = [("minicnn_images_per_s", f"minicnn {where}"), ("torch_images_per_s", f"PyTorch {where}")]
    if gpu is not None:
        series.append(("minicnn_cpu_images_per_s", "minicnn CPU"))
    series = [(key, label) for key, label in series if all(key in r for r in rows)]
    labels = [f"{r['model']}\nb{r['batch']} {'train' if r['mode'] == 'train step' else 'infer'}" for r in rows]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(rows)), 4))
    for i, (key, label) in enumerate(series):
        offset = (i - (len(series) - 1) / 2) * width
        ax.bar([p + offset for p in range(len(rows))], [r[key] for r in rows], width, label=label)
    ax.set_xticks(list(range(len(rows))), labels, fontsize=8)
    ax.set_ylabel("images / s (higher is better)")
    ax.set_yscale("log")
    if gpu is not None:
        ax.set_title(f"minicnn vs PyTorch on {gpu['name']}, float32\n"
                     f"and minicnn on the CPU ({results['machine']['threads']} threads)", fontsize=9)
    else:
        ax.set_title(f"minicnn vs PyTorch, CPU, {results['machine']['threads']} threads, float32")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
