"""Feed the training split's class counts to a head or loss that needs them
(PC, logit adjustment, Balanced Softmax, LADE)."""
from typing import Optional

from mmengine.hooks import Hook

from xerm_mm.registry import HOOKS
from xerm_mm.utils.model import unwrap_model


def _count_taker(runner):
    """The head if it takes class counts, else its loss if that does."""
    head = getattr(unwrap_model(runner), 'head', None)
    for module in (head, getattr(head, 'loss_module', None)):
        if hasattr(module, 'set_class_counts'):
            return module
    return None


def _counts_of(dataloader) -> Optional[tuple]:
    dataset = getattr(dataloader, 'dataset', None)
    metainfo = getattr(dataset, 'metainfo', None) or {}
    return metainfo.get('train_class_counts')


@HOOKS.register_module()
class SetTrainClassCountsHook(Hook):
    """Give ``set_class_counts`` of the head (or of its loss) the training
    split's ``metainfo['train_class_counts']``.

    Before validation or testing, a head without counts takes them from the
    evaluated dataset's metainfo.

    Args:
        overwrite (bool): Before training, replace counts the head already
            has (from its config or a checkpoint). Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self, overwrite: bool = True) -> None:
        self.overwrite = overwrite

    def _set(self, runner, dataloader, only_if_missing: bool) -> None:
        head = _count_taker(runner)
        if head is None:
            return
        if only_if_missing and head.has_class_counts:
            return
        counts = _counts_of(dataloader)
        if counts is None:
            if head.has_class_counts:
                return
            raise KeyError(
                f'{type(head).__name__} needs the training class counts, but '
                f'the dataset {type(dataloader.dataset).__name__} has no '
                "metainfo['train_class_counts']. Give it class_counts=[...] "
                'in the config (model.head, or model.head.loss for a '
                'logit-adjusted loss), or use a dataset that records them.')
        head.set_class_counts(counts)
        runner.logger.info(f'{type(head).__name__}: training class counts '
                           f'set ({len(counts)} classes, {sum(counts)} '
                           'images)')

    def before_train(self, runner) -> None:
        self._set(runner, runner.train_dataloader, not self.overwrite)

    def before_val(self, runner) -> None:
        self._set(runner, runner.val_dataloader, only_if_missing=True)

    def before_test(self, runner) -> None:
        self._set(runner, runner.test_dataloader, only_if_missing=True)
