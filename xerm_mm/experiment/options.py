"""The options and files a step of an experiment hands its tool.

``--cfg-options`` strings parsed and written as the tools do, the digest of
a resolved config, the folder of the tools, the students' teacher configs
with the experiment-wide options merged (the student builds its teachers
from their config files, which a tool's ``--cfg-options`` does not reach)
and config copies holding paths that ``--cfg-options`` would mangle.
"""
import argparse
import hashlib
import json
import os
import os.path as osp
from typing import List, Mapping, Optional, Sequence

from mmengine.config import Config, DictAction

from xerm_mm.utils.config import resolve_config_path

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_options(options: Sequence[str]) -> dict:
    """``key=value`` strings parsed as the tools' ``--cfg-options`` are."""
    namespace = argparse.Namespace()
    DictAction([], 'cfg_options')(None, namespace, list(options))
    return namespace.cfg_options


def option_strings(options: Mapping) -> List[str]:
    """``{key: value}`` as ``--cfg-options`` strings (``key=value``)."""
    return [f'{key}={value}' for key, value in options.items()]


def config_digest(cfg) -> str:
    """The sha256 of a resolved :class:`~mmengine.config.Config`."""
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def reads_back(text: str) -> bool:
    """Whether ``--cfg-options key=TEXT`` gives ``TEXT`` itself (a path
    with a comma becomes a list; spaces, quotes and brackets are lost)."""
    try:
        return DictAction._parse_iterable(text) == text
    except AssertionError:  # unbalanced brackets
        return False


def write_config(config: str, values: Mapping, out: str) -> str:
    """Write ``config`` with ``values`` (``{dotted key: value}``) merged to
    ``out``; return ``out``."""
    cfg = Config.fromfile(resolve_config_path(config))
    cfg.merge_from_dict(dict(values))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    cfg.dump(out)
    return out


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


#: The keys of an xERM model that hold a teacher spec.
TEACHER_KEYS = ('teacher', 'imbalanced_teacher', 'balanced_teacher')


def teacher_config_options(model: Mapping,
                           options: Mapping,
                           folder: str,
                           chosen: Optional[Mapping[str, Mapping]] = None
                           ) -> List[str]:
    """Write the teacher configs of ``model`` with ``options`` merged.

    Args:
        model (Mapping): The student's ``model`` config (its overrides
            merged).
        options (Mapping): ``{dotted key: value}`` overrides, as the tools'
            ``--cfg-options`` parse them.
        folder (str): Where ``{key}_config.py`` is written for every teacher
            key whose ``config`` is a file.
        chosen (Mapping, optional): ``{teacher key: {dotted key: value}}``:
            the options a post-hoc teacher stage chose (keys of its config:
            ``model.head.tau``), after ``options``.

    Returns:
        list[str]: ``model.{key}.config={file}`` for each file written and
        ``model.{key}.config.{rest}=value`` for the chosen options of a
        teacher given as a model dict; none without ``options`` or
        ``chosen``.

    Raises:
        ValueError: A chosen option outside ``model.`` for a teacher given
            as a model dict.
    """
    chosen = chosen or {}
    found = []
    for key in TEACHER_KEYS:
        spec = (model or {}).get(key)
        own = dict(chosen.get(key) or {})
        if not options and not own:
            continue
        if isinstance(spec, Mapping) and isinstance(spec.get('config'), str):
            cfg = Config.fromfile(resolve_config_path(spec['config']))
            cfg.merge_from_dict(dict(options))
            cfg.merge_from_dict(own)
            path = osp.join(folder, f'{key}_config.py')
            os.makedirs(folder, exist_ok=True)
            cfg.dump(path)
            found.append(f'model.{key}.config={path}')
        elif isinstance(spec, Mapping) and own:
            for option, value in own.items():
                if not option.startswith('model.'):
                    raise ValueError(
                        f'the chosen option {option}={value} of teacher '
                        f'{key} is not a model option; a teacher given as a '
                        'model dict takes only model.* options')
                found.append(f'model.{key}.config.{option[len("model."):]}'
                             f'={value}')
    return found
