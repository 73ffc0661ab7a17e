"""What the steps of an experiment run besides the tools, as commands.

``python -m xerm_mm.experiment.step ACTION ...`` (``resume``, ``check``,
``choice``, ``config``; see ``--help``): whether a stage resumes, the check
and record of a final checkpoint, a chooser's output read, the step's config
copy with its paths, teacher configs and chosen options.
"""
import argparse
import copy
import hashlib
import json
import os
import os.path as osp
import sys
from collections import OrderedDict
from datetime import datetime
from typing import Optional

from xerm_mm.report.cost import LOG_TIME_FORMAT
from xerm_mm.utils.atomic import atomic_write, sha256_of

INPUTS = 'inputs.json'


def _write(data: dict, path: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with atomic_write(path) as f:
        json.dump(data, f, indent=1)


def _read(path: str):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def resume(folder: str, digest: str, files) -> str:
    """``--resume`` or ``--overwrite`` for tools/train.py (see module)."""
    from .checks import checkpoint_problem
    key = hashlib.sha256(digest.encode())
    for path in files:
        with open(path, 'rb') as f:
            key.update(f.read())
    key = key.hexdigest()
    record = _read(osp.join(folder, INPUTS)) or {}
    last = osp.join(folder, 'last_checkpoint')
    latest = open(last).read().strip() if osp.isfile(last) else ''
    if (record.get('inputs') == key and latest
            and checkpoint_problem(latest) is None):
        _write(dict(inputs=key, resumed=True, started=record.get('started')),
               osp.join(folder, INPUTS))
        return '--resume'
    # When this training started: the runs of earlier ones stay in the
    # folder (--overwrite removes their checkpoints only).
    _write(dict(inputs=key, resumed=False,
                started=datetime.now().strftime(LOG_TIME_FORMAT)),
           osp.join(folder, INPUTS))
    return '--overwrite'


def device() -> str:
    """``cuda:NAME`` or ``cpu``: where this job runs."""
    import torch
    if torch.cuda.is_available():
        return f'cuda:{torch.cuda.get_device_name(0)}'
    return 'cpu'


def check(checkpoint: str, epochs: Optional[int], batch_size: Optional[int],
          processes: int, out: str) -> None:
    from xerm_mm.report import runs_wall_time, training_throughput
    from .checks import checkpoint_problem
    problem = checkpoint_problem(checkpoint, epochs)
    if problem:
        sys.exit(f'the final checkpoint {checkpoint} {problem}; nothing uses '
                 'it. Look at the log of its training.')
    if epochs is None:  # a given checkpoint: nothing was trained here
        record = OrderedDict(file=checkpoint, sha256=sha256_of(checkpoint),
                             epoch=_saved_epoch(checkpoint), device=device(),
                             processes=processes, given=True)
        _write(record, out)
        return
    folder = osp.dirname(checkpoint)
    inputs = _read(osp.join(folder, INPUTS)) or {}
    record = OrderedDict(
        file=checkpoint, sha256=sha256_of(checkpoint), epoch=epochs,
        device=device(), processes=processes,
        resumed=bool(inputs.get('resumed')))
    record.update(training_throughput(checkpoint, batch_size, processes))
    if record['resumed']:
        record['runs_wall_s'] = runs_wall_time(folder, inputs.get('started'))
    _write(record, out)


def _saved_epoch(checkpoint: str):
    import torch

    from xerm_mm.utils.checkpoint import checkpoint_safe_globals
    with checkpoint_safe_globals():
        ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    return (ckpt.get('meta') or {}).get('epoch')


def choice(path: str, chooser: str) -> dict:
    from .checks import ExperimentError, read_choice
    from .options import option_strings
    try:
        options = read_choice(path, chooser)
    except ExperimentError as error:
        sys.exit(str(error))
    spaced = [o for o in option_strings(options) if any(
        c.isspace() for c in o)]
    if spaced:
        sys.exit(f'{path}: the chosen options {spaced} hold spaces; a '
                 'chooser writes plain values (numbers, names)')
    return options


def write_step_config(args) -> str:
    """Write the step's config copy (see the module); return its file."""
    from mmengine.config import Config

    from .options import parse_options, teacher_config_options
    cfg = Config.fromfile(args.config)
    values = OrderedDict()
    for item in args.set:  # paths, as they are
        key, value = item.split('=', 1)
        values[key] = value
    if args.teachers_in:
        overrides = parse_options(args.cfg_options)
        student = copy.deepcopy(cfg)
        if overrides:
            student.merge_from_dict(overrides)
        chosen = {}
        for item in args.chosen:
            key, path = item.split('=', 1)
            chosen[key] = choice(path, path)
        for option in teacher_config_options(student.get('model'), overrides,
                                             args.teachers_in, chosen):
            key, value = option.split('=', 1)
            if key.endswith('.config'):  # a file written above
                values[key] = value
            else:  # a chosen value of a teacher given as a model dict
                values.update(parse_options([option]))
    if args.choice:
        values.update(choice(args.choice, args.choice))
    cfg.merge_from_dict(values)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    cfg.dump(args.out)
    return args.out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    actions = parser.add_subparsers(dest='action', required=True)
    p = actions.add_parser('resume', help='--resume or --overwrite')
    p.add_argument('folder')
    p.add_argument('--inputs', required=True, help='digest of the inputs')
    p.add_argument('--files', nargs='*', default=[],
                   help='input files (their contents count)')
    p = actions.add_parser('check', help='check a final checkpoint')
    p.add_argument('checkpoint')
    p.add_argument('--epochs', type=int,
                   help='the epoch it must be saved at (none: a given '
                   'checkpoint, any epoch)')
    p.add_argument('--batch-size', type=int)
    p.add_argument('--processes', type=int, default=1)
    p.add_argument('--out', required=True)
    p = actions.add_parser('choice', help='check a chooser\'s JSON')
    p.add_argument('file')
    p.add_argument('--chooser', required=True)
    p = actions.add_parser('config', help='write a step\'s config copy')
    p.add_argument('config', help='the step\'s config file')
    p.add_argument('--out', required=True, help='the copy')
    p.add_argument('--set', action='append', default=[],
                   help='KEY=PATH merged as it is (no parsing)')
    p.add_argument('--teachers-in',
                   help='write the student\'s teacher configs there')
    p.add_argument('--chosen', action='append', default=[],
                   help='TEACHER_KEY=CHOICE_FILE of a post-hoc teacher')
    p.add_argument('--choice', help='a post-hoc stage\'s choice file')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='experiment-wide options (for the teacher configs)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.action == 'resume':
        print(resume(args.folder, args.inputs, args.files))
    elif args.action == 'check':
        check(args.checkpoint, args.epochs, args.batch_size, args.processes,
              args.out)
    elif args.action == 'choice':
        choice(args.file, args.chooser)
    else:
        write_step_config(args)


if __name__ == '__main__':
    main()
