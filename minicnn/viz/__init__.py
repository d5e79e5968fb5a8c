"""Seeing inside a network: feature maps, filters, saliency, Grad-CAM, occlusion.

    from minicnn import viz
    maps = viz.activations(net, image, ["features.0", "features.3"])   # {name: array}
    heat = viz.grad_cam(net, image, target=3, path="gradcam.png")     # (H, W) in [0, 1]

Every function returns NumPy arrays and, given ``path``, also writes a PNG
picture (matplotlib, from the ``viz`` extra: ``pip install "minicnn[viz]"``;
it is imported only when a picture is written).  The model is put in eval
mode and given back in the mode it was in; its parameters are never changed
and no gradient is computed for them.  Layers are named as in
``model.named_modules()``.  See docs/visualization.md.

| file            | what                                                              |
|-----------------|-------------------------------------------------------------------|
| features.py     | ``activations``, ``plot_feature_maps``, ``plot_filters``, ``visualize_filter`` |
| attribution.py  | ``saliency_map``, ``grad_cam``, ``occlusion_sensitivity``         |
| classic.py      | Sobel, Scharr and line-detector kernels, ``apply_kernels``        |
| plotting.py     | figures and PNGs, ``plot_history``, ``plot_confusion_matrix``     |
| cli.py          | ``minicnn viz ...``                                               |
"""
from ._common import expected_input_shape
from .attribution import grad_cam, occlusion_sensitivity, saliency_map
from .classic import CLASSIC_KERNELS, apply_kernels, to_grey
from .features import activations, filter_tiles, plot_feature_maps, plot_filters, visualize_filter
from .plotting import plot_confusion_matrix, plot_history

__all__ = [
    "activations",
    "plot_feature_maps",
    "plot_filters",
    "filter_tiles",
    "visualize_filter",
    "saliency_map",
    "grad_cam",
    "occlusion_sensitivity",
    "plot_history",
    "plot_confusion_matrix",
    "CLASSIC_KERNELS",
    "apply_kernels",
    "to_grey",
    "expected_input_shape",
]
