"""tools/benchmarks/decode_backends.py on a few tiny generated JPEGs."""
import re

import pytest
from inprocess_tool import run_main

TOOL = 'benchmarks/decode_backends'


def test_decode_backends_prints_rates_and_fastest():
    rates, out = run_main(TOOL, '--num', 4, '--rounds', 1, '--size', 32, 24)
    assert 'images 4 size 32x24 quality 90 rounds 1 workers 1' in out
    printed = dict(re.findall(r'^((?:decode|pipeline) \w+)\s+([\d.]+) '
                              r'images/s$', out, re.M))
    # cv2 and pillow are requirements; turbojpeg is timed or reported skipped.
    for backend in ('cv2', 'pillow'):
        for kind in ('decode', 'pipeline'):
            assert float(printed[f'{kind} {backend}']) > 0
    assert ('decode turbojpeg' in printed) != ('skipped turbojpeg:' in out)
    assert set(printed) == set(rates)
    decode = {name.split()[1]: rate for name, rate in rates.items()
              if name.startswith('decode')}
    fastest = re.search(r'^fastest (\w+)$', out, re.M).group(1)
    assert fastest == max(decode, key=decode.get)


def test_decode_backends_rejects_bad_size():
    with pytest.raises(SystemExit):
        run_main(TOOL, '--num', 4, '--size', 4, 4)
