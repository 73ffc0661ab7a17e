"""Checks of a pipeline config and of the files its steps hand on.

Made before any work (:func:`check_steps` and the others, each error naming
the pipeline config file and the stage or evaluation), and by the steps
themselves (:func:`checkpoint_problem` on a final checkpoint,
:func:`read_choice` on a chooser's output).
"""
import json
import math
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional

from xerm_mm.utils.config import resolve_config_path

LAUNCHERS = ('none', 'pytorch')

STAGE_KEYS = ('name', 'config', 'teacher', 'teachers', 'cfg_options',
              'nproc', 'epochs_factor', 'init_from', 'post_hoc', 'chooser',
              'checkpoint')
EVALUATION_KEYS = ('name', 'stage', 'config', 'cfg_options', 'nproc')
# teachers=dict(ROLE=stage): the model key that gets the stage's checkpoint.
TEACHER_ROLES = {
    'imbalanced': 'imbalanced_teacher',
    'balanced': 'balanced_teacher'
}
SINGLE = 'teacher'


class ExperimentError(RuntimeError):
    """A pipeline config or one of the steps of its experiment is wrong."""


def teacher_stages(stage: dict) -> Dict[str, str]:
    """``{model key: teacher stage}`` of a stage.

    ``teacher='xe'`` gives ``{'teacher': 'xe'}``;
    ``teachers=dict(imbalanced='xe', balanced='tde')`` gives
    ``{'imbalanced_teacher': 'xe', 'balanced_teacher': 'tde'}``; a stage
    without a teacher gives ``{}``.
    """
    if stage.get(SINGLE) is not None:
        return {SINGLE: stage[SINGLE]}
    teachers = stage.get('teachers') or {}
    return {TEACHER_ROLES[role]: name for role, name in teachers.items()}


def needed_stages(stage: dict) -> List[str]:
    """The earlier stages a stage needs done first: its teachers, its
    ``init_from`` and its ``post_hoc`` source."""
    needed = list(teacher_stages(stage).values())
    for key in ('init_from', 'post_hoc'):
        if stage.get(key) is not None and stage[key] not in needed:
            needed.append(stage[key])
    return needed


def stages_run(cfg) -> list:
    """The stages of pipeline config ``cfg`` that run: all of them, or, with
    ``budget_matched = False``, those without an ``epochs_factor`` above 1
    (the budget-matched baselines)."""
    if cfg.get('budget_matched', True):
        return list(cfg.stages)
    return [s for s in cfg.stages if s.get('epochs_factor', 1) == 1]


def resolve_chooser(chooser: str, tools_dir: str) -> str:
    """The file of a post-hoc stage's ``chooser``: as given (absolute or
    from the current folder), else under the folder above ``tools_dir``
    (``tools/analysis_tools/x.py`` of the checkout or the package).

    Raises:
        FileNotFoundError: Neither holds it; names both.
    """
    candidates = [chooser, osp.join(osp.dirname(tools_dir), chooser)]
    for candidate in candidates:
        if osp.isfile(candidate):
            return osp.abspath(candidate)
    raise FileNotFoundError(f'chooser {chooser!r} not found (looked for '
                            f'{candidates})')


def _check_common(step: dict, where: str, keys: tuple) -> None:
    unknown = sorted(set(step) - set(keys))
    if unknown:
        raise ExperimentError(f'{where}: unknown keys {unknown}; allowed: '
                              f'{list(keys)}')
    nproc = step.get('nproc', 1)
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ExperimentError(f'{where}: nproc must be an int >= 1 (the '
                              f'processes of the step), got {nproc!r}')
    if not isinstance(step.get('cfg_options', {}), dict):
        raise ExperimentError(f'{where}: cfg_options must be a dict of '
                              'key: value overrides')
    if 'config' in step:
        try:
            resolve_config_path(step['config'])
        except FileNotFoundError as error:
            raise ExperimentError(f'{where}: {error}') from None


def _check_teachers(stage: dict, where: str, earlier: List[str]) -> None:
    if stage.get(SINGLE) is not None and stage.get('teachers') is not None:
        raise ExperimentError(
            f"{where}: give teacher='STAGE' (one two-view teacher network) "
            "or teachers=dict(imbalanced='STAGE', balanced='STAGE') (two "
            'networks), not both')
    teachers = stage.get('teachers')
    if teachers is not None and (not isinstance(teachers, dict)
                                 or set(teachers) != set(TEACHER_ROLES)):
        raise ExperimentError(
            f"{where}: teachers must be dict(imbalanced='STAGE', "
            f"balanced='STAGE'), got {teachers!r}")
    roles = {v: k for k, v in TEACHER_ROLES.items()}
    for key, name in teacher_stages(stage).items():
        if name not in earlier:
            form = SINGLE if key == SINGLE else f'teachers.{roles[key]}'
            raise ExperimentError(
                f'{where}: {form} {name!r} is not an earlier stage of '
                f'{earlier}')


