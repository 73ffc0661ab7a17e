"""The feature study (the paper's Table 6): classifiers on frozen backbones.

``python tools/analysis_tools/feature_study.py --config FEATURE_STUDY_CONFIG
--model NAME CHECKPOINT [--model ...] --work-dir DIR``: a linear classifier
trained on each checkpoint's frozen backbone and tested, by tools/train.py
and tools/test.py (resumable); prints the table. See docs/analysis.md.
"""
import argparse
import gc
import json
import os
import os.path as osp
import shlex
from collections import OrderedDict
from typing import Dict

import torch.nn as nn
from mmengine.config import Config
from mmengine.runner import find_latest_checkpoint

from xerm_mm.analysis.cli import (add_model_option, check_model_names,
                                  experiment_name_option, load_tool)
from xerm_mm.analysis.trained_model import (build_model,
                                            check_checkpoint_file,
                                            checkpoint_state_dict)
from xerm_mm.report import (markdown_table, split_by_test_set,
                            write_metrics_json)
from xerm_mm.utils import register_all_modules
from xerm_mm.utils.atomic import atomic_write
from xerm_mm.utils.checkpoint_checks import (check_finite,
                                             check_state_dict_fits)
from xerm_mm.utils.config import resolve_config_path

#: The ``--cfg-options`` key of the backbone's checkpoint.
CHECKPOINT_KEY = 'model.backbone.init_cfg.checkpoint'
PREFIX = 'backbone.'
#: In each model's work dir: what it was made from.
SOURCE_FILE = 'feature_study_source.json'
#: Table columns: LongTailMetric's key of each.
COLUMNS = OrderedDict([('top1', 'top1'), ('many', 'many_recall'),
                       ('medium', 'medium_recall'), ('few', 'few_recall')])


def check_study_config(cfg: Config, model: nn.Module, path: str) -> None:
    """Raise ValueError unless ``cfg`` loads its backbone from a checkpoint
    (``init_cfg`` Pretrained, prefix ``backbone.``) and ``model`` (built from
    it) trains nothing of the backbone but the head."""
    init_cfg = cfg.model.backbone.get('init_cfg') or {}
    if not isinstance(init_cfg, dict) or init_cfg.get('type') not in (
            'Pretrained', 'mmpretrain.Pretrained') or \
            init_cfg.get('prefix') != PREFIX:
        raise ValueError(
            f'{path}: model.backbone.init_cfg is {init_cfg!r}; a feature '
            "study config loads its backbone with init_cfg=dict(type="
            "'Pretrained', checkpoint='', prefix='backbone.') (see configs/"
            'feature_study/)')
    trainable = [n for n, p in model.backbone.named_parameters()
                 if p.requires_grad]
    if trainable:
        raise ValueError(
            f'{path}: the backbone is not frozen ({len(trainable)} '
            f'trainable tensors, e.g. {trainable[0]}); set '
            'model.backbone.frozen_stages to its number of stages (4 for '
            'BBNResNet32 and ResNeXt-50)')


def check_backbone_checkpoint(model: nn.Module, checkpoint: str,
                              name: str) -> None:
    """Raise unless ``checkpoint`` holds finite ``backbone.`` weights that
    fit ``model.backbone`` exactly (an XE, PC, TDE or xERM checkpoint of the
    same backbone).

    Raises:
        FileNotFoundError, CheckpointFileError: The file is missing or bad.
        KeyError: It holds no ``backbone.`` weights.
        NonFiniteWeightsError, CheckpointMismatchError: naming the file.
    """
    source = f'--model {name}: checkpoint {checkpoint!r}'
    state = checkpoint_state_dict(checkpoint)
    backbone = {k[len(PREFIX):]: v for k, v in state.items()
                if k.startswith(PREFIX)}
    if not backbone:
        raise KeyError(f'{source} holds no {PREFIX}* weights; give the '
                       'checkpoint of a classifier trained by tools/'
                       'train.py (XE, PC, TDE, xERM-PC or xERM-TDE)')
    check_finite(backbone, source)
    check_state_dict_fits(model.backbone, backbone,
                          f'{source} (its {PREFIX}* part)')


