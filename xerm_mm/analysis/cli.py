"""The command-line options the analysis tools share.

``--model NAME ...`` (repeated, a panel or a line per model; the name goes
on the figure and into file names), the figure files' ``--out-dir`` and
``--name``, the test set of the tools that run a model; and running
``tools/train.py`` / ``tools/test.py`` in the tool's process.
"""
import argparse
import os.path as osp
import re
import runpy
import time
from typing import Optional, Sequence

_NAME = re.compile(r'^[\w.+-]+$')


def add_model_option(parser: argparse.ArgumentParser,
                     fields: Sequence[str], help: str) -> None:
    """``--model NAME FIELD...``, repeated, into ``args.model`` (a list)."""
    parser.add_argument(
        '--model',
        nargs=1 + len(fields),
        action='append',
        required=True,
        metavar=('NAME', *fields),
        help=help + ' (repeat for each model)')


def add_figure_options(parser: argparse.ArgumentParser, name: str,
                       out_dir_default: Optional[str] = None) -> None:
    """``--out-dir`` (required without a default) and ``--name``."""
    parser.add_argument(
        '--out-dir',
        required=out_dir_default is None,
        help='folder of the figure files' +
        (f' (default: {out_dir_default})' if out_dir_default else ''))
    parser.add_argument(
        '--name',
        default=name,
        help='file name of the figure files, without extension (default: '
        f'{name})')


def check_model_names(parser: argparse.ArgumentParser, models) -> None:
    """Exit through ``parser.error`` on a repeated or unusable name."""
    names = [model[0] for model in models]
    for name in names:
        if not _NAME.match(name):
            parser.error(f'--model {name!r}: use letters, digits and _ . + -')
    if len(set(names)) != len(names):
        parser.error(f'--model: a name is given twice in {names}')


def add_test_set_options(parser: argparse.ArgumentParser) -> None:
    """``--test-set`` and ``--data-root`` of the tools that run a model."""
    parser.add_argument(
        '--test-set',
        help='a test set of the config\'s test_cfg.test_sets (e.g. ib100; '
        'default: the config\'s test dataset, the balanced one)')
    parser.add_argument(
        '--data-root', help='folder of the dataset, for every config')


def load_tool(analysis_tool: str, tool: str) -> dict:
    """The functions of ``tools/{tool}.py`` (``main``, ``parse_args``,
    ...), found beside ``tools/analysis_tools/`` of ``analysis_tool`` (the
    calling tool's ``__file__``), to run in this process."""
    tools = osp.dirname(osp.dirname(osp.abspath(analysis_tool)))
    return runpy.run_path(osp.join(tools, f'{tool}.py'),
                          run_name=f'xerm_{tool}_tool')


def experiment_name_option(name: str) -> str:
    """``--cfg-options`` entry naming one run of a tool apart from the
    others of this process: MMEngine shares a logger and message hub between
    runners of one name (by default the config's name and the second they
    start)."""
    return f"experiment_name={name}_{time.strftime('%Y%m%d_%H%M%S')}"
