"""Finished stages of another pipeline work dir, reused in an experiment.

The ablation trains its students in a work dir of its own, but their
teachers are the pipeline's: ``--teachers-from W`` links ``W/{stage}`` into
the ablation's work dir, after checking that the stage there is finished
with the inputs this experiment would train it with (the same record
:class:`~xerm_mm.apis.Experiment` checks, so it keeps the stage as done and
never writes into ``W``). A stage that does not qualify is refused before
any training, with what differs.
"""
import os
import os.path as osp
from typing import Optional, Sequence

from xerm_mm.apis import Experiment
from xerm_mm.apis.manifest import checkpoint_problem, read_manifest
from xerm_mm.utils.atomic import sha256_of


def finished_problem(experiment: Experiment, name: str,
                     folder: str) -> Optional[str]:
    """Why ``folder`` is not stage ``name`` of ``experiment`` finished with
    the same inputs (None: it is). The stage's teachers, if any, must have
    been checked (or trained) by ``experiment`` first."""
    if experiment.stages[name].get('post_hoc') is not None:  # no training
        return experiment.post_hoc_problem(name, folder)
    record = read_manifest(osp.join(folder, 'manifest.json'))
    if record is None:
        return 'has no manifest.json (no stage of a pipeline run)'
    if record.get('state') != 'done':
        return f'is not finished (state {record.get("state")!r})'
    inputs = experiment._stage_inputs(name)
    differ = [key for key in inputs if record['inputs'].get(key) != inputs[key]]
    if differ:
        there = {key: record['inputs'].get(key) for key in differ}
        here = {key: inputs[key] for key in differ}
        return (f'was trained from other inputs: {there} there, {here} here '
                '(give the --cfg-options and --data-root its pipeline ran '
                'with)')
    final = osp.join(folder, osp.basename(experiment.final_checkpoint(name)))
    problem = checkpoint_problem(final, experiment._epochs[name])
    if problem is None and sha256_of(final) != record['checkpoint']['sha256']:
        problem = 'is not the checkpoint its record names'
    if problem:
        return f'has a final checkpoint {final} that {problem}'
    experiment._digests[name] = record['checkpoint']['sha256']
    return None


def link_finished_stages(experiment: Experiment, names: Sequence[str],
                         source: str) -> None:
    """Link ``{source}/{name}`` to ``{experiment.work_dir}/{name}`` for each
    stage (in pipeline order), each checked by :func:`finished_problem`.

    Raises:
        ValueError: A stage of ``source`` is missing, unfinished or from
            other inputs, or the work dir holds a stage folder of its own.
    """
    os.makedirs(experiment.work_dir, exist_ok=True)
    for name in names:
        folder = osp.abspath(osp.join(source, name))
        problem = ('does not exist' if not osp.isdir(folder) else
                   finished_problem(experiment, name, folder))
        if problem:
            raise ValueError(
                f'--teachers-from {source}: stage {name} ({folder}) '
                f'{problem}; run the pipeline there first, or leave '
                '--teachers-from out to train the teachers in the work dir')
        link = osp.join(experiment.work_dir, name)
        if osp.islink(link):
            if osp.realpath(link) == osp.realpath(folder):
                continue
            os.remove(link)  # a link to another run's stage
        elif osp.exists(link):
            raise ValueError(
                f'--teachers-from {source}: {link} holds a stage {name} of '
                'its own; remove it, or leave --teachers-from out to use it')
        os.symlink(folder, link)