def _check_given(stage: dict, where: str) -> None:
    """A stage given as ``checkpoint='FILE'``: an existing file, and no key
    that trains or chooses."""
    path = stage.get('checkpoint')
    if path is None:
        return
    if not isinstance(path, str) or not osp.isfile(path):
        raise ExperimentError(
            f'{where}: checkpoint {path!r} is not a file; give the .pth '
            'file of a trained model (e.g. checkpoints/... or another work '
            "dir's epoch_N.pth), or remove checkpoint= to train the stage")
    given = [key for key in ('teacher', 'teachers', 'init_from', 'post_hoc',
                             'chooser', 'epochs_factor', 'nproc')
             if stage.get(key) is not None]
    if given:
        raise ExperimentError(
            f'{where}: a stage with checkpoint= trains nothing (it uses '
            f'{path}); remove {given}')


def _check_sources(stage: dict, where: str, earlier: List[str],
                   earlier_stages: list) -> None:
    """``init_from`` and ``post_hoc``: an earlier stage each; ``post_hoc``
    with a ``chooser`` and nothing that trains."""
    for key in ('init_from', 'post_hoc'):
        name = stage.get(key)
        if name is not None and name not in earlier:
            raise ExperimentError(
                f'{where}: {key} {name!r} is not an earlier stage of '
                f'{earlier}')
    if stage.get('post_hoc') is None:
        if stage.get('chooser') is not None:
            raise ExperimentError(
                f"{where}: chooser is for a post-hoc stage; add post_hoc="
                "'STAGE' (the stage whose final checkpoint it chooses for)")
        return
    given = [key for key in ('teacher', 'teachers', 'init_from',
                             'epochs_factor') if stage.get(key) is not None]
    if given:
        raise ExperimentError(
            f'{where}: a post_hoc stage trains nothing (it chooses options '
            f'for the checkpoint of stage {stage["post_hoc"]!r}); remove '
            f'{given}')
    source = earlier_stages[earlier.index(stage['post_hoc'])]
    if source.get('post_hoc') is not None:
        raise ExperimentError(
            f'{where}: post_hoc {stage["post_hoc"]!r} is itself a post-hoc '
            'stage; name the stage that trained the checkpoint')
    if not isinstance(stage.get('chooser'), str):
        raise ExperimentError(
            f"{where}: a post_hoc stage needs chooser='tools/analysis_tools/"
            "choose_....py' (the tool that writes the chosen cfg_options)")


def check_steps(cfg, path: str) -> None:
    """Check the stages and evaluations of pipeline config ``cfg``.

    Raises:
        ExperimentError: Missing or repeated names, unknown keys, a config
            file that does not exist, a teacher or an evaluated stage that
            is not an (earlier) stage, both teacher forms, a bad ``nproc``
            or ``epochs_factor``, an ``init_from`` or ``post_hoc`` that is
            not an earlier stage, ``post_hoc`` without a ``chooser`` or
            with keys that train, a ``checkpoint`` that is not a file or
            comes with keys that train.
    """
    stages = cfg.get('stages')
    if not stages:
        raise ExperimentError(f'{path}: no `stages` list')
    names = [stage.get('name') for stage in stages]
    if None in names or len(set(names)) != len(names):
        raise ExperimentError(f'{path}: every stage needs a unique `name`, '
                              f'got {names}')
    for i, stage in enumerate(stages):
        where = f'{path}: stage {stage["name"]!r}'
        if 'config' not in stage:
            raise ExperimentError(f'{where}: no `config`')
        _check_common(stage, where, STAGE_KEYS)
        _check_given(stage, where)
        _check_teachers(stage, where, names[:i])
        _check_sources(stage, where, names[:i], stages[:i])
        factor = stage.get('epochs_factor', 1)
        if isinstance(factor, bool) or not isinstance(factor,
                                                      int) or factor < 1:
            raise ExperimentError(
                f'{where}: epochs_factor must be an int >= 1 (the multiple '
                f'of its config\'s epochs and schedule), got {factor!r}')
    evaluations = cfg.get('evaluations', [])
    evaluated = [evaluation.get('name') for evaluation in evaluations]
    if None in evaluated or len(set(evaluated)) != len(evaluated):
        raise ExperimentError(f'{path}: every evaluation needs a unique '
                              f'`name`, got {evaluated}')
    for evaluation in evaluations:
        where = f'{path}: evaluation {evaluation["name"]!r}'
        if evaluation.get('stage') not in names:
            raise ExperimentError(f'{where} names stage '
                                  f'{evaluation.get("stage")!r}, not one of '
                                  f'{names}')
        _check_common(evaluation, where, EVALUATION_KEYS)


