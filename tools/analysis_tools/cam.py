"""Grad-CAM of several models on chosen test images (the paper's Figure 4).

``python tools/analysis_tools/cam.py --model NAME CONFIG CHECKPOINT [--model
...] --indices I [I ...] --out-dir DIR``: a row per image, a CAM per model
(needs ``pip install 'grad-cam==1.4.8'``). See docs/analysis.md.
"""
import argparse
import gc
import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from xerm_mm.analysis import new_figure, save_figure  # noqa: E402
from xerm_mm.analysis.cli import (add_figure_options,  # noqa: E402
                                  add_model_option, add_test_set_options,
                                  check_model_names)
from xerm_mm.analysis.features import preprocess, save_cached  # noqa: E402
from xerm_mm.analysis.trained_model import (  # noqa: E402
    load_model_and_test_set, resolved_models)
from xerm_mm.utils import register_all_modules  # noqa: E402

#: The grad-cam release we use: it needs ``opencv-python`` (ours), not
#: ``opencv-python-headless`` as 1.5 does, and it is the API mmpretrain
#: 1.2.0's vis_cam.py calls (``use_cuda``, dropped in 1.5).
GRAD_CAM_REQUIREMENT = 'grad-cam==1.4.8'


def import_grad_cam():
    """``pytorch_grad_cam``, or an ImportError saying how to install it."""
    try:
        import pytorch_grad_cam
    except ImportError as error:
        raise ImportError(
            'Grad-CAM needs the optional package grad-cam, which is not '
            f"installed: pip install '{GRAD_CAM_REQUIREMENT}' (or, in a "
            "checkout of xerm_mm, pip install -e '.[cam]').") from error
    return pytorch_grad_cam


def predicted_logits(model: nn.Module, feats) -> torch.Tensor:
    """``(N, C)`` logits of the view the model's head predicts with."""
    head = model.head
    if hasattr(head, 'views'):
        return head.views(feats)[head.predict_view]
    return head(feats)


class PredictingView(nn.Module):
    """A classifier as grad-cam sees it: images to the predicting view's
    logits, the backbone's last map passing through ``last_map``.

    Args:
        model (nn.Module): An ImageClassifier (``backbone``, ``neck``,
            ``head``).
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.last_map = nn.Identity()
        self.logits = None

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        handle = self.model.backbone.register_forward_hook(self._last_map)
        try:
            logits = predicted_logits(self.model,
                                      self.model.extract_feat(inputs))
        finally:
            handle.remove()
        self.logits = logits.detach()
        return logits

    def _last_map(self, module, args, output):
        if isinstance(output, (tuple, list)):
            return tuple(output[:-1]) + (self.last_map(output[-1]), )
        return self.last_map(output)


def grad_cam(model: nn.Module,
             inputs: torch.Tensor,
             targets: Optional[torch.Tensor] = None
             ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM of each image for its target class.

    Args:
        model (nn.Module): An ImageClassifier (``backbone``, ``neck``,
            ``head``), in eval mode.
        inputs (Tensor): ``(N, 3, H, W)`` preprocessed images.
        targets (Tensor, optional): ``(N,)`` class of each image's CAM;
            defaults to the predicted class.

    Returns:
        tuple: ``(cams, logits)``: ``(N, H, W)`` CAMs in [0, 1] and the
        ``(N, C)`` logits of the predicting view.
    """
    cam_lib = import_grad_cam()
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    view = PredictingView(model)
    cam = cam_lib.GradCAM(view, [view.last_map])
    try:
        if targets is not None:
            targets = [ClassifierOutputTarget(int(t)) for t in targets]
        # The input needs a gradient when the backbone's weights do not.
        cams = cam(inputs.detach().requires_grad_(), targets)
    finally:
        cam.activations_and_grads.release()
        model.zero_grad(set_to_none=True)  # grad-cam's backward filled them
    return torch.from_numpy(cams), view.logits


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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Grad-CAM of several models on chosen test images')
    add_model_option(
        parser, ['CONFIG', 'CHECKPOINT'], 'a model: its column title, its '
        'config and checkpoint')
    parser.add_argument(
        '--indices',
        nargs='+',
        type=int,
        required=True,
        help='positions of the images in the test set (a row each)')
    parser.add_argument(
        '--target',
        choices=['pred', 'gt'],
        default='pred',
        help='the class whose CAM is drawn: the predicted one (default) or '
        'the true one')
    add_test_set_options(parser)
    add_figure_options(parser, 'cam')
    args = parser.parse_args(argv)
    check_model_names(parser, args.model)
    return args


def display_image(model, sample: dict) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB of a packed test sample (BGR flipped when
    the data preprocessor converts to RGB; grey repeated)."""
    image = sample['inputs'].permute(1, 2, 0).cpu().numpy()
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    if getattr(model.data_preprocessor, 'to_rgb', False):
        image = image[..., ::-1]
    return np.ascontiguousarray(image.astype(np.uint8))


def check_indices(indices, dataset, name: str) -> None:
    """Raise IndexError naming the bad ``--indices`` and the valid range."""
    bad = [i for i in indices if not 0 <= i < len(dataset)]
    if bad:
        raise IndexError(f'--indices {bad}: the test set of --model {name} '
                         f'has {len(dataset)} images (0..{len(dataset) - 1})')


def main(argv=None):
    args = parse_args(argv)
    import_grad_cam()  # the optional package, before any model is loaded
    register_all_modules(init_default_scope=False)
    models = resolved_models(args.model)
    images, panels, arrays = [], OrderedDict(), {}
    for name, config, checkpoint in models:
        model, dataset = load_model_and_test_set(config, checkpoint,
                                                 args.data_root,
                                                 args.test_set)
        check_indices(args.indices, dataset, name)
        names = [str(c) for c in dataset.metainfo.get('classes') or []]
        inputs, samples = preprocess(model, dataset, args.indices)
        labels = torch.cat([s.gt_label for s in samples])
        cams, logits = grad_cam(model, inputs,
                                labels if args.target == 'gt' else None)
        pred = logits.argmax(dim=1)
        targets = labels if args.target == 'gt' else pred
        if not images:
            images = [
                dict(index=i, label=int(label),
                     label_name=names[label] if names else str(int(label)),
                     image=display_image(model, dataset[i]))
                for i, label in zip(args.indices, labels.tolist())
            ]
        class_name = (lambda c: names[c] if names else str(c))
        panels[name] = OrderedDict(
            config=config, checkpoint=checkpoint,
            pred=pred.tolist(), pred_name=[class_name(c) for c in
                                           pred.tolist()],
            target=targets.tolist(),
            target_name=[class_name(c) for c in targets.tolist()],
            cams=cams.numpy())
        arrays[name] = cams.numpy()
        print(f'[cam] {name}: predicted {pred.tolist()} for labels '
              f'{labels.tolist()}')
    fig = draw_cams(images, panels)
    for panel in panels.values():
        panel['cam_summary'] = [cam_summary(c) for c in panel.pop('cams')]
    numbers = OrderedDict(
        test_set=args.test_set or 'the config\'s test dataset',
        target=args.target,
        images=[{k: v for k, v in image.items() if k != 'image'}
                for image in images],
        models=panels)
    paths = save_figure(fig, numbers, args.out_dir, args.name)
    paths['npz'] = osp.join(args.out_dir, f'{args.name}_cams.npz')
    save_cached(paths['npz'], 'Grad-CAM, one (images, H, W) array per model',
                **arrays)
    print('written: ' + ', '.join(paths.values()))
    return numbers


if __name__ == '__main__':
    gc.freeze()  # the imports out of the collector's scans (tools/train.py)
    main()
