"""tools/benchmarks/threads_or_processes.py: its timing process in this
one (batch 4, one step) and the comparison it prints."""
import json

import pytest
from inprocess_tool import load_tool, run_main

TOOL = 'benchmarks/threads_or_processes'
TINY = ('--batch', '4', '--steps', '1')


@pytest.mark.parametrize('step', [[], ['--xerm'], ['--amp']])
def test_worker_times_the_step_once_its_peers_are_ready(step, tmp_path):
    (tmp_path / 'peer').touch()  # the other process, ready
    images_per_s, out = run_main(TOOL, *TINY, *step, '--worker', '1',
                                 str(tmp_path), '2')
    assert images_per_s > 0
    assert json.loads(out.strip().splitlines()[-1]) == dict(
        images_per_s=images_per_s)
    assert len(list(tmp_path.iterdir())) == 2  # it said it was ready


def test_best_rounds_and_ratio(capsys):
    tool = load_tool(TOOL)
    speeds = iter([100.0, 120.0, 110.0, 115.0])  # threads, processes, ...
    calls = []

    def run_together(args, processes, threads):
        calls.append((processes, threads))
        return next(speeds)

    tool.main.__globals__['run_together'] = run_together
    best = tool.main(['--cores', '2', '--rounds', '2'])
    assert calls == [(1, 2), (2, 1), (1, 2), (2, 1)]
    assert best == dict(threads=110.0, processes=120.0)
    out = capsys.readouterr().out
    assert '1 process x 2 threads' in out and '110.0 images/s' in out
    assert 'ratio processes_over_threads 1.091' in out
