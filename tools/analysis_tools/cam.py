"""Class activation maps (the xERM paper's Figure 4):
``python tools/analysis_tools/cam.py --model NAME CONFIG CHECKPOINT
[--model ...] --indices I [I ...] --out-dir DIR``.

For the test images ``--indices`` (positions in the config's test dataset,
the balanced one, or ``--test-set``), each model's Grad-CAM (the ``grad-cam``
package, an optional extra: ``pip install 'grad-cam==1.4.8'``; see
:mod:`xerm_mm.analysis.grad_cam`: the last backbone stage's map, weighted by
the gradient of the class's logit in the view the model predicts with) for
its predicted class, or the true class with ``--target gt``; the models side
by side, a row per image.

Writes ``{out_dir}/{name}.png``, ``.pdf`` and ``.json`` (the images'
indices and labels, per model the predicted and CAM classes and a summary
of each CAM) and ``{name}_cams.npz`` (the CAMs, ``(images, H, W)`` per
model).
"""
import argparse
import os.path as osp
from collections import OrderedDict

import matplotlib

matplotlib.use('Agg')

import numpy as np  # noqa: E402
import torch  # noqa: E402

from xerm_mm.analysis import save_figure  # noqa: E402
from xerm_mm.analysis.cam_plot import cam_summary, draw_cams  # noqa: E402
from xerm_mm.analysis.cli import (add_figure_options,  # noqa: E402
                                  add_model_option, add_test_set_options,
                                  check_model_names)
from xerm_mm.analysis.features import preprocess, save_cached  # noqa: E402
from xerm_mm.analysis.grad_cam import grad_cam, import_grad_cam  # noqa: E402
from xerm_mm.analysis.trained_model import (  # noqa: E402
    load_model_and_test_set, resolved_models)
from xerm_mm.utils import register_all_modules  # noqa: E402


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
    main()
