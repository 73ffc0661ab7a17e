"""What the pipeline tests share: tiny CIFAR-10 configs of every stage
(the ``configs`` fixture: import it into a test module), the pipeline of
all of them, and ``run_pipeline`` (tools/run_pipeline.py's ``main()`` in
this process; the stages and evaluations are real ``tools/train.py`` /
``tools/test.py`` processes)."""
import contextlib
import io
import os.path as osp
import runpy

import pytest

from conftest import ROOT, small_cifar10_config

__all__ = ['BASES', 'PIPELINE', 'configs', 'run_pipeline']

BASES = {
    'xe': 'xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'pc': 'pc/pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'tde': 'tde/tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'xerm_pc': 'xerm/xerm-pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
    'xerm_tde': 'xerm/xerm-tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py',
}

# xerm_pc and its evaluation run on two processes (torchrun, gloo).
PIPELINE = """
stages = [
    dict(name='xe', config={xe!r}),
    dict(name='tde', config={tde!r}),
    dict(name='xerm_pc', config={xerm_pc!r}, teacher='xe', nproc=2),
    dict(name='xerm_tde', config={xerm_tde!r}, teacher='tde'),
]
evaluations = [
    dict(name='XE', stage='xe'),
    dict(name='PC', stage='xe', config={pc!r}),
    dict(name='TDE', stage='tde'),
    dict(name='xERM-PC', stage='xerm_pc', nproc=2),
    dict(name='xERM-TDE', stage='xerm_tde'),
]
"""


def run_pipeline(*argv) -> str:
    """tools/run_pipeline.py's main() in-process: its stdout, or the exit
    message."""
    main = runpy.run_path(osp.join(ROOT, 'tools', 'run_pipeline.py'))['main']
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(list(argv))
        except SystemExit as e:
            return f'{out.getvalue()}\nexit: {e.code}'
    return out.getvalue()


@pytest.fixture(scope='module')
def configs(fake_cifar10_root, tmp_path_factory):
    """Tiny configs of every stage: (folder, {stage: config path})."""
    folder = str(tmp_path_factory.mktemp('experiment'))
    paths = {}
    for name in ('xe', 'pc', 'tde'):
        paths[name] = small_cifar10_config(BASES[name], fake_cifar10_root,
                                           folder)
    for name, teacher in (('xerm_pc', 'pc'), ('xerm_tde', 'tde')):
        # The teacher network is built from the small teacher config.
        extra = f'model.update(teacher=dict(config={paths[teacher]!r}))\n'
        paths[name] = small_cifar10_config(BASES[name], fake_cifar10_root,
                                           folder, extra)
    # Two teacher networks instead of the one of the xERM-TDE config.
    extra = (f'model.update(teacher=None, imbalanced_teacher=dict('
             f'config={paths["xe"]!r}, checkpoint=None), balanced_teacher='
             f'dict(config={paths["tde"]!r}, checkpoint=None))\n')
    paths['xerm_two'] = small_cifar10_config(
        BASES['xerm_tde'], fake_cifar10_root, osp.join(folder, 'two'), extra)
    # A wrong config giving both teacher forms.
    paths['both'] = osp.join(folder, 'both.py')
    with open(paths['both'], 'w') as f:
        f.write(f'_base_ = {paths["xerm_two"]!r}\n'
                f'model = dict(teacher=dict(_delete_=True, '
                f'config={paths["tde"]!r}))\n')
    # A config that does not load (a dict over None needs _delete_).
    paths['broken'] = osp.join(folder, 'broken.py')
    with open(paths['broken'], 'w') as f:
        f.write(f'_base_ = {paths["xerm_two"]!r}\n'
                f'model = dict(teacher=dict(config={paths["tde"]!r}))\n')
    return folder, paths
