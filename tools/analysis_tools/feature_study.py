"""The feature study (the xERM paper's Table 6):
``python tools/analysis_tools/feature_study.py --config FEATURE_STUDY_CONFIG
--model NAME CHECKPOINT [--model ...] --work-dir DIR``.

For each model, the backbone of its checkpoint (XE, PC, TDE, xERM-PC or
xERM-TDE) is frozen and a new linear classifier trained on the balanced
training set and tested on the balanced test set, by ``tools/train.py`` and
``tools/test.py`` (in this process) with a config of
``configs/feature_study/`` and ``--cfg-options
model.backbone.init_cfg.checkpoint=CHECKPOINT``, in ``{work_dir}/{name}``.
Each checkpoint's backbone is checked against the config's before any
training. Resumable: a model whose ``metrics.json`` exists is skipped, a
trained one only tested, an interrupted training resumed; a work dir made
from another checkpoint is refused.

Prints a Markdown table (top-1 and the many / medium / few recall, the
groups of the long-tailed training) and writes ``{out_dir}/{name}.json``.
"""
import argparse
import json
import os
import os.path as osp
import shlex
from collections import OrderedDict

from mmengine.config import Config
from mmengine.runner import find_latest_checkpoint

from xerm_mm.analysis.cli import (add_model_option, check_model_names,
                                  experiment_name_option, load_tool)
from xerm_mm.analysis.feature_study import (CHECKPOINT_KEY, COLUMNS,
                                            check_backbone_checkpoint,
                                            check_study_config, study_row)
from xerm_mm.analysis.trained_model import build_model, check_checkpoint_file
from xerm_mm.evaluation.report import markdown_table, write_metrics_json
from xerm_mm.utils import register_all_modules
from xerm_mm.utils.atomic import atomic_write
from xerm_mm.utils.config import resolve_config_path

#: In each model's work dir: what it was made from.
SOURCE_FILE = 'feature_study_source.json'


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
    main()