def check_teacher_keys(stage: dict, model: dict, path: str) -> None:
    """Check that the stage config's ``model`` takes the stage's teachers.

    Raises:
        ExperimentError: The model lacks ``teacher`` (for ``teacher=``) or
            ``imbalanced_teacher`` / ``balanced_teacher`` (for
            ``teachers=``), or sets the other form.
    """
    keys = teacher_stages(stage)
    if not keys:
        return
    where = (f'{path}: stage {stage["name"]!r} (config '
             f'{stage["config"]})')
    model = model or {}
    for key in keys:
        if not isinstance(model.get(key), dict):
            raise ExperimentError(
                f'{where}: the config has no model.{key} = dict(config=..., '
                f'checkpoint=...) to take the checkpoint of stage '
                f'{keys[key]!r}; use an xERM config with that teacher form')
    other = ([SINGLE] if SINGLE not in keys else list(TEACHER_ROLES.values()))
    for key in other:
        if model.get(key) is not None:
            raise ExperimentError(
                f'{where}: the config sets model.{key} too, but the stage '
                f'gives its teachers as {list(keys)}; set model.{key}=None '
                'in the stage config (or use the other teacher form)')


def check_init_key(stage: dict, model: dict, path: str) -> None:
    """Check that the stage config has ``model.init_cfg`` (a dict) to take
    the checkpoint of its ``init_from`` stage.

    Raises:
        ExperimentError: The model has no ``init_cfg`` dict.
    """
    if stage.get('init_from') is None:
        return
    if not isinstance((model or {}).get('init_cfg'), dict):
        raise ExperimentError(
            f'{path}: stage {stage["name"]!r} (config {stage["config"]}): '
            f'init_from={stage["init_from"]!r} needs model.init_cfg = '
            "dict(type='Pretrained', checkpoint=...) in the config to take "
            'that stage\'s final checkpoint; the config has none (use a '
            'config that loads a checkpoint, e.g. configs/decoupling/crt_*)')


def check_launch(nproc: int, launcher: str) -> None:
    """Raise ValueError for an unknown launcher or ``nproc`` < 1."""
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got '
                         f'{launcher!r}')
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f'nproc must be an int >= 1, got {nproc!r}')


def read_choice(path: str, chooser: str) -> dict:
    """The ``cfg_options`` dict of a chooser's JSON.

    Raises:
        ExperimentError: No such file, no JSON, or no ``cfg_options`` dict
            of dotted keys.
    """
    try:
        with open(path) as f:
            found = json.load(f)
    except (OSError, ValueError) as error:
        raise ExperimentError(f'{chooser} wrote no readable JSON to {path}: '
                              f'{error}') from None
    options = found.get('cfg_options') if isinstance(found, dict) else None
    if not isinstance(options, dict) or not options or not all(
            isinstance(key, str) for key in options):
        raise ExperimentError(
            f'{path} (written by {chooser}) has no `cfg_options` dict of '
            'the options it chose (e.g. {"model.head.tau": 0.8})')
    return OrderedDict(options)


def checkpoint_problem(path: str,
                       max_epochs: Optional[int] = None) -> Optional[str]:
    """What is wrong with the checkpoint ``path``, or None.

    It must load with ``torch.load(weights_only=True)``, hold a
    ``state_dict`` of finite weights and, with ``max_epochs``, have been
    saved at that epoch (``meta.epoch``).
    """
    if not osp.isfile(path):
        return 'does not exist'
    import torch  # here: planning needs no torch

    from xerm_mm.utils.checkpoint import checkpoint_safe_globals
    try:
        with checkpoint_safe_globals():
            ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # truncated, not a checkpoint, ...
        return f'does not load ({type(error).__name__}: {error})'
    state = ckpt.get('state_dict') if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state:
        return 'holds no state_dict'
    bad = [
        key for key, value in state.items()
        if torch.is_tensor(value) and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]
    if bad:
        return (f'has non-finite weights ({len(bad)} tensors, e.g. '
                f'{bad[0]}): the training diverged')
    if max_epochs is not None:
        epoch = (ckpt.get('meta') or {}).get('epoch')
        if not isinstance(epoch, (int, float)) or math.isnan(epoch) or int(
                epoch) != max_epochs:
            return (f'was saved at epoch {epoch}, not at the configured '
                    f'max_epochs {max_epochs}')
    return None
