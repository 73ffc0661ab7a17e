"""Draw class activation maps (the xERM paper's Figure 4).

A row per test image: the image, then one panel per model with its CAM
over the image, titled with the model's predicted class (green when right,
red when wrong) and the class the CAM is of.
"""
from typing import Dict, Sequence

import numpy as np
from matplotlib.figure import Figure

from .figures import new_figure

#: Opacity of the CAM drawn over the image.
CAM_ALPHA = 0.5


def cam_summary(cam: np.ndarray, grid: int = 8) -> Dict:
    """What the JSON keeps of a ``(H, W)`` CAM in [0, 1]: its shape, mean,
    the peak's (row, column), the share of pixels above 0.5, and the CAM
    averaged over a ``grid`` x ``grid`` grid (rounded)."""
    h, w = cam.shape
    peak = np.unravel_index(int(np.argmax(cam)), cam.shape)
    rows = np.array_split(np.arange(h), min(grid, h))
    cols = np.array_split(np.arange(w), min(grid, w))
    coarse = [[float(cam[np.ix_(r, c)].mean()) for c in cols] for r in rows]
    return dict(shape=[h, w], mean=float(cam.mean()),
                peak=[int(peak[0]), int(peak[1])],
                above_half=float((cam > 0.5).mean()),
                grid=np.round(coarse, 3).tolist())


def draw_cams(images: Sequence[Dict], models: Dict[str, Dict]) -> Figure:
    """The figure: a row per image, the image and a CAM per model.

    Args:
        images (Sequence[dict]): ``dict(index, image=(H, W, 3) uint8 RGB,
            label, label_name)`` per row.
        models (dict): ``{name: dict(cams=(N, H, W), pred=[...],
            target=[...])}``, class names in ``pred_name`` and
            ``target_name``, in the rows' order.
    """
    cols = 1 + len(models)
    size = 2.1
    fig = new_figure(size * cols, size * len(images) + 0.3)
    axes = fig.subplots(len(images), cols, squeeze=False)
    for row, image in enumerate(images):
        ax = axes[row][0]
        ax.imshow(image['image'])
        ax.set_title(f"#{image['index']}: {image['label_name']}",
                     fontsize=9)
        for col, (name, model) in enumerate(models.items(), start=1):
            ax = axes[row][col]
            ax.imshow(image['image'])
            ax.imshow(model['cams'][row], cmap='jet', alpha=CAM_ALPHA,
                      vmin=0, vmax=1)
            right = model['pred'][row] == image['label']
            title = f"{name}: {model['pred_name'][row]}"
            if model['target'][row] != model['pred'][row]:
                title += f"\n(CAM of {model['target_name'][row]})"
            ax.set_title(title, fontsize=9,
                         color='tab:green' if right else 'tab:red')
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
