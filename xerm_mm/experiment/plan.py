"""The plan of an experiment: its steps as the tool commands that run them.

:func:`make_plan` checks a pipeline config (before any work) and turns it
and the command-line options into a :class:`Plan`: one :class:`Step` per
stage, evaluation and the report, each a shell command with the files it
reads and writes, the params that decide whether it is up to date and its
resources. The package's Snakefile runs it (docs/methods.md).
"""
import copy
import hashlib
import json
import os.path as osp
import shlex
import sys
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from xerm_mm.report import check_report_spec
from xerm_mm.utils.checkpoint_checks import CheckpointFileError
from xerm_mm.utils.config import resolve_config_path
from xerm_mm.utils.pretrained_checks import check_pretrained_files
from xerm_mm.utils.schedule import stretch_schedule
from .checks import (ExperimentError, check_init_key, check_launch,
                     check_steps, check_teacher_keys, needed_stages,
                     resolve_chooser, teacher_stages)
from .options import (TEACHER_KEYS, config_digest, find_tools,
                      option_strings, parse_options)

__all__ = ['Plan', 'Step', 'make_plan', 'RESOURCE_KEYS']

#: The per-step ``resources`` a stage or evaluation may give (the engine's
#: names: minutes of wall time, MiB of memory per job).
RESOURCE_KEYS = ('runtime', 'mem_mb')
#: The helper of the steps (teacher configs, chosen options, checks).
HELPER = 'xerm_mm.experiment.step'
#: The folder (in a step's) of its config copy holding paths and choices.
PATHS_DIR = 'pipeline_inputs'


@dataclass
class Step:
    """One step of the plan: a stage, an evaluation or the report.

    Args:
        name (str): The rule's name (``train_xe``, ``test_XE``,
            ``choose_taunorm``, ``report``).
        kind (str): ``train``, ``choose``, ``test`` or ``report``.
        what (str): The stage or evaluation it runs.
        command (str): The shell command (absolute paths).
        inputs (list[str]): Files it reads, made by other steps.
        outputs (list[str]): Files it writes (the engine removes them when
            the step fails).
        params (dict): Values whose change makes it run again.
        log (str): Its log file.
        nproc (int): Its processes.
        resources (dict): Engine resources (``runtime``, ``mem_mb``).
    """
    name: str
    kind: str
    what: str
    command: str
    inputs: List[str]
    outputs: List[str]
    params: Dict[str, object]
    log: str
    nproc: int = 1
    resources: Dict[str, int] = field(default_factory=dict)


