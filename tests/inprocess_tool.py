"""Run a tool's ``main()`` in the test process (no 7 s of imports per run).

MMEngine keeps global, name-keyed instances (loggers, message hubs, default
scopes, visualizers) named after the config and the second the runner
started: two runs of one config within a second would share them. Each run
here removes the instances it created and closes their log files.
"""
import contextlib
import io
import os.path as osp
import runpy
from types import SimpleNamespace

import torch
from mmengine.utils import ManagerMixin

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _manager_classes(cls=ManagerMixin):
    for sub in cls.__subclasses__():
        yield sub
        yield from _manager_classes(sub)


def _instances():
    return {(cls, name): inst
            for cls in _manager_classes()
            for name, inst in cls._instance_dict.items()}


def _forget_new_instances(before: dict) -> None:
    for (cls, name), inst in _instances().items():
        if (cls, name) in before:
            continue
        for handler in getattr(inst, 'handlers', []):
            handler.close()
        cls._instance_dict.pop(name, None)


def load_tool(tool: str) -> SimpleNamespace:
    """The functions of ``tools/{tool}.py`` (``main``, ``merge_args``, ...)."""
    return SimpleNamespace(**runpy.run_path(
        osp.join(ROOT, 'tools', f'{tool}.py'), run_name=f'xerm_tool_{tool}'))


def run_main(tool: str, *args, threads: int = 1):
    """Call ``tools/{tool}.py``'s ``main(args)``; return (result, output).

    ``output`` is what the run wrote to stdout and stderr (the log, the
    tables). Exceptions propagate. Runs on ``threads`` torch threads, as the
    subprocess tests do with ``OMP_NUM_THREADS=1``.
    """
    out = io.StringIO()
    result = _call_main(tool, args, threads, out)
    return result, out.getvalue()


def run_main_error(tool: str, *args, threads: int = 1):
    """Call ``tools/{tool}.py``'s ``main(args)``, which must fail; return
    (the exception, output).

    A failure is any exception, ``SystemExit`` included (argparse's errors);
    a run that returns raises ``AssertionError`` with the end of its output.
    """
    out = io.StringIO()
    try:
        _call_main(tool, args, threads, out)
    except (Exception, SystemExit) as error:  # noqa: B902
        return error, out.getvalue()
    raise AssertionError(f'tools/{tool}.py did not fail:\n'
                         f'{out.getvalue()[-3000:]}')


def _call_main(tool, args, threads, out):
    main = load_tool(tool).main
    before = _instances()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            return main([str(arg) for arg in args])
    finally:
        torch.set_num_threads(old_threads)
        _forget_new_instances(before)
