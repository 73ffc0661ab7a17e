"""Choose TDE's alpha for a trained TDE model from data:
``python tools/analysis_tools/choose_tde_alpha.py CONFIG CHECKPOINT``.

Where the config's dataset has a held-out balanced validation split
(ImageNet-LT, Places365-LT: ``split='val'``), each alpha of ``--grid`` is
tried on it and the best top-1 of the balanced (TDE) view wins; otherwise
(CIFAR-LT, DigitsLT) the TDE authors' rule of thumb ``alpha = 1 / mean
cos(x_k, m_k)`` over the training images (see
:mod:`xerm_mm.analysis.tde_alpha`). Then ``tools/test.py`` (in this
process) tests the checkpoint with the config's alpha and with the chosen
one (``--cfg-options model.head.alpha=A``) on the config's test sets.

Prints a Markdown table (top-1 per alpha and test set) and writes it all as
JSON (``--out``, default ``{work_dir}/tde_alpha.json``), each test's
command included, with ``cfg_options`` = ``{"model.head.alpha": ALPHA}`` (the
choice, as a pipeline's post-hoc stage reads it: see
:mod:`xerm_mm.apis.post_hoc`). Without ``--work-dir``, the tests run in the
folder of ``--out`` (else in ``work_dirs/choose_tde_alpha``).
"""
import argparse
import json
import os.path as osp
import shlex
from collections import OrderedDict

from mmengine.registry import DefaultScope

from xerm_mm.analysis.cli import experiment_name_option, load_tool
from xerm_mm.analysis.features import extract_features
from xerm_mm.analysis.tde_alpha import (alpha_from_mean_cos, check_grid,
                                        check_tde_config, choose_on_split,
                                        mean_cosines, training_dataset_cfg,
                                        validation_dataset_cfg)
from xerm_mm.analysis.trained_model import load_config, load_model
from xerm_mm.apis.experiment import parse_options
from xerm_mm.evaluation.report import markdown_table, split_by_test_set
from xerm_mm.registry import DATASETS
from xerm_mm.utils import register_all_modules
from xerm_mm.utils.atomic import atomic_write
from xerm_mm.utils.config import resolve_config_path

DEFAULT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Choose a trained TDE model's alpha on a balanced "
        'validation split or by alpha * mean cos = 1, and test both alphas')
    parser.add_argument('config', help='the TDE test config')
    parser.add_argument('checkpoint', help='the trained TDE checkpoint')
    parser.add_argument(
        '--method',
        choices=['auto', 'val', 'mean_cos'],
        default='auto',
        help="'val': the best of --grid on the validation split; "
        "'mean_cos': alpha = 1 / mean cos over the training set; 'auto' "
        '(default): val where the dataset has the split, else mean_cos')
    parser.add_argument(
        '--grid',
        nargs='*',
        type=float,
        default=list(DEFAULT_GRID),
        help='the alphas tried on the validation split (default: '
        f'{" ".join(map(str, DEFAULT_GRID))})')
    parser.add_argument('--data-root', help='folder of the dataset')
    parser.add_argument('--work-dir',
                        help='folder of the test runs (default: the folder '
                        'of --out, else work_dirs/choose_tde_alpha)')
    parser.add_argument(
        '--out', help='the JSON file (default: {work_dir}/tde_alpha.json)')
    parser.add_argument(
        '--test-sets',
        nargs='+',
        help='tools/test.py --test-sets (default: every set of the config)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value overrides of the config, for the choice and the '
        'tests')
    args = parser.parse_args(argv)
    try:
        args.grid = check_grid(args.grid)
    except ValueError as error:
        parser.error(str(error))
    if args.work_dir is None:
        args.work_dir = (osp.dirname(osp.abspath(args.out)) if args.out
                         else 'work_dirs/choose_tde_alpha')
    args.out = args.out or osp.join(args.work_dir, 'tde_alpha.json')
    return args


def choose(args, cfg) -> OrderedDict:
    """The chosen alpha and what it was chosen from."""
    val = validation_dataset_cfg(cfg)
    method = args.method
    if method == 'auto':
        method = 'val' if val is not None else 'mean_cos'
    if method == 'val' and val is None:
        raise ValueError(
            f'{args.config}: its test dataset '
            f'({cfg.test_dataloader.dataset.get("type")}) has no held-out '
            "validation split (split='val'); use --method mean_cos")
    dataset_cfg = val if method == 'val' else training_dataset_cfg(cfg)
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        dataset = DATASETS.build(dataset_cfg)
    model = load_model(cfg, args.checkpoint, dataset)
    feats, labels = extract_features(model, dataset)
    found = OrderedDict(method=method,
                        fixed_alpha=float(model.head.alpha),
                        images=len(labels))
    if method == 'val':
        alpha, top1 = choose_on_split(model.head, feats, labels, args.grid)
        found.update(alpha=alpha,
                     val_top1=OrderedDict(
                         (str(a), v) for a, v in top1.items()))
    else:
        cosines = mean_cosines(model.head, feats)
        found.update(alpha=alpha_from_mean_cos(cosines),
                     mean_cos=float(cosines.mean()),
                     mean_cos_per_head=[float(c) for c in cosines])
    return found


def test_alphas(args, alphas) -> OrderedDict:
    """tools/test.py with each alpha: ``{label: dict(alpha, top1,
    test_command)}``."""
    test_main = load_tool(__file__, 'test')['main']
    results = OrderedDict()
    for label, alpha in alphas.items():
        folder = osp.join(args.work_dir, label)
        argv = [
            args.config, args.checkpoint, '--work-dir', folder,
            '--metrics-out',
            osp.join(folder, 'metrics.json')
        ]
        if args.data_root:
            argv += ['--data-root', args.data_root]
        if args.test_sets:
            argv += ['--test-sets', *args.test_sets]
        argv += [
            '--cfg-options', *args.cfg_options, f'model.head.alpha={alpha!r}'
        ]
        print(f'[tde-alpha] {label}: python tools/test.py {shlex.join(argv)}',
              flush=True)
        rows = split_by_test_set(
            test_main(argv + [experiment_name_option(f'tde_alpha_{label}')]))
        results[label] = OrderedDict(alpha=alpha,
                                     top1=OrderedDict(
                                         (name, row['top1'])
                                         for name, row in rows.items()),
                                     test_command=['tools/test.py', *argv])
    return results


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    args.config = resolve_config_path(args.config)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} not found')
    cfg = load_config(args.config, args.data_root)
    if args.cfg_options:
        cfg.merge_from_dict(parse_options(args.cfg_options))
    check_tde_config(cfg, args.config)
    found = choose(args, cfg)
    print(f"[tde-alpha] chosen alpha {found['alpha']:.4f} ({found['method']}"
          f"; the config's: {found['fixed_alpha']})")
    results = test_alphas(
        args, OrderedDict(fixed=found['fixed_alpha'], chosen=found['alpha']))
    sets = list(results['fixed']['top1'])
    print(
        markdown_table(OrderedDict(
            (f"{label} (alpha={r['alpha']:.3f})", r['top1'])
            for label, r in results.items()),
                       sets,
                       first='alpha'))
    report = OrderedDict(config=args.config,
                         checkpoint=args.checkpoint,
                         choice=found,
                         results=results,
                         cfg_options={'model.head.alpha': found['alpha']})
    with atomic_write(args.out) as f:
        json.dump(report, f, indent=1)
    print(f'written: {args.out}')
    return report


if __name__ == '__main__':
    main()
