"""An experiment of the method in one call: teachers, xERM students, tests.

A *pipeline config* (``configs/pipelines/``, run by
``tools/run_pipeline.py``) lists the stages of an experiment; it is no data
pipeline. ``stages`` are trainings (each a training config, run by
``tools/train.py`` in ``{work_dir}/{stage}``); a stage may take the final
checkpoints of earlier stages as its teachers. ``evaluations`` test a
stage's final checkpoint with ``tools/test.py`` and a test config (by
default the stage's own). A stage whose final checkpoint exists is not
trained again; a stage with checkpoints but no final one is resumed; an
evaluation whose metrics file exists is not run again. The report gathers
the evaluations in the shape of the paper's Tables 1 and 4.

Keys of a stage: ``name``, ``config``, ``teacher`` (one earlier stage: its
checkpoint becomes ``model.teacher.checkpoint``) or ``teachers`` (two:
``dict(imbalanced='xe', balanced='tde')`` sets
``model.imbalanced_teacher.checkpoint`` and
``model.balanced_teacher.checkpoint``), ``cfg_options`` (a dict of
overrides) and ``nproc`` (its processes; more than one run under torchrun).
Keys of an evaluation: ``name``, ``stage``, ``config``, ``cfg_options``,
``nproc``.

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
import json
import os
import os.path as osp
import subprocess
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config, DictAction

from xerm_mm.evaluation.report import split_by_test_set
from xerm_mm.utils.config import resolve_config_path
from .launch import check_launch, find_tools, tool_command
from .report import build_report, write_report
from .validate import (ExperimentError, check_steps, check_teacher_keys,
                       teacher_stages)

# Lines of the tools' logs echoed while a step runs: training / val progress.
PROGRESS_MARK = ' - mmengine - INFO - Epoch('


def parse_options(options: Sequence[str]) -> dict:
    """``key=value`` strings parsed as the tools' ``--cfg-options`` are."""
    namespace = argparse.Namespace()
    DictAction([], 'cfg_options')(None, namespace, list(options))
    return namespace.cfg_options


