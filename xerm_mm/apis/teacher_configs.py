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

A teacher that is a post-hoc stage (``post_hoc=`` in the pipeline config)
also gets the options its chooser chose (``model.head.tau=0.8``): merged into
its written config file, or, for a teacher given as a model dict, passed as
``model.teacher.config.head.tau=0.8``.
"""
import os
import os.path as osp
from typing import List, Mapping, Optional

from mmengine.config import Config

from xerm_mm.utils.config import resolve_config_path

__all__ = ['TEACHER_KEYS', 'teacher_config_options']

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
