"""The xERM ablation (the paper's Figure 5):
``python tools/analysis_tools/xerm_ablation.py --pipeline PIPELINE_CONFIG
[--weights W ...] [--gammas G ...] [--methods xerm_pc ...]
[--teachers-from PIPELINE_WORK_DIR] [--jobs N]``.

Accuracy against a constant weight w (the distillation ablation,
``XERMLoss(constant_weight=w)``) and against gamma, for the xERM students of
a pipeline config. One student stage per method and value (``xerm_pc_w0.5``,
``xerm_pc_g2``: the pipeline's student stage with
``model.head.loss.constant_weight`` or ``model.head.loss.gamma`` in its
``cfg_options``), tested as the pipeline tests the student (its balanced and
imbalanced test sets). They run as a pipeline config written in the work
dir (``ablation_pipeline.py``, see :mod:`xerm_mm.experiment.ablation`):
what is up to date is kept on a rerun, ``--jobs`` runs steps at once. The
teachers are trained once in the work dir, or, with ``--teachers-from``,
their final checkpoints are taken from a finished run of the pipeline.

Prints a table per method (top-1 on every test set) and writes
``{out_dir}/{name}.{png,pdf,json}``: a panel for w and one for gamma, the
balanced and one imbalanced test set, the default gamma marked.
"""
import argparse
import json
import os
import os.path as osp
import shlex
import sys
from collections import OrderedDict

from matplotlib.figure import Figure
from mmengine.config import Config

from xerm_mm.analysis.cli import add_figure_options
from xerm_mm.analysis.figures import new_figure, save_figure
from xerm_mm.experiment import run as experiment_run
from xerm_mm.experiment.ablation import (check_values, choose_methods,
                                         given_teachers, pipeline_text,
                                         plan_ablation, student_stages)
from xerm_mm.experiment.checks import ExperimentError
from xerm_mm.experiment.options import option_strings, parse_options
from xerm_mm.report import markdown_table
from xerm_mm.utils.atomic import atomic_write
from xerm_mm.utils.config import resolve_config_path

PIPELINE_FILE = 'ablation_pipeline.py'

_AXES = dict(
    weight=('constant weight w (balanced teacher\'s share)',
            'Constant weights (distillation)'),
    gamma=('gamma (exponent of the xERM weights)', 'Adaptive weights'),
)


def _mark_default_gammas(ax, methods: dict) -> None:
    """A vertical line at each default gamma, naming the methods when they
    differ."""
    defaults = {}
    for method, entry in methods.items():
        defaults.setdefault(entry['default_gamma'], []).append(method)
    for i, (gamma, names) in enumerate(sorted(defaults.items())):
        ax.axvline(gamma, color='grey', linestyle=':', linewidth=1.5)
        text = f'default γ = {gamma:g}'
        if len(defaults) > 1:
            text += f' ({", ".join(names)})'
        ax.annotate(text, (gamma, 1), color='dimgrey', fontsize=8,
                    xycoords=('data', 'axes fraction'),
                    textcoords='offset points', xytext=(3, -12 * (i + 1)))


