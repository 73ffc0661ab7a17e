"""xerm_mm.experiment.report: the report step of an experiment, on the
records a plan names (synthetic: no training, no test run)."""
import json

from xerm_mm.experiment.report import main, step_cost
from xerm_mm.report import check_report_spec, write_metrics_json


def _write(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return str(path)


def _benchmark(work, step, seconds, max_rss):
    """Snakemake's benchmark record of a step (one run)."""
    path = work / 'benchmarks' / f'{step}.tsv'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('s\th:m:s\tmax_rss\tmean_load\n'
                    f'{seconds}\t0:00:12\t{max_rss}\t0.5\n')


def _metrics(work, name, top1):
    path = str(work / 'eval' / f'{name}.json')
    write_metrics_json({'balanced/lt/top1': top1[0],
                        'balanced/lt/few_recall': 1.0,
                        'ib10/lt/top1': top1[1]}, path)
    return path


def _plan(work):
    """A plan's report part: a trained stage, a post-hoc stage choosing
    an option of it, three evaluations."""
    record = _write(work / 'xe' / 'final.json', dict(
        file=str(work / 'xe' / 'epoch_2.pth'), sha256='ab' * 32,
        device='cpu', processes=1, iterations=8, train_s=4.0, images=128,
        images_per_s=32.0, resumed=False))
    choice = _write(work / 'tau' / 'choice.json',
                    dict(cfg_options={'model.head.tau': 1.5}))
    evaluations = {
        name: dict(stage=stage, config=f'{name}.py', processes=1,
                   metrics=_metrics(work, name, top1),
                   options=['model.head.x=1'] if name == 'PC' else [])
        for name, stage, top1 in (('XE', 'xe', (40.0, 60.0)),
                                  ('PC', 'xe', (45.0, 55.0)),
                                  ('tau', 'tau', (44.0, 56.0)))}
    return dict(work_dir=str(work), gpus=False, report=dict(
        title='pipeline.py', spec=check_report_spec(dict(figures=False),
                                                    'pipeline.py'),
        balanced_set='balanced', backward_sets=[], data_root='data',
        cfg_options=['a=1'],
        stages=dict(
            xe=dict(step='train_xe', record=record, choice=None,
                    chooser=None, processes=2),
            tau=dict(step='choose_tau', record=record, choice=choice,
                     chooser='tools/analysis_tools/choose_tau_norm.py',
                     processes=1)),
        evaluations=evaluations))


def test_report_of_a_plan(tmp_path):
    work = tmp_path / 'work'
    plan = _plan(work)
    _benchmark(work, 'train_xe', 12.5, 700.25)
    _benchmark(work, 'test_XE', 3.0, 'NA')  # not measured
    main([_write(tmp_path / 'plan.json', plan)])
    report = json.loads((work / 'report.json').read_text())
    assert report['table4'] == dict(XE=dict(balanced=40.0, ib10=60.0),
                                    PC=dict(balanced=45.0, ib10=55.0),
                                    tau=dict(balanced=44.0, ib10=56.0))
    assert report['checkpoints']['tau'] == dict(
        file=str(work / 'xe' / 'epoch_2.pth'), sha256='ab' * 32)
    stages = report['cost']['stages']
    assert stages['xe'] == dict(
        device='cpu', processes=2, wall_s=12.5, peak_rss_mib=700.25,
        peak_cuda_mib=None, iterations=8, train_s=4.0, images=128,
        images_per_s=32.0, resumed=False)
    assert stages['tau'] == dict(device='cpu', processes=1,
                                 peak_cuda_mib=None,
                                 chooser='choose_tau_norm.py')
    evaluations = report['cost']['evaluations']
    assert evaluations['XE'] == dict(device='cpu', processes=1, wall_s=3.0,
                                     peak_rss_mib=None, peak_cuda_mib=None)
    # Where the numbers came from: the chosen option joins the
    # evaluation's own.
    sources = report['sources']
    assert sources['options'] == dict(XE=[], PC=['model.head.x=1'],
                                      tau=['model.head.tau=1.5'])
    assert sources['metrics_files']['PC'] == str(work / 'eval' / 'PC.json')
    assert sources['data_root'] == 'data' and sources['cfg_options'] == [
        'a=1']
    markdown = (work / 'report.md').read_text()
    assert markdown.startswith('# pipeline.py\n')
    assert '| tau (choose) | cpu | 1 | - | - | - | - |' in markdown
    assert 'figures/' not in markdown


def test_step_cost_without_a_benchmark(tmp_path):
    assert step_cost(str(tmp_path), 'train_xe', 'cuda:H100', 4) == dict(
        device='cuda:H100', processes=4, peak_cuda_mib=None)
