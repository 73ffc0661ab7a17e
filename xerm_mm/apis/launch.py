"""Where the tools of an experiment are, and the command that runs one.

The tools (``train.py``, ``test.py``) ship inside the package as
``xerm_mm/.mim/tools`` (a link in an editable install, a copy in a wheel,
like the configs); in a source checkout without it they are the ``tools/``
folder next to the package. :func:`path_options` gives a tool the paths of
the files of a step (teachers' checkpoints and configs) whatever they hold.
"""
import os
import os.path as osp
import sys
from typing import List, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
LAUNCHERS = ('none', 'pytorch')


def find_tools(package_dir: Optional[str] = None,
               required: Sequence[str] = ('train.py', 'test.py')) -> str:
    """The folder of the tools: ``.mim/tools`` of the package, else the
    source checkout's ``tools/``.

    Args:
        package_dir (str, optional): The ``xerm_mm`` package folder.
            Defaults to the imported package's.
        required (Sequence[str]): Tools the folder must hold.

    Raises:
        FileNotFoundError: Neither place holds the tools; names both.
    """
    package_dir = package_dir or PACKAGE_DIR
    candidates = [
        osp.join(package_dir, '.mim', 'tools'),
        osp.join(osp.dirname(package_dir), 'tools')
    ]
    for candidate in candidates:
        if all(osp.isfile(osp.join(candidate, t)) for t in required):
            return candidate
    raise FileNotFoundError(
        f'the tools {list(required)} of xerm_mm are in neither '
        f'{candidates[0]} (an installed package) nor {candidates[1]} (a '
        'source checkout). Reinstall the package (pip install xerm_mm, or '
        'pip install -e . in the checkout), which puts them in .mim/tools.')


def check_launch(nproc: int, launcher: str) -> None:
    """Raise ValueError for an unknown launcher or ``nproc`` < 1."""
    if launcher not in LAUNCHERS:
        raise ValueError(f'launcher must be one of {LAUNCHERS}, got '
                         f'{launcher!r}')
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f'nproc must be an int >= 1, got {nproc!r}')


def tool_command(tool: str,
                 args: Sequence[str],
                 nproc: int = 1,
                 launcher: str = 'none',
                 python: str = sys.executable) -> List[str]:
    """The command running ``tool`` (a path) with ``args``.

    One plain process for ``launcher='none'`` and ``nproc=1``; otherwise
    ``nproc`` processes under torchrun (``torch.distributed.run``) on a free
    port, with ``--launcher pytorch`` (NCCL on GPUs, gloo on CPUs).

    Raises:
        ValueError: An unknown launcher or ``nproc`` < 1.
    """
    check_launch(nproc, launcher)
    if launcher == 'none' and nproc == 1:
        return [python, tool, *args]
    from torch.distributed.elastic.utils.distributed import get_free_port
    return [
        python, '-m', 'torch.distributed.run', '--nproc_per_node',
        str(nproc), '--master_port',
        str(get_free_port()), tool, *args, '--launcher', 'pytorch'
    ]


#: The folder of a step's config copy that holds its paths.
PATHS_DIR = 'pipeline_inputs'


def _reads_back(text: str) -> bool:
    """Whether ``--cfg-options key=TEXT`` gives ``TEXT`` itself."""
    try:
        return DictAction._parse_iterable(text) == text
    except AssertionError:  # unbalanced brackets
        return False


def path_options(config: str, options: Sequence[str],
                 paths: Mapping[str, str],
                 folder: str) -> Tuple[str, List[str]]:
    """The config file and ``--cfg-options`` of a tool that set ``paths``.

    ``--cfg-options`` reads ``a,b`` as a list and drops spaces, quotes and
    brackets: when a path would not come through whole, every path of
    ``paths`` is merged into a copy of ``config``,
    ``{folder}/pipeline_inputs/{name of config}`` (same name: the tool's
    work dir gets its config under the usual name), and their keys are left
    out of ``options`` (the paths win, as when they come last). Otherwise
    the paths follow ``options`` as ``key=path``.

    Args:
        config (str): The tool's config file.
        options (Sequence[str]): Its other ``key=value`` options.
        paths (Mapping[str, str]): ``{dotted key: path}``, e.g.
            ``{'model.teacher.checkpoint': 'work dir/xe/epoch_200.pth'}``.
        folder (str): The step's folder.

    Returns:
        tuple[str, list[str]]: The config file and the ``--cfg-options``.
    """
    if all(_reads_back(path) for path in paths.values()):
        return config, list(options) + [f'{k}={v}' for k, v in paths.items()]
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(dict(paths))
    copy = osp.join(folder, PATHS_DIR, osp.basename(config))
    os.makedirs(osp.dirname(copy), exist_ok=True)
    cfg.dump(copy)
    return copy, [o for o in options if o.split('=', 1)[0] not in paths]
