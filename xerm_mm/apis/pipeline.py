"""The whole method in one command: teachers, xERM students, evaluation.

A pipeline config lists training ``stages`` (each a training config, run by
``tools/train.py`` in ``{work_dir}/{stage}``; a stage may name the stage
whose final checkpoint is its teacher) and ``evaluations`` (a stage's final
checkpoint tested by ``tools/test.py`` with a test config, by default the
stage's own). A stage whose final checkpoint exists is not trained again; a
stage with checkpoints but no final one is resumed; an evaluation whose
metrics file exists is not run again. The report gathers the evaluations in
the shape of the paper's Tables 1 and 4.

Example pipeline config::

    stages = [
        dict(name='xe', config='xerm_mm::xe/xe_...py'),
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
import json
import os
import os.path as osp
import subprocess
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from xerm_mm.evaluation.report import (GROUP_COLUMNS, markdown_table,
                                       split_by_test_set)
from xerm_mm.utils.config import resolve_config_path

TOOLS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                 'tools')


# Lines of the tools' logs echoed while a step runs: training / val progress.
PROGRESS_MARK = ' - mmengine - INFO - Epoch('


class PipelineError(RuntimeError):
    """A pipeline config or one of its steps is wrong."""


def _check_pipeline(cfg: Config, path: str) -> None:
    """Validate stage / evaluation names and references before any work."""
    stages = cfg.get('stages')
    if not stages:
        raise PipelineError(f'{path}: no `stages` list')
    names = [stage.get('name') for stage in stages]
    if None in names or len(set(names)) != len(names):
        raise PipelineError(f'{path}: every stage needs a unique `name`, '
                            f'got {names}')
    for i, stage in enumerate(stages):
        resolve_config_path(stage['config'])
        teacher = stage.get('teacher')
        if teacher is not None and teacher not in names[:i]:
            raise PipelineError(
                f'{path}: stage {stage["name"]!r} has teacher {teacher!r}, '
                f'which is not an earlier stage of {names[:i]}')
    for evaluation in cfg.get('evaluations', []):
        if evaluation.get('stage') not in names:
            raise PipelineError(
                f'{path}: evaluation {evaluation.get("name")!r} names stage '
                f'{evaluation.get("stage")!r}, not one of {names}')
        if 'config' in evaluation:
            resolve_config_path(evaluation['config'])


class Pipeline:
    """Run a pipeline config.

    Args:
        config (str): The pipeline config file.
        work_dir (str, optional): Root of the stages' work dirs. Defaults to
            ``work_dirs/{pipeline config name}``.
        data_root (str, optional): Passed to every tool as ``--data-root``.
        cfg_options (list[str], optional): ``key=value`` overrides passed to
            every training and test config (e.g. a shorter schedule).
        python (str): The interpreter running the tools.
    """

    def __init__(self,
                 config: str,
                 work_dir: Optional[str] = None,
                 data_root: Optional[str] = None,
                 cfg_options: Optional[Sequence[str]] = None,
                 python: str = sys.executable):
        self.path = config
        self.cfg = Config.fromfile(config)
        _check_pipeline(self.cfg, config)
        name = osp.splitext(osp.basename(config))[0]
        self.work_dir = work_dir or self.cfg.get('work_dir') or osp.join(
            'work_dirs', name)
        self.data_root = data_root
        self.cfg_options = list(cfg_options or [])
        self.python = python
        self.stages = OrderedDict(
            (stage['name'], stage) for stage in self.cfg.stages)

    # -- helpers -----------------------------------------------------------

    def _stage_dir(self, name: str) -> str:
        return osp.join(self.work_dir, name)

    def final_checkpoint(self, name: str) -> str:
        """The last epoch's checkpoint of a stage (may not exist yet)."""
        stage = self.stages[name]
        cfg = Config.fromfile(resolve_config_path(stage['config']))
        options = self._options(stage)
        if options:
            cfg.merge_from_dict(
                dict(option.split('=', 1) for option in options))
        epochs = int(cfg.train_cfg.max_epochs)
        return osp.join(self._stage_dir(name), f'epoch_{epochs}.pth')

    def _options(self, step: dict) -> List[str]:
        """Pipeline-wide, then the step's own ``cfg_options``."""
        own = [f'{k}={v}' for k, v in step.get('cfg_options', {}).items()]
        return self.cfg_options + own

    def _run(self, tool: str, *args: str, log: str) -> None:
        cmd = [self.python, osp.join(TOOLS, tool), *args]
        if self.data_root:
            cmd += ['--data-root', self.data_root]
        print(f'[pipeline] {" ".join(cmd)}', flush=True)
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
            raise PipelineError(f'{tool} failed (exit {proc.returncode}); '
                                f'log: {log}\n{tail}')

    # -- steps -------------------------------------------------------------

    def train(self, name: str) -> str:
        """Train stage ``name`` unless done; return its final checkpoint."""
        stage = self.stages[name]
        final = self.final_checkpoint(name)
        if osp.isfile(final):
            print(f'[pipeline] stage {name}: done ({final})', flush=True)
            return final
        work = self._stage_dir(name)
        args = [resolve_config_path(stage['config']), '--work-dir', work]
        if osp.isfile(osp.join(work, 'last_checkpoint')):
            args.append('--resume')  # an interrupted run goes on
        options = self._options(stage)
        if stage.get('teacher'):
            teacher = self.final_checkpoint(stage['teacher'])
            options.append(f'model.teacher.checkpoint={teacher}')
        if options:
            args += ['--cfg-options', *options]
        self._run('train.py', *args, log=osp.join(work, 'pipeline.log'))
        if not osp.isfile(final):
            raise PipelineError(f'stage {name}: training ended without '
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
            self._run('test.py', *args, log=osp.join(work, 'pipeline.log'))
        else:
            print(f'[pipeline] evaluation {evaluation["name"]}: done ({out})',
                  flush=True)
        with open(out) as f:
            return split_by_test_set(json.load(f))

    def run(self) -> dict:
        """Every stage, every evaluation, then the report; return it."""
        for name in self.stages:
            self.train(name)
        results = OrderedDict((evaluation['name'], self.evaluate(evaluation))
                              for evaluation in self.cfg.get('evaluations', []))
        report = build_report(results,
                              self.cfg.get('balanced_set', 'balanced'))
        write_report(report, self.work_dir, title=osp.basename(self.path))
        return report


# -- report -----------------------------------------------------------------


def build_report(results: Dict[str, Dict[str, dict]],
                 balanced_set: str = 'balanced') -> dict:
    """Paper-shaped tables from ``{method: {test set: metrics}}``.

    ``table1``: per method, top-1 and the many / medium / few recall,
    precision and F1 on the balanced test set. ``table4``: per method, top-1
    on every test set (balanced and imbalanced).
    """
    table1 = OrderedDict()
    table4 = OrderedDict()
    for method, sets in results.items():
        if balanced_set in sets:
            row = sets[balanced_set]
            table1[method] = OrderedDict(
                [('top1', row.get('top1'))] +
                [(key, row.get(key)) for key in GROUP_COLUMNS])
        table4[method] = OrderedDict(
            (name, row.get('top1')) for name, row in sets.items())
    return OrderedDict(table1=table1, table4=table4, results=results)


def write_report(report: dict, work_dir: str, title: str = 'xERM') -> str:
    """Write ``report.json`` and ``report.md`` in ``work_dir``; return md."""
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'report.json'), 'w') as f:
        json.dump(report, f, indent=1)
    sets = []
    for row in report['table4'].values():
        sets += [name for name in row if name not in sets]
    lines = [
        f'# {title}', '',
        '## Balanced test set: top-1 and per group recall / precision / F1 '
        '(Table 1)', '',
        markdown_table(report['table1'], first='method'), '',
        '## Top-1 on every test set (Table 4: imbalanced test sets)', '',
        markdown_table(report['table4'], columns=sets, first='method'), '',
        'Values in percent. Groups by training images per class: many > 100, '
        'medium 20-100, few < 20 (or the thresholds of the config). F1: the '
        'mean of the per-class F1 over the group; precision: a never-'
        'predicted class counts as 0 (LongTailMetric defaults).', ''
    ]
    markdown = '\n'.join(lines)
    with open(osp.join(work_dir, 'report.md'), 'w') as f:
        f.write(markdown)
    return markdown