def draw_ablation(numbers: dict) -> Figure:
    """The figure of the ablation's JSON numbers (:func:`collect`):
    ``numbers['methods']`` maps a
    method to its ``default_gamma``, ``adaptive`` (top-1 per test set at
    the default gamma, or None) and, per kind (``weight``, ``gamma``), its
    points (``value`` and ``top1`` per test set)."""
    kinds = [kind for kind in _AXES
             if any(m[kind] for m in numbers['methods'].values())]
    sets = (numbers['balanced_set'], numbers['imbalanced_set'])
    fig = new_figure(5.0 * len(kinds), 4.2)
    axes = fig.subplots(1, len(kinds), squeeze=False)[0]
    colors = ['C0', 'C3', 'C2', 'C1', 'C4']
    for ax, kind in zip(axes, kinds):
        for i, (method, entry) in enumerate(numbers['methods'].items()):
            color = colors[i % len(colors)]
            points = entry[kind]
            for test_set, style, marker in zip(sets, ('-', '--'), 'os'):
                ax.plot([p['value'] for p in points],
                        [p['top1'][test_set] for p in points],
                        linestyle=style, marker=marker, markersize=5,
                        color=color, label=f'{method}, {test_set}')
                if kind == 'weight' and entry['adaptive']:
                    ax.axhline(entry['adaptive'][test_set], color=color,
                               linestyle=':', linewidth=1)
        if kind == 'gamma':
            _mark_default_gammas(ax, numbers['methods'])
        xlabel, title = _AXES[kind]
        ax.set_xlabel(xlabel)
        ax.set_ylabel('top-1 accuracy (%)')
        ax.set_title(title, fontsize=11)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc='best')
    if any(m['adaptive'] for m in numbers['methods'].values()):
        fig.suptitle('dotted horizontal lines: adaptive xERM weights at the '
                     'default gamma', fontsize=8)
    return fig


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train xERM students with constant weights w and with '
        'other gammas through a pipeline\'s stages, test them, plot top-1 '
        'against w and gamma (Figure 5 of the xERM paper)')
    parser.add_argument(
        '--pipeline', required=True,
        help='a pipeline config (configs/pipelines/): its teacher stages, '
        'its xERM student stages and their evaluations')
    parser.add_argument(
        '--weights', nargs='*', type=float, default=[0, 0.25, 0.5, 0.75, 1],
        help='constant weights w in [0, 1] (none: no w sweep; default: '
        '0 0.25 0.5 0.75 1)')
    parser.add_argument(
        '--gammas', nargs='*', type=float, default=[0.5, 1, 2, 3, 5],
        help='gammas > 0 (none: no gamma sweep; default: 0.5 1 2 3 5)')
    parser.add_argument(
        '--methods', nargs='+', default=[],
        help='the students to sweep, by stage (xerm_pc) or evaluation '
        '(xERM-PC) name (default: every stage of the pipeline with a '
        'teacher)')
    parser.add_argument(
        '--work-dir',
        help='root of the ablation\'s stages (default: '
        'work_dirs/{pipeline name}_ablation)')
    parser.add_argument(
        '--teachers-from',
        help='a work dir of a finished run of the pipeline '
        '(tools/run_pipeline.py): its teachers\' final checkpoints are used, '
        'not trained again')
    parser.add_argument(
        '--imbalanced-set',
        help='the imbalanced test set plotted (default: the first test set '
        'of the students\' evaluation other than the balanced one)')
    parser.add_argument(
        '--jobs', type=int, default=None,
        help='steps run at once (as tools/run_pipeline.py --jobs)')
    parser.add_argument(
        '--data-root', help='folder of the dataset, for every step')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[],
        help='key=value overrides for every training and test config')
    add_figure_options(parser, 'xerm_ablation', 'the work dir')
    args = parser.parse_args(argv)
    try:
        check_values(args.weights, args.gammas)
        if args.jobs is not None and args.jobs < 1:
            raise ValueError(f'--jobs: must be an int >= 1, got {args.jobs}')
    except ValueError as error:
        parser.error(str(error))
    args.weights, args.gammas = sorted(args.weights), sorted(args.gammas)
    name = osp.splitext(osp.basename(args.pipeline))[0]
    args.work_dir = args.work_dir or osp.join('work_dirs', f'{name}_ablation')
    args.out_dir = args.out_dir or args.work_dir
    return args


class Source:
    """The pipeline config swept: its stages and their configs.

    Args:
        path (str): The pipeline config.
        cfg_options (list[str]): Experiment-wide ``key=value`` options.
    """

    def __init__(self, path: str, cfg_options) -> None:
        self.path = path
        self.cfg = Config.fromfile(path)
        self.cfg_options = list(cfg_options)
        self.stages = OrderedDict((s['name'], s) for s in self.cfg.stages)

    def config(self, config: str, own: dict) -> Config:
        cfg = Config.fromfile(resolve_config_path(config))
        options = self.cfg_options + option_strings(own or {})
        if options:
            cfg.merge_from_dict(parse_options(options))
        return cfg

    def stage_config(self, name: str) -> Config:
        stage = self.stages[name]
        return self.config(stage['config'], stage.get('cfg_options'))


def default_gamma(source: Source, method: str) -> float:
    """The gamma of a student stage's ``XERMLoss`` (refusing another
    loss)."""
    loss = source.stage_config(method).model.head.get('loss') or {}
    if not str(loss.get('type', '')).endswith('XERMLoss'):
        raise ValueError(
            f'{source.path}: stage {method!r} trains with loss '
            f'{loss.get("type")!r}, not XERMLoss (model.head.loss): no '
            'constant weight or gamma to sweep')
    return float(loss.get('gamma', 2.0))


def test_sets(source: Source, evaluation: dict) -> list:
    """The test sets of an evaluation's config (with its options)."""
    stage = source.stages[evaluation['stage']]
    config = evaluation.get('config', stage['config'])
    cfg = source.config(config, evaluation.get('cfg_options'))
    sets = list((cfg.get('test_cfg') or {}).get('test_sets') or {})
    if not sets:
        raise ValueError(
            f'{source.path}: evaluation {evaluation["name"]!r} ({config}) '
            'has no test_cfg.test_sets (MultiTestLoop): the ablation plots '
            'a balanced and an imbalanced test set')
    return sets


