"""Post-hoc stages of an experiment: options chosen for a trained checkpoint.

A stage ``dict(name='taunorm', config=..., post_hoc='xe',
chooser='tools/analysis_tools/choose_tau_norm.py')`` trains nothing. It runs
its chooser (a tool, in a process of its own, as the trainings and tests
run) on the final checkpoint of stage ``post_hoc`` with the stage's config::

    python CHOOSER CONFIG CHECKPOINT --out {stage}/choice.json \
        [--data-root DIR] [--cfg-options EXPERIMENT-WIDE ... OWN ...]

The chooser writes JSON holding ``cfg_options``: the dotted keys of the
stage's config it chose, e.g. ``{"model.head.tau": 0.8}``
(``choose_tau_norm.py``) or ``{"model.head.alpha": 1.28}``
(``choose_tde_alpha.py``). The stage is then done: its final checkpoint is
the source stage's (the same file and sha256). Its manifest
(``{stage}/manifest.json``) records its inputs (config and its digest, the
options, the data root, the source checkpoint's sha256, the chooser and its
sha256) and the choice; a rerun with the same inputs and the same choice
file skips it, a retrained source redoes it.

Downstream, an evaluation of the stage tests the source checkpoint with the
stage's config and the chosen options added to its ``--cfg-options``; a
student with ``teacher=`` the stage gets the checkpoint and the chosen
options in its teacher config (:mod:`xerm_mm.apis.teacher_configs`), and the
chosen values are part of the student's recorded inputs.
"""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import List, Mapping, Optional

from xerm_mm.utils.atomic import sha256_of
from xerm_mm.utils.config import resolve_config_path
from .manifest import config_digest, read_manifest, write_manifest
from .progress import say
from .scheduler import Launch
from .validate import ExperimentError

#: The chooser's JSON in the stage folder.
CHOICE_FILE = 'choice.json'


def option_strings(options: Mapping) -> List[str]:
    """``{key: value}`` as ``--cfg-options`` strings (``key=value``)."""
    return [f'{key}={value}' for key, value in options.items()]


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


class PostHocStages:
    """The post-hoc stages of :class:`~xerm_mm.apis.Experiment` (a mixin:
    it uses the experiment's folders, options and ``_run``)."""

    def _post_hoc_inputs(self, name: str) -> dict:
        stage = self.stages[name]
        source = stage['post_hoc']
        chooser = self._choosers[name]
        return dict(
            config=stage['config'],
            config_sha256=config_digest(self.stage_config(name)),
            cfg_options=self._stage_options(name),
            data_root=self.data_root,
            post_hoc=dict(stage=source, sha256=self._digests[source]),
            chooser=dict(file=stage['chooser'], sha256=sha256_of(chooser)))

    def post_hoc_problem(self, name: str, folder: str) -> Optional[str]:
        """Why ``folder`` does not hold post-hoc stage ``name`` done with
        this run's inputs; None when it does (its choice is then known).
        Its source stage must be done."""
        record = read_manifest(osp.join(folder, 'manifest.json'))
        out = osp.join(folder, CHOICE_FILE)
        if record is None:
            return 'has no manifest.json (no stage of a pipeline run)'
        if record.get('state') != 'done':
            return f'is not finished (state {record.get("state")!r})'
        inputs = self._post_hoc_inputs(name)
        if record.get('inputs') != inputs:
            return (f'chose from other inputs: {record.get("inputs")} there, '
                    f'{inputs} here')
        if not osp.isfile(out) or sha256_of(out) != record.get(
                'choice', {}).get('sha256'):
            return f'has no {CHOICE_FILE} with the digest its record names'
        self._digests[name] = self._digests[self.stages[name]['post_hoc']]
        self._choices[name] = OrderedDict(record['choice']['cfg_options'])
        self.costs['stages'][name] = record.get('cost')
        return None

    def _prepare_post_hoc(self, name: str) -> Optional[Launch]:
        """None when post-hoc stage ``name`` is done (its choice known);
        else its chooser's run."""
        stage = self.stages[name]
        work = self._stage_dir(name)
        manifest = osp.join(work, 'manifest.json')
        out = osp.join(work, CHOICE_FILE)
        inputs = self._post_hoc_inputs(name)
        record = read_manifest(manifest)
        if self.post_hoc_problem(name, work) is None:
            say(f'[experiment] stage {name}: done (chose '
                f'{" ".join(option_strings(self._choices[name]))})')
            return None
        if record is not None or osp.isfile(out):
            self._set_aside(name, 'its choice was made from other inputs '
                            '(config, options, data root, checkpoint or '
                            'chooser) or its record is incomplete',
                            again='chosen')
        os.makedirs(work, exist_ok=True)
        write_manifest(
            dict(kind='stage', name=name, state='choosing', inputs=inputs),
            manifest)
        args = [
            resolve_config_path(stage['config']),
            self.final_checkpoint(name), '--out', out
        ]
        options = self._stage_options(name)
        if options:
            args += ['--cfg-options', *options]
        chooser = self._choosers[name]
        return Launch(
            lambda: self._run(chooser, args, 1,
                              osp.join(work, 'pipeline.log')),
            lambda cost: self._finish_post_hoc(name, inputs, cost))

    def _finish_post_hoc(self, name: str, inputs: dict,
                         cost: Optional[dict]) -> None:
        """Read the choice; record the stage as done."""
        stage = self.stages[name]
        out = osp.join(self._stage_dir(name), CHOICE_FILE)
        choice = read_choice(out, stage['chooser'])
        self._digests[name] = self._digests[stage['post_hoc']]
        self._choices[name] = choice
        cost = OrderedDict(cost or (), chooser=osp.basename(stage['chooser']))
        self.costs['stages'][name] = cost
        final = self.final_checkpoint(name)
        write_manifest(
            dict(kind='stage', name=name, state='done', inputs=inputs,
                 checkpoint=dict(stage=stage['post_hoc'], file=final,
                                 sha256=self._digests[name]),
                 choice=dict(file=CHOICE_FILE, sha256=sha256_of(out),
                             cfg_options=choice),
                 cost=cost), osp.join(self._stage_dir(name), 'manifest.json'))
        say(f'[experiment] stage {name}: chose '
            f'{" ".join(option_strings(choice))}')

