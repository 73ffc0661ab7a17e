"""An experiment of the method in one call: teachers, xERM students, tests.

A *pipeline config* (``configs/pipelines/``, run by
``tools/run_pipeline.py``) lists the stages of an experiment; it is no data
pipeline. ``stages`` are trainings (each a training config, run by
``tools/train.py`` in ``{work_dir}/{stage}``); a stage may take the final
checkpoints of earlier stages as its teachers. ``evaluations`` test a
stage's final checkpoint with ``tools/test.py`` and a test config (by
default the stage's own). The report gathers the evaluations in the shape
of the paper's tables (Tables 1 and 4 on CIFAR-100-LT; the config's
``report`` key names others and gives the paper's numbers, see
:mod:`xerm_mm.apis.report_spec`) and names the checkpoint (file and sha256)
each row came from.

The experiment-wide ``cfg_options`` apply to every training and test
config, the teacher configs that the xERM students name included (see
:mod:`xerm_mm.apis.teacher_configs`). The paths of a step's files (teacher
checkpoints and configs) reach its tool whatever they hold (see
:func:`xerm_mm.apis.launch.path_options`).

What "done" means (see :mod:`xerm_mm.apis.manifest`): every stage and
evaluation records its inputs (the resolved config's sha256, the overrides,
the data root, the teachers' or the evaluated checkpoint's sha256) and its
output's digest. A stage is done when its record matches this run's inputs
and its final checkpoint ``epoch_{max_epochs}.pth`` loads (weights only),
has finite weights and was saved at ``max_epochs``; a stage interrupted
with the same inputs is resumed; any other stage folder (other inputs, a
broken final checkpoint, no record) is moved aside to
``{stage}.old-{time}`` and trained again. An evaluation is done when its
record matches (so a retrained stage redoes its evaluations and students).

Every stage and evaluation also records what it cost when it ran (wall
time, device, processes, peak memory; a stage its training images/s) in
its manifest, kept while the step stays done; the report's "Cost" table
gathers them (see :mod:`xerm_mm.apis.cost`).

:meth:`Experiment.run` holds a lock on the work dir (its pid in
``{work_dir}/pipeline.lock``; a second pipeline on the work dir is refused
with that pid) and runs every tool in its own process group: SIGINT /
SIGTERM are forwarded to it and waited for, and on Linux the tool gets
SIGTERM if the pipeline dies (see :mod:`xerm_mm.apis.process`).

Steps that do not need each other run at once, up to ``jobs`` (see
:mod:`xerm_mm.apis.jobs` for the default and the threads / GPUs of each
tool, :mod:`xerm_mm.apis.scheduler` for the order): a stage needs its
teacher stages, an evaluation its stage; a step of ``nproc`` processes
counts as ``nproc`` jobs. Each tool writes its own log
(``{stage}/pipeline.log``, ``eval/{name}/pipeline.log``) and its progress
is echoed as one line per logged step naming the step (see
:mod:`xerm_mm.apis.progress`). A step that fails stops the others (SIGTERM
to their process groups, waited for); steps finished meanwhile keep their
manifests, and the error names the failed step and its log. The records
and the report are the same as with one job: the report's rows follow the
pipeline config, not the order in which the steps ended.

Keys of a stage: ``name``, ``config``, ``teacher`` (one earlier stage: its
checkpoint becomes ``model.teacher.checkpoint``) or ``teachers`` (two:
``dict(imbalanced='xe', balanced='tde')`` sets
``model.imbalanced_teacher.checkpoint`` and
``model.balanced_teacher.checkpoint``), ``cfg_options`` (a dict of
overrides), ``nproc`` (its processes; more than one run under torchrun) and
``epochs_factor`` (an int: train that many times its config's epochs, the
schedule stretched with them, see
:func:`xerm_mm.utils.schedule.stretch_schedule`; after the other
overrides, so ``--cfg-options train_cfg.max_epochs=2`` makes it 4),
``init_from`` (an earlier stage: its final checkpoint becomes
``model.init_cfg.checkpoint``, its sha256 a recorded input; cRT and LWS
start from XE so) and ``post_hoc`` with ``chooser`` (an earlier stage and a
tool: the stage trains nothing, the tool chooses options for that stage's
checkpoint, which its evaluations and students get; see
:mod:`xerm_mm.apis.post_hoc`; it runs in one process).
Keys of an evaluation: ``name``, ``stage``, ``config``, ``cfg_options``,
``nproc``. Other keys of the pipeline config: ``balanced_set`` (the
balanced test set's name, default ``'balanced'``), ``report``, ``work_dir``
and ``budget_matched`` (default True; False leaves out the stages with an
``epochs_factor`` above 1 and their evaluations: the budget-matched
baselines, e.g. XE for the epochs of teacher + student).

Example pipeline config::

    stages = [
        dict(name='xe', config='xerm_mm::xe/xe_...py'),
        dict(name='tde', config='xerm_mm::tde/tde_...py', nproc=2),
        dict(name='xerm_pc', config='xerm_mm::xerm/xerm-pc_...py',
             teacher='xe'),
    ]
    evaluations = [
        dict(name='XE', stage='xe'),
        dict(name='PC', stage='xe', config='xerm_mm::pc/pc_...py'),
        dict(name='xERM-PC', stage='xerm_pc'),
    ]
    balanced_set = 'balanced'
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction

from xerm_mm.report import (build_report, check_report_spec, split_by_test_set,
                            training_throughput, write_report)
from xerm_mm.utils.atomic import sha256_of
from xerm_mm.utils.checkpoint_checks import CheckpointFileError
from xerm_mm.utils.config import resolve_config_path
from xerm_mm.utils.pretrained_checks import check_pretrained_files
from xerm_mm.utils.schedule import stretch_schedule
from .cost import LogWatcher, PeakRSS, step_cost
from .jobs import Placement, check_jobs, default_jobs
from .launch import check_launch, find_tools, path_options, tool_command
from .manifest import (checkpoint_problem, config_digest, read_manifest,
                       write_manifest)
from .process import ChildGroups, WorkDirLock, forward_signals, run_child
from .progress import progress_line, say
from .scheduler import Launch, Step, run_steps
from .post_hoc import PostHocStages, option_strings
from .teacher_configs import TEACHER_KEYS, teacher_config_options
from .validate import (ExperimentError, check_init_key, check_steps,
                       check_teacher_keys, needed_stages, resolve_chooser,
                       stages_run, teacher_stages)

def parse_options(options: Sequence[str]) -> dict:
    """``key=value`` strings parsed as the tools' ``--cfg-options`` are."""
    namespace = argparse.Namespace()
    DictAction([], 'cfg_options')(None, namespace, list(options))
    return namespace.cfg_options


