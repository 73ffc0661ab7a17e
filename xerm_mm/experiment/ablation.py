"""The stages and evaluations of the xERM ablation (the paper's Figure 5).

From a pipeline config, an ablation pipeline: the teacher stages of the
chosen students, then per student and swept value (a constant weight ``w``,
a ``gamma``) the student's stage with one more ``cfg_options`` entry, tested
as the pipeline tests the student. See docs/analysis.md.
"""
import json
import math
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, NamedTuple, Sequence

from .checks import ExperimentError, needed_stages, teacher_stages

#: Swept key of each kind, its stage-name letter and its axis label.
KINDS = OrderedDict(
    weight=('model.head.loss.constant_weight', 'w'),
    gamma=('model.head.loss.gamma', 'g'),
)


class Point(NamedTuple):
    """One trained student of the ablation."""
    method: str  #: the pipeline's student stage, e.g. ``xerm_pc``
    kind: str  #: ``'weight'`` or ``'gamma'``
    value: float
    stage: str  #: e.g. ``xerm_pc_w0.5``
    evaluation: str  #: e.g. ``xERM-PC_w0.5``


def check_values(weights: Sequence[float], gammas: Sequence[float]) -> None:
    """Refuse a weight outside [0, 1], a gamma <= 0, a repeated value or no
    value at all (``ValueError`` naming the value and the fix)."""
    for option, values in (('--weights', weights), ('--gammas', gammas)):
        for value in values:
            if not math.isfinite(value):
                raise ValueError(f'{option}: {value} is not a finite number')
        if len(set(values)) != len(values):
            raise ValueError(f'{option}: a value is given twice in '
                             f'{list(values)}')
    bad = [w for w in weights if not 0 <= w <= 1]
    if bad:
        raise ValueError(
            f'--weights: {bad} outside [0, 1]; a constant weight w is the '
            'balanced teacher\'s share of the loss (0: plain cross-entropy, '
            '1: distillation only)')
    bad = [g for g in gammas if g <= 0]
    if bad:
        raise ValueError(
            f'--gammas: {bad} not > 0; gamma is the exponent of the xERM '
            'weights (the paper: 2 on CIFAR100-LT), give values above 0')
    if not weights and not gammas:
        raise ValueError('nothing to sweep: give --weights and/or --gammas')


def student_stages(cfg) -> 'OrderedDict[str, str]':
    """``{student stage: its label}`` of a pipeline config: the stages with
    teachers, labelled by the first evaluation of the stage (``xERM-PC``),
    else by the stage's name."""
    students = OrderedDict()
    for stage in cfg.stages:
        if teacher_stages(stage):
            students[stage['name']] = stage['name']
    for evaluation in reversed(cfg.get('evaluations', [])):
        if evaluation['stage'] in students:
            students[evaluation['stage']] = evaluation['name']
    return students


def choose_methods(cfg, methods: Sequence[str], path: str) -> List[str]:
    """The student stages named by ``methods`` (stage or evaluation names;
    all the students when empty), in the pipeline's order."""
    students = student_stages(cfg)
    if not students:
        raise ValueError(f'{path}: no stage with a teacher (an xERM student) '
                         'to sweep')
    by_label = {label: stage for stage, label in students.items()}
    chosen = []
    for method in methods:
        stage = method if method in students else by_label.get(method)
        if stage is None:
            raise ValueError(
                f'--methods: unknown method {method!r}; the xERM students '
                f'of {path} are {list(students)} (or by their evaluations: '
                f'{list(by_label)})')
        chosen.append(stage)
    return [s for s in students if s in chosen] if chosen else list(students)


def _value_text(value: float) -> str:
    return f'{value:.10g}'