def plotted_sets(args, source: Source, evaluation: dict) -> tuple:
    """(balanced set, imbalanced set, every test set), checked."""
    sets = test_sets(source, evaluation)
    balanced = source.cfg.get('balanced_set', 'balanced')
    others = [name for name in sets if name != balanced]
    if balanced not in sets or not others:
        raise ValueError(
            f'{source.path}: evaluation {evaluation["name"]!r} tests on '
            f'{sets}: it needs the balanced set {balanced!r} and an '
            'imbalanced one')
    imbalanced = args.imbalanced_set or others[0]
    if imbalanced not in others:
        raise ValueError(f'--imbalanced-set {imbalanced!r}: not one of the '
                         f'imbalanced test sets {others}')
    return balanced, imbalanced, sets


def collect(work_dir: str, report: dict, points, methods, labels, gammas,
            sets) -> 'OrderedDict[str, dict]':
    """Per method: its stage, default gamma, the points of each kind (value,
    stage, evaluation, checkpoint, metrics file, top-1 per test set) and the
    adaptive run (the default gamma's top-1, None if not swept)."""
    out = OrderedDict()
    for method in methods:
        entry = OrderedDict(stage=method, default_gamma=gammas[method],
                            weight=[], gamma=[], adaptive=None)
        for point in points:
            if point.method != method:
                continue
            rows = report['results'][point.evaluation]
            top1 = OrderedDict((s, rows[s]['top1']) for s in sets)
            entry[point.kind].append(OrderedDict(
                value=point.value, stage=point.stage,
                evaluation=point.evaluation,
                checkpoint=report['checkpoints'][point.evaluation]['file'],
                metrics_file=osp.join(work_dir, 'eval',
                                      f'{point.evaluation}.json'),
                top1=top1))
            if point.kind == 'gamma' and point.value == gammas[method]:
                entry['adaptive'] = top1
        out[labels[method]] = entry
    return out


def print_tables(numbers: dict) -> None:
    for label, entry in numbers['methods'].items():
        rows = OrderedDict()
        for point in entry['weight']:
            rows[f'w = {point["value"]:g}'] = point['top1']
        for point in entry['gamma']:
            default = (' (default)' if point['value'] == entry['default_gamma']
                       else '')
            rows[f'gamma = {point["value"]:g}{default}'] = point['top1']
        print(f'\n{label} (top-1 %)\n')
        print(markdown_table(rows, numbers['test_sets'], first=label))


def run_ablation(args, argv) -> dict:
    source = Source(args.pipeline, args.cfg_options)
    methods = choose_methods(source.cfg, args.methods, args.pipeline)
    gammas = {method: default_gamma(source, method) for method in methods}
    stages, evaluations, points, teachers = plan_ablation(
        source.cfg, methods, args.weights, args.gammas)
    # The first student's evaluation, as the pipeline has it.
    balanced, imbalanced, sets = plotted_sets(
        args, source, dict(evaluations[0], stage=points[0].method))
    command = ('python tools/analysis_tools/xerm_ablation.py ' +
               shlex.join(argv if argv is not None else sys.argv[1:]))
    if args.teachers_from:
        stages = given_teachers(stages, teachers, args.teachers_from)
    os.makedirs(args.work_dir, exist_ok=True)
    path = osp.join(args.work_dir, PIPELINE_FILE)
    with atomic_write(path) as f:
        f.write(pipeline_text(args.pipeline, stages, evaluations, balanced,
                              command))
    engine = [path, '--work-dir', args.work_dir]
    if args.data_root:
        engine += ['--data-root', args.data_root]
    if args.cfg_options:
        engine += ['--cfg-options', *args.cfg_options]
    if args.jobs:
        engine += ['--jobs', str(args.jobs)]
    experiment_run.main(engine)
    with open(osp.join(args.work_dir, 'report.json')) as f:
        report = json.load(f)
    numbers = OrderedDict(
        pipeline=args.pipeline, work_dir=args.work_dir,
        ablation_pipeline=path, teachers_from=args.teachers_from,
        balanced_set=balanced, imbalanced_set=imbalanced, test_sets=sets,
        methods=collect(args.work_dir, report, points, methods,
                        student_stages(source.cfg), gammas, sets),
        command=command)
    print_tables(numbers)
    paths = save_figure(draw_ablation(numbers), numbers, args.out_dir,
                        args.name)
    print('written: ' + ', '.join(paths.values()))
    return numbers


def main(argv=None):
    args = parse_args(argv)
    try:
        return run_ablation(args, argv)
    except (ExperimentError, ValueError, FileNotFoundError) as error:
        sys.exit(f'xerm_ablation: {error}')


if __name__ == '__main__':
    main()
