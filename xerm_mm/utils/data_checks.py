"""Checks of the model against the data it is trained or tested on."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from xerm_mm.utils.model import unwrap_model

__all__ = ['check_head_classes', 'HeadClassesCheckHook']


def _num_classes(dataset) -> Optional[int]:
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    return None if classes is None else len(classes)


def check_head_classes(model, dataset, key: str) -> None:
    """Refuse a head whose ``num_classes`` is not the dataset's.

    Args:
        model (nn.Module): The model (wrappers are looked through).
        dataset: A built dataset with ``metainfo['classes']``.
        key (str): The config key of the dataset, for the message.

    Raises:
        ValueError: Naming both numbers, the keys and the fix.
    """
    head = getattr(unwrap_model(model), 'head', None)
    expected = getattr(head, 'num_classes', None)
    found = _num_classes(dataset)
    if expected is None or found is None or expected == found:
        return
    raise ValueError(
        f'model.head.num_classes={expected}, but {key} '
        f'({type(dataset).__name__}) has {found} classes: the head would '
        + ('never predict classes {} .. {}'.format(found, expected - 1)
           if expected > found else 'have no output for some labels') +
        f'. Set model.head.num_classes={found} (and data_preprocessor.'
        f'num_classes={found}), e.g. --cfg-options model.head.num_classes='
        f'{found} data_preprocessor.num_classes={found}.')


class HeadClassesCheckHook(Hook):
    """Check the head's ``num_classes`` against the dataset of each loop,
    before any weight is loaded or step taken.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        for attr, key in (('_train_loop', 'train_dataloader.dataset'),
                          ('_val_loop', 'val_dataloader.dataset'),
                          ('_test_loop', 'test_dataloader.dataset')):
            loop = getattr(runner, attr, None)
            if not isinstance(loop, BaseLoop):
                continue  # not built: not used by this run
            loaders = getattr(loop, 'loaders', None) or {'': loop.dataloader}
            for name, loader in loaders.items():
                where = (f'test_cfg.test_sets.{name}'
                         if name and name != 'test' else key)
                check_head_classes(runner.model, loader.dataset, where)