@dataclass
class Plan:
    """The steps of an experiment and what its report needs.

    Args:
        path (str): The pipeline config.
        work_dir (str): The absolute work dir.
        steps (list[Step]): Stages, evaluations, then the report.
        report (dict): What :mod:`xerm_mm.experiment.report` reads.
        gpus (bool): Whether the steps run on GPUs (one per process).
        threads (int): CPU threads of one job.
    """
    path: str
    work_dir: str
    steps: List[Step]
    report: dict
    gpus: bool
    threads: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @property
    def digest(self) -> str:
        """sha256 (12 hex digits) of the plan."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


def _join(argv: Sequence[str]) -> str:
    return ' '.join(shlex.quote(str(a)) for a in argv)


def _launch(python: str, tool: str, args: Sequence[str], nproc: int,
            launcher: str) -> List[str]:
    """The argv of a tool on ``nproc`` processes: plain, or torchrun
    (``--standalone``: it picks a free port itself) with ``--launcher
    pytorch``."""
    if launcher == 'none' and nproc == 1:
        return [python, tool, *args]
    return [python, '-m', 'torch.distributed.run', '--standalone',
            '--nproc_per_node', str(nproc), tool, *args,
            '--launcher', 'pytorch']


def _split_resources(cfg, path: str) -> Dict[str, dict]:
    """Pop the ``resources`` key of every stage and evaluation (not one of
    the old engine's keys); return ``{name: resources}``, checked."""
    found = {}
    for kind in ('stages', 'evaluations'):
        for step in cfg.get(kind) or []:
            given = step.pop('resources', None)
            if given is None:
                continue
            where = f'{path}: {kind[:-1]} {step.get("name")!r}'
            if not isinstance(given, dict) or not set(given) <= set(
                    RESOURCE_KEYS) or not all(
                        isinstance(v, int) and not isinstance(v, bool)
                        and v > 0 for v in given.values()):
                raise ExperimentError(
                    f'{where}: resources must be dict(runtime=MINUTES, '
                    f'mem_mb=MIB) of ints > 0, got {given!r}')
            found[(kind, step.get('name'))] = dict(given)
    return found


def _give_checkpoints(cfg, checkpoints: Dict[str, str], path: str) -> None:
    """``--checkpoint STAGE=FILE``: the stage takes ``checkpoint=FILE`` and
    drops what would train it."""
    names = [s.get('name') for s in cfg.get('stages') or []]
    for name, file in checkpoints.items():
        if name not in names:
            raise ExperimentError(
                f'--checkpoint {name}={file}: {path} has no stage {name!r} '
                f'(its stages: {names})')
        stage = cfg.stages[names.index(name)]
        if stage.get('post_hoc') is not None:
            raise ExperimentError(
                f'--checkpoint {name}={file}: stage {name!r} is post-hoc (it '
                f'chooses options for stage {stage["post_hoc"]!r}); give the '
                'checkpoint of that stage')
        for key in ('teacher', 'teachers', 'init_from', 'epochs_factor',
                    'nproc'):
            stage.pop(key, None)
        stage['checkpoint'] = file


class _Planner:
    """Builds the :class:`Plan` (see :func:`make_plan`)."""

    def __init__(self, config, work_dir, data_root, cfg_options, launcher,
                 nproc, jobs, gpus, cores, python, tools_dir, threads,
                 checkpoints=None):
        self.path = osp.abspath(config)
        self.cfg = Config.fromfile(config)
        _give_checkpoints(self.cfg, checkpoints or {}, config)
        self.resources = _split_resources(self.cfg, config)
        check_steps(self.cfg, config)
        try:
            self.spec = check_report_spec(self.cfg.get('report'), config)
        except ValueError as error:
            raise ExperimentError(str(error)) from None
        try:
            check_launch(nproc, launcher)
        except ValueError as error:
            raise ExperimentError(str(error)) from None
        if not self.cfg.get('budget_matched', True):
            self.cfg.stages = [s for s in self.cfg.stages
                               if s.get('epochs_factor', 1) == 1]
            kept = {s['name'] for s in self.cfg.stages}
            self.cfg.evaluations = [e for e in self.cfg.get(
                'evaluations', []) if e['stage'] in kept]
        name = osp.splitext(osp.basename(config))[0]
        self.work_dir = osp.abspath(work_dir or self.cfg.get('work_dir')
                                    or osp.join('work_dirs', name))
        self.data_root = osp.abspath(data_root) if data_root else None
        self.cfg_options = list(cfg_options or [])
        self.launcher, self.nproc = launcher, nproc
        self.gpus = gpus
        self.threads = threads or max(1, cores // jobs)
        self.python = python
        self.tools_dir = tools_dir or find_tools()
        self.stages = OrderedDict((s['name'], s) for s in self.cfg.stages)
        self._configs: Dict[tuple, Config] = {}
        self.epochs: Dict[str, int] = {}
        self.choosers: Dict[str, str] = {}
        for stage in self.stages:
            self.epochs[stage] = self._check_stage(stage)

    # -- configs -----------------------------------------------------------

    def load(self, config: str, options: Sequence[str] = ()) -> Config:
        key = (config, tuple(options))
        if key not in self._configs:
            cfg = Config.fromfile(resolve_config_path(config))
            if options:
                cfg.merge_from_dict(parse_options(options))
            self._configs[key] = cfg
        return copy.deepcopy(self._configs[key])

    def stage_options(self, name: str) -> List[str]:
        """Experiment-wide, the stage's own, then ``epochs_factor``'s."""
        stage = self.stages[name]
        options = self.cfg_options + option_strings(
            stage.get('cfg_options', {}))
        factor = stage.get('epochs_factor', 1)
        if factor == 1:
            return options
        cfg = self.load(stage['config'], options)
        return options + [f'{k}={v}'.replace(' ', '')
                          for k, v in stretch_schedule(cfg, factor).items()]

    def _check_stage(self, name: str) -> int:
        """Check a stage's config; return its ``max_epochs`` (a post-hoc
        stage: its source's)."""
        stage = self.stages[name]
        where = f'{self.path}: stage {name!r}: its config {stage["config"]}'
        try:
            cfg = self.load(stage['config'], self.stage_options(name))
        except Exception as error:
            raise ExperimentError(f'{where} does not load: {error}') from error
        model = cfg.get('model')
        check_teacher_keys(stage, model, self.path)
        check_init_key(stage, model, self.path)
        if stage.get('init_from') is not None:
            model = dict(model, init_cfg=dict(model.init_cfg,
                                              checkpoint=None))
        if stage.get('checkpoint') is not None:  # nothing is trained
            return (cfg.get('train_cfg') or {}).get('max_epochs')
        try:
            check_pretrained_files(model)
        except (FileNotFoundError, CheckpointFileError) as error:
            raise ExperimentError(f'{where}: {error}') from None
        if stage.get('post_hoc') is not None:
            try:
                self.choosers[name] = resolve_chooser(stage['chooser'],
                                                      self.tools_dir)
            except FileNotFoundError as error:
                raise ExperimentError(
                    f'{self.path}: stage {name!r}: {error}') from None
            return self.epochs[stage['post_hoc']]
        epochs = (cfg.get('train_cfg') or {}).get('max_epochs')
        if isinstance(epochs, bool) or not isinstance(epochs, int):
            raise ExperimentError(
                f'{where} has no int train_cfg.max_epochs (got {epochs!r}); '
                'a stage needs an epoch-based schedule, its final checkpoint '
                'being epoch_{max_epochs}.pth')
        return epochs

    # -- files -------------------------------------------------------------

    def folder(self, name: str) -> str:
        return osp.join(self.work_dir, name)

    def source(self, name: str) -> str:
        """The stage that trained stage ``name``'s final checkpoint."""
        return self.stages[name].get('post_hoc') or name

    def checkpoint(self, name: str) -> str:
        source = self.source(name)
        given = self.stages[source].get('checkpoint')
        if given is not None:
            return osp.abspath(given)
        return osp.join(self.folder(source), f'epoch_{self.epochs[source]}.pth')

    def record(self, name: str) -> str:
        """The checked record of stage ``name``'s final checkpoint."""
        return osp.join(self.folder(self.source(name)), 'final.json')

    def choice(self, name: str) -> Optional[str]:
        """A post-hoc stage's choice file (None for other stages)."""
        if self.stages[name].get('post_hoc') is None:
            return None
        return osp.join(self.folder(name), 'choice.json')

    def needs(self, name: str) -> List[str]:
        """The files a step over stage ``name``'s checkpoint reads."""
        files = [self.record(name)]
        if self.choice(name):
            files.append(self.choice(name))
        return files

    def benchmark(self, step: str) -> str:
        return osp.join(self.work_dir, 'benchmarks', f'{step}.tsv')

    # -- commands ----------------------------------------------------------

    def _tool(self, tool: str, args: List[str], options: List[str],
              nproc: int, launcher: str, before: List[str] = (),
              config: Optional[List[str]] = None) -> str:
        """``tool`` with ``args``, the data root and the options. ``before``
        (a helper printing an option of the tool, ``$RESUME``) and
        ``config`` (the helper writing the step's config copy, see
        :meth:`_config_copy`) run first; a failing one stops the step."""
        args = list(args)
        if self.data_root:
            args += ['--data-root', self.data_root]
        command = _join(_launch(self.python, tool, args, nproc, launcher))
        first = [_join(config)] if config else []
        if before:
            first.append(f'RESUME=$({_join(before)})')
            command += ' $RESUME'
        if options:
            command += ' ' + _join(['--cfg-options', *options])
        return ' && '.join(first + [command])

    def _config_copy(self, student: Optional[str], config: str, folder: str,
                     paths: Dict[str, str], chosen: Optional[str]):
        """The step's config and the helper command writing it.

        Paths (teachers' and ``init_from``'s checkpoints), the students'
        teacher configs (written at run time with the experiment-wide
        options and a post-hoc teacher's choice merged) and the options a
        post-hoc stage chose go into a copy of the step's config,
        ``{folder}/pipeline_inputs/{config name}``, whatever the paths
        hold (``--cfg-options`` would split a path at a comma and drop its
        spaces, quotes and brackets). Returns ``(config file, helper argv
        or None)``: the config itself when there is nothing to merge.
        """
        teachers = {}
        if student is not None:
            for key, teacher in teacher_stages(self.stages[student]).items():
                if self.choice(teacher):
                    teachers[key] = self.choice(teacher)
        model = self.load(config).get('model') or {}
        has_teachers = student is not None and any(
            isinstance(model.get(k), dict) for k in TEACHER_KEYS)
        write_teachers = has_teachers and (teachers or self.cfg_options)
        source = resolve_config_path(config)
        if not paths and not chosen and not write_teachers:
            return source, None
        out = osp.join(folder, PATHS_DIR, osp.basename(source))
        argv = [self.python, '-m', HELPER, 'config', source, '--out', out]
        for key, value in paths.items():
            argv += ['--set', f'{key}={value}']
        if write_teachers:
            argv += ['--teachers-in', folder]
            for key, path in teachers.items():
                argv += ['--chosen', f'{key}={path}']
            if self.cfg_options:
                argv += ['--cfg-options', *self.cfg_options]
        if chosen:
            argv += ['--choice', chosen]
        return out, argv

    def train_step(self, name: str) -> Step:
        stage = self.stages[name]
        folder = self.folder(name)
        epochs = self.epochs[name]
        options = self.stage_options(name)
        cfg = self.load(stage['config'], options)
        inputs: List[str] = []
        for needed in needed_stages(stage):
            inputs += [f for f in self.needs(needed) if f not in inputs]
        paths = OrderedDict(
            (f'model.{key}.checkpoint', self.checkpoint(teacher))
            for key, teacher in teacher_stages(stage).items())
        if stage.get('init_from') is not None:
            paths['model.init_cfg.checkpoint'] = self.checkpoint(
                stage['init_from'])
        config, writer = self._config_copy(name, stage['config'], folder,
                                           paths, None)
        digest = config_digest(cfg)
        # Go on from the last checkpoint only when it was made from the same
        # inputs (the helper keeps their digest in the stage folder).
        resume = [self.python, '-m', HELPER, 'resume', folder,
                  '--inputs', digest] + (['--files', *inputs] if inputs else [])
        nproc = stage.get('nproc', self.nproc)
        tool = osp.join(self.tools_dir, 'train.py')
        train = self._tool(tool, [config, '--work-dir', folder], options,
                           nproc, self.launcher, before=resume, config=writer)
        check = _join([
            self.python, '-m', HELPER, 'check', self.checkpoint(name),
            '--epochs', epochs, '--batch-size',
            cfg.train_dataloader.batch_size, '--processes', nproc,
            '--out', self.record(name)])
        return self._step(
            f'train_{name}', 'train', name, f'{train} && {check}', inputs,
            [self.checkpoint(name), self.record(name)],
            dict(config=stage['config'], config_sha256=digest),
            osp.join(folder, 'pipeline.log'), nproc,
            self.resources.get(('stages', name), {}))

    def check_step(self, name: str) -> Step:
        """A stage given as ``checkpoint='FILE'``: the file checked
        (weights-only, finite) and recorded, nothing trained."""
        given = self.checkpoint(name)
        check = _join([self.python, '-m', HELPER, 'check', given, '--out',
                       self.record(name)])
        return self._step(
            f'check_{name}', 'check', name, check, [given],
            [self.record(name)], dict(checkpoint=given),
            osp.join(self.folder(name), 'pipeline.log'), 1,
            self.resources.get(('stages', name), {}))

    def choose_step(self, name: str) -> Step:
        stage = self.stages[name]
        folder = self.folder(name)
        options = self.stage_options(name)
        args = [resolve_config_path(stage['config']), self.checkpoint(name),
                '--out', self.choice(name)]
        chooser = self.choosers[name]
        choose = self._tool(chooser, args, options, 1, 'none')
        check = _join([self.python, '-m', HELPER, 'choice',
                       self.choice(name), '--chooser', stage['chooser']])
        with open(chooser, 'rb') as f:
            chooser_sha = hashlib.sha256(f.read()).hexdigest()
        return self._step(
            f'choose_{name}', 'choose', name, f'{choose} && {check}',
            [self.record(name)], [self.choice(name)],
            dict(config=stage['config'],
                 config_sha256=config_digest(self.load(stage['config'],
                                                       options)),
                 chooser_sha256=chooser_sha),
            osp.join(folder, 'pipeline.log'), 1,
            self.resources.get(('stages', name), {}))

    def metrics_file(self, evaluation: dict) -> str:
        return osp.join(self.work_dir, 'eval', f'{evaluation["name"]}.json')

    def eval_config(self, evaluation: dict) -> str:
        return evaluation.get('config',
                              self.stages[evaluation['stage']]['config'])

    def eval_options(self, evaluation: dict) -> List[str]:
        return self.cfg_options + option_strings(
            evaluation.get('cfg_options', {}))

    def test_step(self, evaluation: dict) -> Step:
        name, stage = evaluation['name'], evaluation['stage']
        folder = osp.join(self.work_dir, 'eval', name)
        config = self.eval_config(evaluation)
        options = self.eval_options(evaluation)
        out = self.metrics_file(evaluation)
        copy, writer = self._config_copy(stage, config, folder, {},
                                         self.choice(stage))
        nproc = evaluation.get('nproc', self.nproc)
        tool = osp.join(self.tools_dir, 'test.py')
        command = self._tool(
            tool, [copy, self.checkpoint(stage), '--work-dir', folder,
                   '--metrics-out', out], options, nproc, self.launcher,
            config=writer)
        return self._step(
            f'test_{name}', 'test', name, command, self.needs(stage), [out],
            dict(config=config, config_sha256=config_digest(
                self.load(config, options))),
            osp.join(folder, 'pipeline.log'), nproc,
            self.resources.get(('evaluations', name), {}))

    def _step(self, name, kind, what, command, inputs, outputs, params, log,
              nproc, resources) -> Step:
        # The whole command is a param: another option, data root or
        # launcher runs the step again.
        params = dict(params, command=command)
        return Step(name, kind, what, command, inputs, outputs, params, log,
                    nproc, resources)

    # -- the plan ----------------------------------------------------------

    def backward_sets(self) -> List[str]:
        found: List[str] = []
        for evaluation in self.cfg.get('evaluations', []):
            cfg = self.load(self.eval_config(evaluation),
                            self.eval_options(evaluation))
            sets = ((cfg.get('test_cfg') or {}).get('test_sets') or {})
            for name, spec in sets.items():
                if (spec or {}).get('reverse') and name not in found:
                    found.append(name)
        return found

    def _step_name(self, name: str) -> str:
        stage = self.stages[name]
        if stage.get('post_hoc') is not None:
            return f'choose_{name}'
        if stage.get('checkpoint') is not None:
            return f'check_{name}'
        return f'train_{name}'

    def plan(self) -> Plan:
        steps = []
        for name, stage in self.stages.items():
            if stage.get('post_hoc') is not None:
                steps.append(self.choose_step(name))
            elif stage.get('checkpoint') is not None:
                steps.append(self.check_step(name))
            else:
                steps.append(self.train_step(name))
        evaluations = self.cfg.get('evaluations', [])
        steps += [self.test_step(e) for e in evaluations]
        report = dict(
            title=self.spec['title'] or osp.basename(self.path),
            spec=self.spec,
            balanced_set=self.cfg.get('balanced_set', 'balanced'),
            backward_sets=self.backward_sets(),
            data_root=self.data_root,
            cfg_options=self.cfg_options,
            stages=OrderedDict(
                (name, dict(
                    step=self._step_name(name),
                    record=self.record(name), choice=self.choice(name),
                    checkpoint=self.checkpoint(name),
                    chooser=stage.get('chooser'),
                    processes=(1 if self._step_name(name).startswith(
                        ('choose_', 'check_')) else stage.get(
                            'nproc', self.nproc))))
                for name, stage in self.stages.items()),
            evaluations=OrderedDict(
                (e['name'], dict(
                    stage=e['stage'], config=self.eval_config(e),
                    metrics=self.metrics_file(e),
                    options=option_strings(e.get('cfg_options', {})),
                    processes=e.get('nproc', self.nproc)))
                for e in evaluations))
        plan = Plan(self.path, self.work_dir, steps, report, self.gpus,
                    self.threads)
        return plan


def report_step(plan: Plan, plan_file: str, python: str) -> Step:
    """The report's step: every evaluation's metrics and every stage's
    record in, ``report.json`` / ``report.md`` out."""
    inputs = []
    for step in plan.steps:
        inputs += [f for f in step.outputs if f.endswith('.json')
                   and f not in inputs]
    command = _join([python, '-m', 'xerm_mm.experiment.report', plan_file])
    return Step('report', 'report', 'report', command, inputs,
                [osp.join(plan.work_dir, 'report.json'),
                 osp.join(plan.work_dir, 'report.md')],
                dict(plan=plan.digest, command=command),
                osp.join(plan.work_dir, 'report.log'))


def make_plan(config: str,
              work_dir: Optional[str] = None,
              data_root: Optional[str] = None,
              cfg_options: Optional[Sequence[str]] = None,
              launcher: str = 'none',
              nproc: int = 1,
              jobs: int = 1,
              gpus: bool = False,
              cores: int = 1,
              python: str = sys.executable,
              tools_dir: Optional[str] = None,
              threads: Optional[int] = None,
              checkpoints: Optional[Dict[str, str]] = None) -> Plan:
    """The :class:`Plan` of pipeline config ``config`` (the report's step
    is added by :func:`report_step` once the plan has a file).

    Args:
        config (str): The pipeline config file.
        work_dir (str, optional): Root of the steps' folders (default the
            config's ``work_dir``, else ``work_dirs/{config name}``).
        data_root (str, optional): ``--data-root`` of every tool.
        cfg_options (list[str], optional): ``key=value`` of every training
            and test config and of the students' teacher configs.
        launcher (str): ``'none'`` or ``'pytorch'`` (every step under
            torchrun; a step with ``nproc`` > 1 always is).
        nproc (int): Processes of a step that gives no ``nproc``.
        jobs (int): The steps run at once (for the threads of each).
        gpus (bool): The steps use a GPU per process.
        cores (int): The CPU cores of the machine (threads of a step:
            ``cores // jobs``).
        python (str): The interpreter of the tools.
        tools_dir (str, optional): The folder of train.py and test.py.
        threads (int, optional): CPU threads of a step (default
            ``cores // jobs``).
        checkpoints (dict, optional): ``{stage: file}``: stages that use
            an existing checkpoint instead of training (as ``checkpoint=``
            in the pipeline config).

    Raises:
        ExperimentError: The pipeline config or an option is wrong.
        FileNotFoundError: No such config, or no tools.
    """
    return _Planner(config, work_dir, data_root, cfg_options, launcher,
                    nproc, jobs, gpus, cores, python, tools_dir, threads,
                    checkpoints).plan()
