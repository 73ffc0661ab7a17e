"""Install xerm_mm. ``pip install -e .`` for development.

The configs and tools are exposed inside the package as ``xerm_mm/.mim/configs``
and ``xerm_mm/.mim/tools`` (links in development mode, copies otherwise):
MMEngine looks configs up there for ``_base_ = 'xerm_mm::path/to/config.py'``,
and ``mim train xerm_mm CONFIG`` / ``mim test`` run ``.mim/tools/train.py`` /
``test.py``.
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version():
    scope = {}
    with open(osp.join(HERE, 'xerm_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(name):
    path = osp.join(HERE, 'requirements', name)
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def add_mim_extension():
    """Expose ``configs/``, ``tools/``, ``model-index.yml`` in ``.mim``."""
    develop = any(cmd in sys.argv
                  for cmd in ('develop', 'editable_wheel', 'egg_info'))
    if 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        develop = False
    mim_dir = osp.join(HERE, 'xerm_mm', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        target = osp.join(mim_dir, name)
        if osp.islink(target) or osp.isfile(target):
            os.remove(target)
        elif osp.isdir(target):
            shutil.rmtree(target)
        source = osp.join(HERE, name)
        if develop:
            os.symlink(osp.join('..', '..', name), target)
        elif osp.isdir(source):
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='xerm_mm',
        version=read_version(),
        description='Unbiased long-tailed classification (xERM) on MMEngine '
        'and mmpretrain',
        long_description=open(osp.join(HERE, 'README.md')).read(),
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
        include_package_data=True,
        package_data={
            'xerm_mm': [
                '.mim/configs/**/*.py', '.mim/configs/**/*.yaml',
                '.mim/configs/*/metafile.yml', '.mim/model-index.yml',
                '.mim/tools/**/*.py', '.mim/tools/**/*.sh'
            ]
        },
        python_requires='>=3.8',
        install_requires=read_requirements('runtime.txt'),
        extras_require={
            'tests': read_requirements('tests.txt'),
            'cam': read_requirements('cam.txt'),  # Grad-CAM
            # TensorboardVisBackend
            'tensorboard': read_requirements('tensorboard.txt'),
        },
        license='Apache License 2.0',
        zip_safe=False)