class Experiment:
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

    Raises:
        ExperimentError: The pipeline config, ``launcher`` or ``nproc`` is
            wrong (checked before any work).
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
                 tools_dir: Optional[str] = None):
        self.path = config
        self.cfg = Config.fromfile(config)
        check_steps(self.cfg, config)
        self.tools_dir = tools_dir or find_tools()
        try:
            check_launch(nproc, launcher)
        except ValueError as error:
            raise ExperimentError(str(error)) from None
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
        self._finals = {name: self._check_stage(name) for name in self.stages}

    # -- helpers -----------------------------------------------------------

    def _stage_dir(self, name: str) -> str:
        return osp.join(self.work_dir, name)

    def _options(self, step: dict) -> List[str]:
        """Experiment-wide, then the step's own ``cfg_options``."""
        own = [f'{k}={v}' for k, v in step.get('cfg_options', {}).items()]
        return self.cfg_options + own

    def stage_config(self, name: str) -> Config:
        """The training config of stage ``name`` with the overrides."""
        stage = self.stages[name]
        cfg = Config.fromfile(resolve_config_path(stage['config']))
        options = self._options(stage)
        if options:
            cfg.merge_from_dict(parse_options(options))
        return cfg

    def _check_stage(self, name: str) -> str:
        """Load a stage's config, check its teacher keys; return the path
        of its final checkpoint."""
        stage = self.stages[name]
        where = f'{self.path}: stage {name!r}: its config {stage["config"]}'
        try:
            cfg = self.stage_config(name)
        except Exception as error:
            raise ExperimentError(f'{where} does not load: {error}') from error
        check_teacher_keys(stage, cfg.get('model'), self.path)
        epochs = (cfg.get('train_cfg') or {}).get('max_epochs')
        if isinstance(epochs, bool) or not isinstance(epochs, int):
            raise ExperimentError(
                f'{where} has no int train_cfg.max_epochs (got {epochs!r}); '
                'a stage needs an epoch-based schedule, its final checkpoint '
                'being epoch_{max_epochs}.pth')
        return osp.join(self._stage_dir(name), f'epoch_{epochs}.pth')

    def final_checkpoint(self, name: str) -> str:
        """The last epoch's checkpoint of a stage (may not exist yet)."""
        return self._finals[name]

    def _run(self, tool: str, args: List[str], nproc: int, log: str) -> None:
        args = list(args)
        if self.data_root:
            args += ['--data-root', self.data_root]
        cmd = tool_command(
            osp.join(self.tools_dir, tool), args, nproc, self.launcher,
            self.python)
        print(f'[experiment] {" ".join(cmd)}', flush=True)
        os.makedirs(osp.dirname(log), exist_ok=True)
        with open(log, 'a') as f:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True)
            for line in proc.stdout:
                f.write(line)
                if PROGRESS_MARK in line:  # one line per logged step
                    step = line.split(PROGRESS_MARK, 1)[1].rstrip()
                    print(f'  Epoch({step[:150]}', flush=True)
            proc.wait()
        if proc.returncode != 0:
            with open(log) as f:
                tail = f.read()[-4000:]
            raise ExperimentError(f'{tool} failed (exit {proc.returncode}); '
                                  f'log: {log}\n{tail}')

    # -- steps -------------------------------------------------------------

    def train(self, name: str) -> str:
        """Train stage ``name`` unless done; return its final checkpoint."""
        stage = self.stages[name]
        final = self.final_checkpoint(name)
        if osp.isfile(final):
            print(f'[experiment] stage {name}: done ({final})', flush=True)
            return final
        work = self._stage_dir(name)
        args = [resolve_config_path(stage['config']), '--work-dir', work]
        if osp.isfile(osp.join(work, 'last_checkpoint')):
            args.append('--resume')  # an interrupted run goes on
        else:  # checkpoints without last_checkpoint: a run killed at once
            args.append('--overwrite')
        options = self._options(stage)
        for key, teacher in teacher_stages(stage).items():
            options.append(
                f'model.{key}.checkpoint={self.final_checkpoint(teacher)}')
        if options:
            args += ['--cfg-options', *options]
        self._run('train.py', args, stage.get('nproc', self.nproc),
                  osp.join(work, 'pipeline.log'))
        if not osp.isfile(final):
            raise ExperimentError(f'stage {name}: training ended without '
                                  f'{final}')
        return final

    def evaluate(self, evaluation: dict) -> Dict[str, dict]:
        """Test a stage's final checkpoint; rows per test set."""
        stage = self.stages[evaluation['stage']]
        config = resolve_config_path(
            evaluation.get('config', stage['config']))
        out = osp.join(self.work_dir, 'eval', f'{evaluation["name"]}.json')
        if not osp.isfile(out):
            work = osp.join(self.work_dir, 'eval', evaluation['name'])
            args = [
                config,
                self.final_checkpoint(evaluation['stage']), '--work-dir',
                work, '--metrics-out', out
            ]
            options = self._options(evaluation)
            if options:
                args += ['--cfg-options', *options]
            self._run('test.py', args, evaluation.get('nproc', self.nproc),
                      osp.join(work, 'pipeline.log'))
        else:
            print(f'[experiment] evaluation {evaluation["name"]}: done '
                  f'({out})', flush=True)
        with open(out) as f:
            return split_by_test_set(json.load(f))

    def run(self) -> dict:
        """Every stage, every evaluation, then the report; return it."""
        for name in self.stages:
            self.train(name)
        evaluations = self.cfg.get('evaluations', [])
        results = OrderedDict((evaluation['name'], self.evaluate(evaluation))
                              for evaluation in evaluations)
        report = build_report(results,
                              self.cfg.get('balanced_set', 'balanced'))
        write_report(report, self.work_dir, title=osp.basename(self.path))
        return report
