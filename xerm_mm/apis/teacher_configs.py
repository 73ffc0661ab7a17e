"""The experiment-wide overrides reach the teachers of the xERM students.

A student config names the config file of each teacher
(``model.teacher.config``, or ``model.imbalanced_teacher.config`` and
``model.balanced_teacher.config``); the student builds the teacher networks
from those files, which ``--cfg-options`` of a tool does not touch. The
experiment-wide ``cfg_options`` of :class:`~xerm_mm.apis.Experiment`
(``tools/run_pipeline.py --cfg-options``) apply to every training and test
config, so they apply to the teacher configs too: a teacher stage trained
with ``model.head.num_classes=10`` only loads into a 10-class teacher
network. :func:`teacher_config_options` writes each teacher config with the
overrides merged into the step's folder and returns the options that point
the student at these files. (A stage's own ``cfg_options`` stay its own; a
teacher given as a model dict, not a file, is left as it is.)
"""
import os
import os.path as osp
from typing import List, Mapping

from mmengine.config import Config

from xerm_mm.utils.config import resolve_config_path

__all__ = ['TEACHER_KEYS', 'teacher_config_options']

#: The keys of an xERM model that hold a teacher spec.
TEACHER_KEYS = ('teacher', 'imbalanced_teacher', 'balanced_teacher')


def teacher_config_options(model: Mapping, options: Mapping,
                           folder: str) -> List[str]:
    """Write the teacher configs of ``model`` with ``options`` merged.

    Args:
        model (Mapping): The student's ``model`` config (its overrides
            merged).
        options (Mapping): ``{dotted key: value}`` overrides, as the tools'
            ``--cfg-options`` parse them.
        folder (str): Where ``{key}_config.py`` is written for every teacher
            key whose ``config`` is a file.

    Returns:
        list[str]: ``model.{key}.config={file}`` for each file written; none
        without ``options`` or without teachers given as files.
    """
    if not options:
        return []
    found = []
    for key in TEACHER_KEYS:
        spec = (model or {}).get(key)
        if isinstance(spec, Mapping) and isinstance(spec.get('config'), str):
            cfg = Config.fromfile(resolve_config_path(spec['config']))
            cfg.merge_from_dict(dict(options))
            path = osp.join(folder, f'{key}_config.py')
            os.makedirs(folder, exist_ok=True)
            cfg.dump(path)
            found.append(f'model.{key}.config={path}')
    return found
