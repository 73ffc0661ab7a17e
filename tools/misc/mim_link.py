"""Make an editable install of xerm_mm visible to mim and mmengine.hub.

Links ``site-packages/xerm_mm`` to the checkout and records the link in the
distribution's RECORD (docs/get_started.md).

    python tools/misc/mim_link.py
"""
import argparse
import json
import os
import os.path as osp
import sys
from importlib import metadata
from urllib.parse import unquote, urlparse

PACKAGE = 'xerm_mm'


def _checkout(dist: metadata.Distribution) -> str:
    """The source folder of an editable install (PEP 610), or ''."""
    text = dist.read_text('direct_url.json')
    if not text:
        return ''
    info = json.loads(text)
    if not info.get('dir_info', {}).get('editable'):
        return ''
    return unquote(urlparse(info['url']).path)


def link(dist: metadata.Distribution) -> str:
    """Link ``<location>/xerm_mm`` to the editable checkout's package.

    Returns:
        str: What was done, for the user.

    Raises:
        SystemExit: The install is not editable, the checkout lacks the
            package or its ``.mim`` links, or a real folder is in the way.
    """
    location = str(dist.locate_file(''))
    target = osp.join(location, PACKAGE)
    checkout = _checkout(dist)
    if not checkout:
        if osp.isdir(target) and not osp.islink(target):
            return f'mim_link: {target} is a regular install; nothing to do'
        raise SystemExit(f'mim_link: {PACKAGE} in {location} is not an '
                         'editable install (no editable direct_url.json); '
                         'install it with pip install -e . in the checkout')
    source = osp.join(checkout, PACKAGE)
    index = osp.join(source, '.mim', 'model-index.yml')
    if not osp.isfile(index):
        raise SystemExit(
            f'mim_link: {index} is missing: the editable install did not '
            'link configs/, tools/ and model-index.yml into the package. '
            'Run pip install --no-deps --no-build-isolation -e . in '
            f'{checkout} again (setup.py makes the links)')
    if osp.islink(target):
        if osp.realpath(target) == osp.realpath(source):
            done = f'mim_link: {target} -> {source} (already)'
        else:
            old = os.readlink(target)
            os.remove(target)
            os.symlink(source, target)
            done = f'mim_link: {target} re-pointed from {old} to {source}'
    elif osp.lexists(target):
        raise SystemExit(
            f'mim_link: {target} exists and is not a link (left from a '
            f'regular install?); remove it (pip uninstall {PACKAGE}, then '
            'pip install -e . in the checkout) and run this again')
    else:
        os.symlink(source, target)
        done = f'mim_link: linked {target} -> {source}'
    _record(dist, location)
    return done


def _record(dist: metadata.Distribution, location: str) -> None:
    """Add the link to RECORD: pip then removes it (as a file, not its
    target) when it uninstalls or replaces the distribution."""
    record = [f for f in (dist.files or []) if f.name == 'RECORD']
    if not record:
        return
    path = str(dist.locate_file(record[0]))
    with open(path) as f:
        lines = f.read().splitlines()
    if any(line.split(',')[0] == PACKAGE for line in lines):
        return
    with open(path, 'a') as f:
        f.write(f'{PACKAGE},,\n')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.parse_args(argv)
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise SystemExit(f'mim_link: {PACKAGE} is not installed in '
                         f'{sys.prefix}; run make setup (or pip install -e '
                         '.) in the checkout')
    print(link(dist))
    return 0


if __name__ == '__main__':
    sys.exit(main())