def study_row(metrics: Dict) -> Dict[str, float]:
    """``{top1, many, medium, few}`` of the one test set of ``metrics``
    (``tools/test.py``'s metrics of a feature study config)."""
    rows = split_by_test_set(metrics)
    row = rows.get('balanced') or next(iter(rows.values()))
    return OrderedDict((column, row[key]) for column, key in COLUMNS.items())


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Freeze each checkpoint\'s backbone, retrain a linear '
        'classifier on the balanced training set, test it on the balanced '
        'test set, and print the table')
    parser.add_argument(
        '--config', required=True,
        help='a feature study config (configs/feature_study/)')
    add_model_option(parser, ['CHECKPOINT'],
                     'a model: its table row name and its checkpoint')
    parser.add_argument(
        '--work-dir', default='work_dirs/feature_study',
        help='folder of the runs, a sub-folder per model')
    parser.add_argument(
        '--out-dir', help='folder of the table\'s JSON (default: --work-dir)')
    parser.add_argument(
        '--name', default='feature_study',
        help='file name of the JSON, without extension')
    parser.add_argument(
        '--data-root', help='tools/train.py and test.py --data-root')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='tools/train.py and test.py --cfg-options, for every model')
    args = parser.parse_args(argv)
    check_model_names(parser, args.model)
    args.out_dir = args.out_dir or args.work_dir
    return args


def _common_argv(args, checkpoint: str) -> list:
    argv = ['--data-root', args.data_root] if args.data_root else []
    return argv + ['--cfg-options', f'{CHECKPOINT_KEY}={checkpoint}',
                   *args.cfg_options]


def _check_source(work: str, source: dict, name: str) -> None:
    """Refuse a work dir made from another checkpoint or config."""
    path = osp.join(work, SOURCE_FILE)
    if osp.isfile(path):
        with open(path) as f:
            before = json.load(f)
        if before != source:
            raise FileExistsError(
                f'--model {name}: {work!r} holds the run of {before}, not '
                f'of {source}; give another --work-dir or model name')
    elif find_latest_checkpoint(work) is not None:
        raise FileExistsError(
            f'--model {name}: {work!r} holds checkpoints of another run; '
            'give another --work-dir or model name')


def run_model(args, tools: dict, name: str, checkpoint: str,
              epochs: int) -> OrderedDict:
    """Train (or resume) and test one model; its entry of the JSON."""
    work = osp.join(args.work_dir, name)
    source = dict(config=osp.abspath(args.config),
                  checkpoint=osp.abspath(checkpoint))
    _check_source(work, source, name)
    final = osp.join(work, f'epoch_{epochs}.pth')
    metrics_file = osp.join(work, 'metrics.json')
    common = _common_argv(args, checkpoint)
    train_head = [args.config, '--work-dir', work, '--no-validate']
    train_argv = [*train_head, *common]
    test_argv = [args.config, final, '--work-dir', work, '--metrics-out',
                 metrics_file, *common]
    if osp.isfile(metrics_file):
        print(f'[feature study] {name}: done before ({metrics_file}), '
              'skipped', flush=True)
    else:
        os.makedirs(work, exist_ok=True)
        with atomic_write(osp.join(work, SOURCE_FILE)) as f:
            json.dump(source, f)
        if osp.isfile(final):
            print(f'[feature study] {name}: trained before ({final})')
        else:
            # --resume before the --cfg-options that end the common part
            resume = ['--resume'] if find_latest_checkpoint(work) else []
            argv = [*train_head, *resume, *common]
            print(f'[feature study] {name}: python tools/train.py '
                  f'{shlex.join(argv)}', flush=True)
            tools['train'](argv + [experiment_name_option(f'fs_train_{name}')])
        print(f'[feature study] {name}: python tools/test.py '
              f'{shlex.join(test_argv)}', flush=True)
        tools['test'](test_argv + [experiment_name_option(f'fs_test_{name}')])
    with open(metrics_file) as f:
        row = study_row(json.load(f))
    return OrderedDict(
        checkpoint=checkpoint, work_dir=work, classifier_checkpoint=final,
        metrics_file=metrics_file, **row,
        train_command=['tools/train.py', *train_argv],
        test_command=['tools/test.py', *test_argv])


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    args.config = resolve_config_path(args.config)
    train_tool = load_tool(__file__, 'train')
    tools = dict(train=train_tool['main'],
                 test=load_tool(__file__, 'test')['main'])
    # The config as tools/train.py merges it: its last epoch, its model.
    cfg = train_tool['merge_args'](
        Config.fromfile(args.config),
        train_tool['parse_args']([args.config, *_common_argv(args, '')]))
    model = build_model(cfg)
    check_study_config(cfg, model, args.config)
    for name, checkpoint in args.model:
        check_checkpoint_file(name, checkpoint)
        check_backbone_checkpoint(model, checkpoint, name)
    models = OrderedDict(
        (name, run_model(args, tools, name, checkpoint,
                         cfg.train_cfg.max_epochs))
        for name, checkpoint in args.model)
    print(markdown_table(models, list(COLUMNS), first='backbone'))
    numbers = OrderedDict(config=args.config, models=models)
    path = osp.join(args.out_dir, f'{args.name}.json')
    os.makedirs(args.out_dir, exist_ok=True)
    write_metrics_json(numbers, path)
    print(f'written: {path}')
    return numbers


if __name__ == '__main__':
    gc.freeze()  # the imports out of the collector's scans (tools/train.py)
    main()
