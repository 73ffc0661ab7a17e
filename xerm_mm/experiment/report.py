"""The report step of an experiment: ``python -m xerm_mm.experiment.report PLAN``.

Reads the plan's evaluations (``eval/{name}.json``), the records of the
stages' checked final checkpoints (``{stage}/final.json``), the post-hoc
choices and the engine's benchmark records of every step
(``benchmarks/{step}.tsv``), and writes ``report.json`` and ``report.md``
(:func:`xerm_mm.apis.report.write_report`) in the work dir.
"""
import argparse
import csv
import json
import os.path as osp
from collections import OrderedDict
from typing import Optional

from xerm_mm.apis.post_hoc import option_strings
from xerm_mm.apis.report import build_report, write_report
from xerm_mm.evaluation.report import split_by_test_set


def _json(path: Optional[str]):
    if not path:
        return None
    with open(path) as f:
        return json.load(f)


def benchmark(path: str) -> dict:
    """Wall time (s) and peak memory (MiB, RSS of the job's processes
    together) of a step, from the engine's benchmark record."""
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        rows = list(csv.DictReader(f, delimiter='\t'))
    if not rows:
        return {}
    row = rows[-1]

    def number(key):
        try:
            return round(float(row[key]), 3)
        except (KeyError, TypeError, ValueError):
            return None  # 'NA': not measured

    return dict(wall_s=number('s'), peak_rss_mib=number('max_rss'))


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
        cost = OrderedDict(
            device=records[name].get('device'),
            processes=stage['processes'])
        cost.update(benchmark(osp.join(work, 'benchmarks',
                                       f'{stage["step"]}.tsv')))
        cost['peak_cuda_mib'] = None
        if stage['chooser']:
            cost['chooser'] = osp.basename(stage['chooser'])
        else:
            for key in ('iterations', 'train_s', 'images', 'images_per_s',
                        'resumed'):
                if key in records[name]:
                    cost[key] = records[name][key]
        costs[name] = cost
    results, checkpoints, test_costs, options = (OrderedDict()
                                                 for _ in range(4))
    for name, evaluation in spec['evaluations'].items():
        stage = evaluation['stage']
        results[name] = split_by_test_set(_json(evaluation['metrics']))
        record = records[stage]
        checkpoints[name] = dict(file=record['file'], sha256=record['sha256'])
        cost = OrderedDict(device=record.get('device') if gpus else 'cpu',
                           processes=evaluation['processes'])
        cost.update(benchmark(osp.join(work, 'benchmarks',
                                       f'test_{name}.tsv')))
        cost['peak_cuda_mib'] = None
        test_costs[name] = cost
        options[name] = evaluation['options'] + option_strings(
            choices.get(stage, {}))
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
