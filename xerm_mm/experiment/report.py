"""The report step: ``python -m xerm_mm.experiment.report PLAN``.

Reads the plan's evaluations (``eval/{name}.json``), the records of the
stages' final checkpoints (``{stage}/final.json``), the post-hoc choices and
the engine's benchmark record of every step (``benchmarks/{step}.tsv``), and
writes ``report.json`` and ``report.md`` in the work dir with
:mod:`xerm_mm.report`.
"""
import argparse
import csv
import json
import os.path as osp
from collections import OrderedDict
from typing import Optional

from xerm_mm.report import build_report, split_by_test_set, write_report


def _json(path: Optional[str]):
    if not path:
        return None
    with open(path) as f:
        return json.load(f)


def step_cost(work_dir: str, step: str, device: Optional[str],
              processes: int) -> dict:
    """A step's cost record: ``device`` and ``processes``, with the wall
    time (s) and peak memory (MiB, RSS of the job's processes together) of
    the engine's benchmark record ``benchmarks/{step}.tsv`` (None: not
    measured; no CUDA memory is recorded)."""
    cost = OrderedDict(device=device, processes=processes)
    path = osp.join(work_dir, 'benchmarks', f'{step}.tsv')
    rows = []
    if osp.isfile(path):
        with open(path) as f:
            rows = list(csv.DictReader(f, delimiter='\t'))
    for name, key in (('wall_s', 's'), ('peak_rss_mib', 'max_rss')):
        if rows:
            try:
                cost[name] = round(float(rows[-1][key]), 3)
            except (KeyError, TypeError, ValueError):
                cost[name] = None  # 'NA'
    cost['peak_cuda_mib'] = None
    return cost


def make_report(plan: dict) -> dict:
    """Build and write the report of a plan (its JSON, as a dict)."""
    spec = plan['report']
    work = plan['work_dir']
    gpus = plan['gpus']
    stages, records, choices, costs = spec['stages'], {}, {}, {}
    for name, stage in stages.items():
        records[name] = _json(stage['record'])
        if stage['choice']:
            choices[name] = _json(stage['choice'])['cfg_options']
        cost = step_cost(work, stage['step'], records[name].get('device'),
                         stage['processes'])
        if stage['chooser']:
            cost['chooser'] = osp.basename(stage['chooser'])
        else:
            for key in ('iterations', 'train_s', 'images', 'images_per_s',
                        'resumed'):
                if key in records[name]:
                    cost[key] = records[name][key]
            # Resumed: the benchmark holds its last run, the logs them all.
            if records[name].get('runs_wall_s') is not None:
                cost['wall_s'] = records[name]['runs_wall_s']
        costs[name] = cost
    results, checkpoints, test_costs, options = (OrderedDict()
                                                 for _ in range(4))
    for name, evaluation in spec['evaluations'].items():
        stage = evaluation['stage']
        results[name] = split_by_test_set(_json(evaluation['metrics']))
        record = records[stage]
        checkpoints[name] = dict(file=record['file'], sha256=record['sha256'])
        test_costs[name] = step_cost(
            work, f'test_{name}', record.get('device') if gpus else 'cpu',
            evaluation['processes'])
        # The chosen values of a post-hoc stage, as --cfg-options.
        options[name] = evaluation['options'] + [
            f'{key}={value}' for key, value in choices.get(stage, {}).items()]
    sources = dict(
        metrics_files=OrderedDict(
            (n, e['metrics']) for n, e in spec['evaluations'].items()),
        configs=OrderedDict(
            (n, e['config']) for n, e in spec['evaluations'].items()),
        options=options, data_root=spec['data_root'],
        cfg_options=spec['cfg_options'])
    report_spec = spec['spec']
    report = build_report(
        results, spec['balanced_set'], checkpoints,
        dict(stages=costs, evaluations=test_costs), report_spec['tables'],
        report_spec['paper'], spec['backward_sets'], sources,
        baseline=report_spec['baseline'])
    write_report(report, work, title=spec['title'],
                 figures=report_spec['figures'])
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('plan', help='the plan file (JSON) of the run')
    args = parser.parse_args(argv)
    make_report(_json(args.plan))


if __name__ == '__main__':
    main()
