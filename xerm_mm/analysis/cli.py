"""The command-line options the analysis tools share.

``--model NAME ...`` (repeated, a panel or a line per model; the name goes
on the figure and into file names) and the figure files' ``--out-dir`` and
``--name``.
"""
import argparse
import re
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