def _teachers_of(stages: Dict[str, dict], names: Sequence[str]) -> List[str]:
    """Every stage the students ``names`` need (teachers of teachers too,
    and the stages a teacher starts from or chooses for), in the
    pipeline's order."""
    needed, todo = set(), list(names)
    while todo:
        for teacher in needed_stages(stages[todo.pop()]):
            if teacher not in needed:
                needed.add(teacher)
                todo.append(teacher)
    return [name for name in stages if name in needed]


def plan_ablation(cfg, methods: Sequence[str], weights: Sequence[float],
                  gammas: Sequence[float]):
    """The ablation's pipeline: ``(stages, evaluations, points,
    teachers)``.

    Args:
        cfg (Config): The pipeline config.
        methods (Sequence[str]): Its student stages to sweep.
        weights (Sequence[float]): The constant weights w.
        gammas (Sequence[float]): The gammas.

    Returns:
        tuple: the stage dicts (the teacher stages as in ``cfg``, then the
        students), the evaluation dicts, the :class:`Point` list and the
        teacher stages' names.
    """
    plain = cfg.to_dict()  # plain dicts, written with repr()
    stages = OrderedDict((stage['name'], stage) for stage in plain['stages'])
    own_eval = {}
    for evaluation in plain.get('evaluations', []):
        own_eval.setdefault(evaluation['stage'], evaluation)
    teachers = _teachers_of(stages, methods)
    new_stages = [stages[name] for name in teachers]
    new_evals, points = [], []
    for method in methods:
        evaluation = own_eval.get(method, dict(name=method, stage=method))
        for kind, values in (('weight', weights), ('gamma', gammas)):
            key, letter = KINDS[kind]
            for value in values:
                suffix = f'_{letter}{_value_text(value)}'
                stage = dict(stages[method], name=method + suffix)
                stage['cfg_options'] = dict(
                    stages[method].get('cfg_options', {}), **{key: value})
                new_stages.append(stage)
                new_evals.append(dict(evaluation, name=evaluation['name'] +
                                      suffix, stage=stage['name']))
                points.append(Point(method, kind, value, stage['name'],
                                    new_evals[-1]['name']))
    return new_stages, new_evals, points, teachers


def given_teachers(stages: list, teachers: Sequence[str],
                   work_dir: str) -> list:
    """``stages`` whose teacher stages ``teachers`` use the final checkpoints
    of a finished run of the pipeline in ``work_dir`` (its checked records,
    ``{stage}/final.json``) instead of training; post-hoc stages still
    choose, on the given checkpoint of their source.

    Raises:
        ExperimentError: A teacher stage of ``work_dir`` is not finished.
    """
    out = []
    for stage in stages:
        if stage['name'] in teachers and stage.get('post_hoc') is None:
            record = osp.join(work_dir, stage['name'], 'final.json')
            try:
                with open(record) as f:
                    given = json.load(f)['file']
            except (OSError, ValueError, KeyError):
                raise ExperimentError(
                    f'--teachers-from {work_dir}: stage {stage["name"]!r} is '
                    f'not finished there (no record {record}); run the '
                    'pipeline to its end first') from None
            stage = dict(name=stage['name'], config=stage['config'],
                         checkpoint=given)
        out.append(stage)
    return out


def pipeline_text(source: str, stages: list, evaluations: list,
                  balanced_set: str, command: str) -> str:
    """The ablation as a pipeline config file (Python), rerunnable with
    ``tools/run_pipeline.py``."""
    lines = [
        f'# The xERM ablation of {source}, written by',
        f'#   {command}',
        '# (tools/analysis_tools/xerm_ablation.py): its teacher stages, then '
        'one',
        '# student stage per swept value (cfg_options), each tested as the '
        'pipeline',
        '# tests the student.', 'stages = ['
    ]
    lines += [f'    {stage!r},' for stage in stages]
    lines += [']', 'evaluations = [']
    lines += [f'    {evaluation!r},' for evaluation in evaluations]
    lines += [']', f'balanced_set = {balanced_set!r}', '']
    return '\n'.join(lines)