class Experiment(PostHocStages):
    """Run the experiment of a pipeline config.

    Args:
        config (str): The pipeline config file.
        work_dir (str, optional): Root of the stages' work dirs. Defaults to
            the config's ``work_dir``, else ``work_dirs/{config name}``.
        data_root (str, optional): Passed to every tool as ``--data-root``.
        cfg_options (list[str], optional): ``key=value`` overrides passed to
            every training and test config (e.g. a shorter schedule).
        launcher (str): ``'none'`` or ``'pytorch'`` (every step under
            torchrun). A step whose ``nproc`` is above 1 always runs under
            torchrun. Defaults to ``'none'``.
        nproc (int): Processes of a step whose config gives no ``nproc``.
            Defaults to 1.
        python (str): The interpreter running the tools.
        tools_dir (str, optional): The folder of ``train.py`` and
            ``test.py``. Defaults to :func:`~xerm_mm.apis.launch.find_tools`.
        jobs (int, optional): The steps run at once (a step of ``nproc``
            processes counts as ``nproc``). Defaults to
            :func:`~xerm_mm.apis.jobs.default_jobs`: 2 per GPU, 1 without.

    Raises:
        ExperimentError: The pipeline config, ``launcher``, ``nproc`` or
            ``jobs`` is wrong, or a stage's pretrained weights file is
            missing (checked before any work).
        FileNotFoundError: No pipeline config, or the tools are not found.
    """

    def __init__(self,
                 config: str,
                 work_dir: Optional[str] = None,
                 data_root: Optional[str] = None,
                 cfg_options: Optional[Sequence[str]] = None,
                 launcher: str = 'none',
                 nproc: int = 1,
                 python: str = sys.executable,
                 tools_dir: Optional[str] = None,
                 jobs: Optional[int] = None):
        self.path = config
        self._configs: Dict[tuple, Config] = {}  # see _load
        self.cfg = Config.fromfile(config)
        check_steps(self.cfg, config)
        if not self.cfg.get('budget_matched', True):
            self._leave_out_budget_matched()
        self.report_spec = check_report_spec(self.cfg.get('report'), config)
        self.tools_dir = tools_dir or find_tools()
        try:
            check_launch(nproc, launcher)
            if jobs is not None:
                check_jobs(jobs)
        except ValueError as error:
            raise ExperimentError(str(error)) from None
        # jobs: the steps at once; why: how the default was chosen.
        self.jobs, self.jobs_rule = ((jobs, 'given') if jobs is not None
                                     else default_jobs())
        self.placement = Placement(self.jobs)
        self._groups = ChildGroups()  # the tools running now
        name = osp.splitext(osp.basename(config))[0]
        self.work_dir = work_dir or self.cfg.get('work_dir') or osp.join(
            'work_dirs', name)
        self.data_root = data_root
        self.cfg_options = list(cfg_options or [])
        self.launcher = launcher
        self.nproc = nproc
        self.python = python
        self.stages = OrderedDict(
            (stage['name'], stage) for stage in self.cfg.stages)
        # A post-hoc stage's chooser file; the options it chose (when done).
        self._choosers: Dict[str, str] = {}
        self._choices: Dict[str, dict] = {}
        self._epochs: Dict[str, int] = {}  # (a post-hoc stage: its source's)
        for name in self.stages:
            self._epochs[name] = self._check_stage(name)
        self._digests: Dict[str, str] = {}  # stage: final checkpoint sha256
        # What each step cost (recorded when it ran): stages, evaluations.
        self.costs: Dict[str, Dict[str, Optional[dict]]] = dict(
            stages=OrderedDict(), evaluations=OrderedDict())

    # -- helpers -----------------------------------------------------------

    def _leave_out_budget_matched(self) -> None:
        """Drop the stages with ``epochs_factor`` > 1, their evaluations."""
        self.cfg.stages = stages_run(self.cfg)
        kept = {stage['name'] for stage in self.cfg.stages}
        self.cfg.evaluations = [
            e for e in self.cfg.get('evaluations', []) if e['stage'] in kept]

    def _stage_dir(self, name: str) -> str:
        return osp.join(self.work_dir, name)

    def _options(self, step: dict) -> List[str]:
        """Experiment-wide, then the step's own ``cfg_options``."""
        return self.cfg_options + option_strings(step.get('cfg_options', {}))

    def _teacher_configs(self, cfg: Config, folder: str,
                         stage: str) -> List[str]:
        """Options that give the teachers of student ``stage`` the
        experiment-wide overrides and, for a post-hoc teacher stage, the
        options it chose (see :mod:`xerm_mm.apis.teacher_configs`)."""
        chosen = {
            key: self._choices[teacher]
            for key, teacher in teacher_stages(self.stages[stage]).items()
            if teacher in self._choices
        }
        try:
            return teacher_config_options(
                cfg.get('model'), parse_options(self.cfg_options), folder,
                chosen)
        except ValueError as error:
            raise ExperimentError(f'stage {stage}: {error}') from None

    @staticmethod
    def _split_paths(options: List[str]) -> Tuple[List[str], dict]:
        """The options, less the teacher config files written for a step
        (``model.{key}.config={file}``): ``{key: file}``, for
        :func:`~xerm_mm.apis.launch.path_options`."""
        files = {f'model.{key}.config' for key in TEACHER_KEYS}
        paths = OrderedDict(o.split('=', 1) for o in options
                            if o.split('=', 1)[0] in files)
        return [o for o in options if o.split('=', 1)[0] not in files], paths

    def _stage_options(self, name: str) -> List[str]:
        """A stage's overrides (:meth:`_options`), then those that stretch
        its epochs and schedule by its ``epochs_factor``."""
        stage = self.stages[name]
        options = self._options(stage)
        factor = stage.get('epochs_factor', 1)
        if factor == 1:
            return options
        cfg = self._load(stage['config'], options)
        return options + [
            f'{key}={value}'.replace(' ', '')
            for key, value in stretch_schedule(cfg, factor).items()
        ]

    def _load(self, config: str, options: Sequence[str] = ()) -> Config:
        """Config file ``config`` with ``options`` merged (a copy of the
        one loaded first: a config loads in tenths of a second, and the
        steps ask for their configs again and again)."""
        key = (config, tuple(options))
        if key not in self._configs:
            cfg = Config.fromfile(resolve_config_path(config))
            if options:
                cfg.merge_from_dict(parse_options(options))
            self._configs[key] = cfg
        return copy.deepcopy(self._configs[key])

    def stage_config(self, name: str) -> Config:
        """The training config of stage ``name`` with the overrides."""
        return self._load(self.stages[name]['config'],
                          self._stage_options(name))

    def _check_stage(self, name: str) -> int:
        """Load a stage's config, check its teacher keys; return its
        ``max_epochs``."""
        stage = self.stages[name]
        where = f'{self.path}: stage {name!r}: its config {stage["config"]}'
        try:
            cfg = self.stage_config(name)
        except Exception as error:
            raise ExperimentError(f'{where} does not load: {error}') from error
        check_teacher_keys(stage, cfg.get('model'), self.path)
        check_init_key(stage, cfg.get('model'), self.path)
        model = cfg.get('model')
        if stage.get('init_from') is not None:  # its checkpoint comes later
            model = dict(model, init_cfg=dict(model.init_cfg,
                                              checkpoint=None))
        try:
            check_pretrained_files(model)
        except (FileNotFoundError, CheckpointFileError) as error:
            raise ExperimentError(f'{where}: {error}') from None
        if stage.get('post_hoc') is not None:
            try:
                self._choosers[name] = resolve_chooser(stage['chooser'],
                                                       self.tools_dir)
            except FileNotFoundError as error:
                raise ExperimentError(
                    f'{self.path}: stage {name!r}: {error}') from None
            return self._epochs[stage['post_hoc']]
        epochs = (cfg.get('train_cfg') or {}).get('max_epochs')
        if isinstance(epochs, bool) or not isinstance(epochs, int):
            raise ExperimentError(
                f'{where} has no int train_cfg.max_epochs (got {epochs!r}); '
                'a stage needs an epoch-based schedule, its final checkpoint '
                'being epoch_{max_epochs}.pth')
        return epochs

    def final_checkpoint(self, name: str) -> str:
        """The last epoch's checkpoint of a stage (may not exist yet); a
        post-hoc stage's is its source stage's."""
        source = self.stages[name].get('post_hoc')
        if source is not None:
            return self.final_checkpoint(source)
        return osp.join(self._stage_dir(name),
                        f'epoch_{self._epochs[name]}.pth')

    def _run(self, tool: str, args: List[str], nproc: int, log: str) -> dict:
        """Run a tool, its output in ``log`` (in the step's folder, which
        names the step); return its ``cost`` (see
        :mod:`xerm_mm.apis.cost`). Safe in a thread of its own."""
        args = list(args)
        if self.data_root:
            args += ['--data-root', self.data_root]
        # (A chooser is an absolute path: os.path.join keeps it; it runs
        # in one process.)
        cmd = tool_command(
            osp.join(self.tools_dir, tool), args, nproc,
            self.launcher if tool in ('train.py', 'test.py') else 'none',
            self.python)
        name = osp.basename(osp.dirname(log))
        training = tool == 'train.py'
        choosing = tool not in ('train.py', 'test.py')  # a post-hoc stage
        label = f'{name} (' + ('train' if training else
                               'choose' if choosing else 'test') + ')'
        epochs = self._epochs.get(name) if training else None
        say(f'[experiment] {" ".join(cmd)}')
        os.makedirs(osp.dirname(log), exist_ok=True)
        watcher = LogWatcher()
        usage = []
        peak: List[PeakRSS] = []
        start = time.monotonic()
        with open(log, 'a') as f, self.placement.env(nproc) as env:

            def on_start(pid: int) -> None:
                self._groups.add(pid)
                peak.append(PeakRSS(pid))  # the tool's process group
                peak[0].start()
                f.write(f'[experiment] pid {pid}: {" ".join(cmd)}\n')
                f.flush()

            def on_line(line: str) -> None:
                f.write(line)
                watcher.feed(line)
                status = progress_line(label, line, epochs)
                if status:  # one line per logged step
                    say(f'  {status}')

            try:
                returncode = run_child(cmd, on_line, on_start,
                                       on_exit=usage.append, env=env)
            finally:
                peak_kib = peak[0].stop() if peak else 0
                if peak:
                    self._groups.remove(peak[0].pgid)
        wall = time.monotonic() - start
        say(f'  {label} | ' + ('ended' if returncode == 0 else
                               f'failed (exit {returncode})') +
            f' after {wall:.1f} s')
        if returncode != 0:
            with open(log) as f:
                tail = f.read()[-4000:]
            kind = 'stage' if training or choosing else 'evaluation'
            raise ExperimentError(
                f'{kind} {name}: {tool} failed (exit {returncode}); '
                f'log: {log}\n{tail}')
        return step_cost(wall, watcher, nproc,
                         peak_kib or (usage[0].ru_maxrss if usage else 0))

    def _set_aside(self, name: str, why: str, again: str = 'trained') -> None:
        """Move a stage folder that cannot be continued out of the way."""
        work = self._stage_dir(name)
        if not osp.isdir(work) or not os.listdir(work):
            return
        old = f'{work}.old-{time.strftime("%Y%m%d-%H%M%S")}'
        os.replace(work, old)
        say(f'[experiment] stage {name}: {why}; its folder is moved to '
            f'{old} and the stage is {again} again')

    def _stage_inputs(self, name: str) -> dict:
        stage = self.stages[name]
        teachers = {}
        for key, teacher in teacher_stages(stage).items():
            teachers[key] = dict(stage=teacher, sha256=self._digests[teacher])
            if teacher in self._choices:  # a post-hoc teacher's choice
                teachers[key]['chosen'] = option_strings(
                    self._choices[teacher])
        inputs = dict(
            config=stage['config'],
            config_sha256=config_digest(self.stage_config(name)),
            cfg_options=self._stage_options(name),
            data_root=self.data_root,
            teachers=teachers)
        source = stage.get('init_from')
        if source is not None:  # (absent otherwise: older records match)
            inputs['init_from'] = dict(stage=source,
                                       sha256=self._digests[source])
        return inputs

    def _stage_state(self, name: str, inputs: dict) -> str:
        """``'done'``, ``'resume'`` or ``'fresh'`` (folder set aside)."""
        work = self._stage_dir(name)
        final = self.final_checkpoint(name)
        record = read_manifest(osp.join(work, 'manifest.json'))
        if record is None or record.get('inputs') != inputs:
            self._set_aside(
                name, 'it was trained from other inputs (config, options, '
                'data root or teachers)' if record else
                'it has no record of its inputs (manifest.json)')
            return 'fresh'
        if record.get('state') == 'done':
            problem = checkpoint_problem(final, self._epochs[name])
            if problem is None and sha256_of(final) != record.get(
                    'checkpoint', {}).get('sha256'):
                problem = 'is not the checkpoint its record names'
            if problem is None:
                return 'done'
            self._set_aside(name, f'its final checkpoint {final} {problem}')
            return 'fresh'
        last = osp.join(work, 'last_checkpoint')
        if osp.isfile(last):
            with open(last) as f:
                latest = f.read().strip()
            if latest and checkpoint_problem(latest) is None:
                return 'resume'
        self._set_aside(name, 'it was interrupted before a loadable '
                        'checkpoint')
        return 'fresh'

    # -- steps -------------------------------------------------------------

    def train(self, name: str) -> str:
        """Train stage ``name`` unless done; return its final checkpoint.

        Its teachers must be done (trained in this run or an earlier one).
        """
        launch = self._prepare_stage(name)
        if launch is not None:
            launch.finish(launch.run())
        return self.final_checkpoint(name)

    def _prepare_stage(self, name: str) -> Optional[Launch]:
        """None when stage ``name`` is done; else its training to run
        (its manifest says ``training`` from now on). A post-hoc stage runs
        its chooser instead (see :mod:`xerm_mm.apis.post_hoc`)."""
        stage = self.stages[name]
        if stage.get('post_hoc') is not None:
            return self._prepare_post_hoc(name)
        final = self.final_checkpoint(name)
        work = self._stage_dir(name)
        manifest = osp.join(work, 'manifest.json')
        inputs = self._stage_inputs(name)
        state = self._stage_state(name, inputs)
        if state == 'done':
            say(f'[experiment] stage {name}: done ({final})')
            record = read_manifest(manifest)
            self._digests[name] = record['checkpoint']['sha256']
            self.costs['stages'][name] = record.get('cost')
            return None
        options, paths = self._split_paths(
            self._stage_options(name) +
            self._teacher_configs(self.stage_config(name), work, name))
        for key, teacher in teacher_stages(stage).items():
            paths[f'model.{key}.checkpoint'] = self.final_checkpoint(teacher)
        if stage.get('init_from') is not None:
            paths['model.init_cfg.checkpoint'] = self.final_checkpoint(
                stage['init_from'])
        config, options = path_options(
            resolve_config_path(stage['config']), options, paths, work)
        args = [config, '--work-dir', work]
        if state == 'resume':
            args.append('--resume')  # an interrupted run goes on
        # Otherwise the stage folder is new or was set aside: nothing in it
        # for tools/train.py to refuse.
        if options:
            args += ['--cfg-options', *options]
        os.makedirs(work, exist_ok=True)
        write_manifest(
            dict(kind='stage', name=name, state='training', inputs=inputs),
            manifest)
        nproc = stage.get('nproc', self.nproc)
        return Launch(
            lambda: self._run('train.py', args, nproc,
                              osp.join(work, 'pipeline.log')),
            lambda cost: self._finish_stage(name, inputs, state, nproc,
                                            cost))

    def _finish_stage(self, name: str, inputs: dict, state: str, nproc: int,
                      cost: Optional[dict]) -> None:
        """Check a trained stage's final checkpoint; record it as done."""
        final = self.final_checkpoint(name)
        # (A _run replaced in a test may return no cost.)
        cost = OrderedDict(cost or ())
        problem = checkpoint_problem(final, self._epochs[name])
        if problem:
            raise ExperimentError(f'stage {name}: training ended, but its '
                                  f'final checkpoint {final} {problem}')
        self._digests[name] = sha256_of(final)
        batch = self.stage_config(name).train_dataloader.batch_size
        cost.update(training_throughput(final, batch, nproc), resumed=(
            state == 'resume'))
        self.costs['stages'][name] = cost
        write_manifest(
            dict(kind='stage', name=name, state='done', inputs=inputs,
                 checkpoint=dict(file=osp.basename(final),
                                 sha256=self._digests[name],
                                 epoch=self._epochs[name]),
                 cost=cost), osp.join(self._stage_dir(name), 'manifest.json'))

    def evaluate(self, evaluation: dict) -> Dict[str, dict]:
        """Test a stage's final checkpoint unless done; rows per test set.

        The stage must be done (see :meth:`train`).
        """
        launch = self._prepare_evaluation(evaluation)
        if launch is not None:
            launch.finish(launch.run())
        return self._rows(evaluation)

    def _metrics_file(self, evaluation: dict) -> str:
        return osp.join(self.work_dir, 'eval', f'{evaluation["name"]}.json')

    def _rows(self, evaluation: dict) -> Dict[str, dict]:
        with open(self._metrics_file(evaluation)) as f:
            return split_by_test_set(json.load(f))

    def _evaluation_own_options(self, evaluation: dict) -> List[str]:
        """An evaluation's own ``cfg_options``, then the options that a
        post-hoc stage chose (its evaluations test its source checkpoint
        with them)."""
        return option_strings(evaluation.get('cfg_options', {})) + \
            option_strings(self._choices.get(evaluation['stage'], {}))

    def _evaluation_options(self, evaluation: dict) -> List[str]:
        """Experiment-wide, then :meth:`_evaluation_own_options`."""
        return self.cfg_options + self._evaluation_own_options(evaluation)

    def evaluation_config(self, evaluation: dict) -> Config:
        """The test config of ``evaluation`` with the overrides."""
        stage = self.stages[evaluation['stage']]
        return self._load(evaluation.get('config', stage['config']),
                          self._evaluation_options(evaluation))

    def backward_sets(self) -> List[str]:
        """The test sets of the evaluations with the backward profile
        (``reverse=True`` in ``test_cfg.test_sets``)."""
        found: List[str] = []
        for evaluation in self.cfg.get('evaluations', []):
            test_cfg = self.evaluation_config(evaluation).get('test_cfg')
            for name, spec in ((test_cfg or {}).get('test_sets')
                               or {}).items():
                if (spec or {}).get('reverse') and name not in found:
                    found.append(name)
        return found

    def _prepare_evaluation(self, evaluation: dict) -> Optional[Launch]:
        """None when ``evaluation`` is done; else its test to run."""
        stage = self.stages[evaluation['stage']]
        config = resolve_config_path(
            evaluation.get('config', stage['config']))
        options = self._evaluation_options(evaluation)
        cfg = self.evaluation_config(evaluation)
        checkpoint = self.final_checkpoint(evaluation['stage'])
        inputs = dict(
            stage=evaluation['stage'],
            config=evaluation.get('config', stage['config']),
            config_sha256=config_digest(cfg),
            cfg_options=options,
            data_root=self.data_root,
            checkpoint=dict(
                file=osp.basename(checkpoint),  # in the stage's folder
                sha256=self._digests[evaluation['stage']]))
        name = evaluation['name']
        out = self._metrics_file(evaluation)
        manifest = osp.join(self.work_dir, 'eval', f'{name}.manifest.json')
        record = read_manifest(manifest)
        if (record and record.get('inputs') == inputs and osp.isfile(out)
                and sha256_of(out) == record.get('metrics', {}).get('sha256')):
            say(f'[experiment] evaluation {name}: done ({out})')
            self.costs['evaluations'][name] = record.get('cost')
            return None
        if record or osp.isfile(out):
            say(f'[experiment] evaluation {name}: its inputs changed (or its '
                'metrics file); evaluated again')
        work = osp.join(self.work_dir, 'eval', name)
        config, options = path_options(config, *self._split_paths(
            options + self._teacher_configs(cfg, work, evaluation['stage'])),
            work)
        args = [config, checkpoint, '--work-dir', work, '--metrics-out', out]
        if options:
            args += ['--cfg-options', *options]
        if osp.isfile(out):
            os.remove(out)
        nproc = evaluation.get('nproc', self.nproc)

        def finish(cost: Optional[dict]) -> None:
            write_manifest(
                dict(kind='evaluation', name=name, state='done',
                     inputs=inputs,
                     metrics=dict(file=osp.basename(out),
                                  sha256=sha256_of(out)),
                     cost=cost), manifest)
            self.costs['evaluations'][name] = cost

        return Launch(
            lambda: self._run('test.py', args, nproc,
                              osp.join(work, 'pipeline.log')), finish)

    def run(self) -> dict:
        """Every stage, every evaluation, then the report; return it.

        Holds the work dir's lock and forwards SIGINT / SIGTERM to the
        running tool (see :mod:`xerm_mm.apis.process`).

        Raises:
            ExperimentError: Another pipeline holds the work dir, or a step
                failed.
            Interrupted: SIGINT / SIGTERM; the running tool was stopped.
        """
        lock = WorkDirLock(self.work_dir)
        try:
            lock.acquire()
        except RuntimeError as error:
            raise ExperimentError(str(error)) from None
        try:
            with forward_signals():
                return self._run_all()
        finally:
            lock.release()

    def steps(self) -> List[Step]:
        """The stages, then the evaluations, in the pipeline config's order,
        each needing its teacher, ``init_from`` or ``post_hoc`` stages or
        its stage."""
        steps = []
        for name, stage in self.stages.items():
            steps.append(Step(
                f'stage {name}',
                tuple(f'stage {t}' for t in needed_stages(stage)),
                1 if stage.get('post_hoc') is not None else stage.get(
                    'nproc', self.nproc),
                lambda name=name: self._prepare_stage(name)))
        for evaluation in self.cfg.get('evaluations', []):
            steps.append(Step(
                f'evaluation {evaluation["name"]}',
                (f'stage {evaluation["stage"]}', ),
                evaluation.get('nproc', self.nproc),
                lambda e=evaluation: self._prepare_evaluation(e)))
        return steps

    def _run_all(self) -> dict:
        if self.jobs > 1:
            say(f'[experiment] up to {self.jobs} steps at once '
                f'({self.jobs_rule})')
        run_steps(self.steps(), self.jobs, self._groups)
        evaluations = self.cfg.get('evaluations', [])
        results = OrderedDict((evaluation['name'], self._rows(evaluation))
                              for evaluation in evaluations)
        checkpoints = OrderedDict(
            (evaluation['name'],
             dict(file=self.final_checkpoint(evaluation['stage']),
                  sha256=self._digests[evaluation['stage']]))
            for evaluation in evaluations)
        # In the pipeline config's order, not in the order the steps ended.
        costs = dict(
            stages=OrderedDict(
                (name, self.costs['stages'].get(name)) for name in self.stages),
            evaluations=OrderedDict(
                (name, self.costs['evaluations'].get(name))
                for name in results))
        spec = self.report_spec
        # Where the numbers came from: the figures' commands redraw them.
        sources = dict(
            metrics_files=OrderedDict((e['name'], self._metrics_file(e))
                                      for e in evaluations),
            configs=OrderedDict(
                (e['name'], e.get('config', self.stages[e['stage']]['config']))
                for e in evaluations),
            options=OrderedDict((e['name'], self._evaluation_own_options(e))
                                for e in evaluations),
            data_root=self.data_root, cfg_options=self.cfg_options)
        report = build_report(results,
                              self.cfg.get('balanced_set', 'balanced'),
                              checkpoints, costs, spec['tables'],
                              spec['paper'], self.backward_sets(), sources,
                              baseline=spec['baseline'])
        write_report(report, self.work_dir,
                     title=spec['title'] or osp.basename(self.path),
                     figures=spec['figures'])
        return report

