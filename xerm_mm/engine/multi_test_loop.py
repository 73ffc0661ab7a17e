"""A test loop that evaluates one model on several test sets in one run."""
import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Union

from mmengine.runner import TestLoop
from mmengine.runner.loops import _parse_losses
from torch.utils.data import DataLoader

from xerm_mm.registry import LOOPS


@LOOPS.register_module()
class MultiTestLoop(TestLoop):
    """Test on several test sets, e.g. balanced and imbalanced ones.

    Each entry of ``test_sets`` names a test set and gives the dataset fields
    that differ from ``test_dataloader.dataset`` (a dict with a ``type`` key
    replaces the dataset config whole). Every set is evaluated with the same
    evaluator, whose ``dataset_meta`` follows the set, and its metrics are
    returned under ``'{name}/{metric}'``.

    Example:
        >>> test_cfg = dict(
        ...     type='MultiTestLoop',
        ...     test_sets=dict(balanced=dict(imbalance_ratio=1),
        ...                    ib100=dict(imbalance_ratio=100)))

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The test dataloader (config).
        evaluator (Evaluator | dict | list): The evaluator (config).
        test_sets (dict, optional): ``{name: dataset overrides}``, in order.
            None or empty: the test dataloader alone, named ``'test'``.
        views (list[str], optional): Evaluate each set once per view of the
            model's head (``head.predict_view``, e.g. ``['imbalanced',
            'balanced']`` for a PC or TDE head); metrics then go under
            ``'{name}/{view}_view/{metric}'``. None: the head as configured.
        fp16 (bool): Test under autocast. Defaults to False.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Dict, List],
                 test_sets: Optional[Dict[str, Dict]] = None,
                 views: Optional[List[str]] = None,
                 fp16: bool = False):
        if test_sets and not isinstance(dataloader, dict):
            raise TypeError('MultiTestLoop with test_sets needs the test '
                            'dataloader as a config dict, got a built '
                            f'{type(dataloader).__name__}.')
        loader_cfgs = OrderedDict()
        for name, overrides in (test_sets or {}).items():
            if not isinstance(overrides, dict):
                raise TypeError(f'test_cfg.test_sets.{name} must be a dict '
                                'of dataset fields, got '
                                f'{type(overrides).__name__}.')
            cfg = copy.deepcopy(dataloader)
            if 'type' in overrides:
                cfg['dataset'] = copy.deepcopy(overrides)
            else:
                cfg['dataset'].update(copy.deepcopy(overrides))
            loader_cfgs[name] = cfg
        first = next(iter(loader_cfgs.values()), dataloader)
        super().__init__(runner, first, evaluator, fp16)
        self.loaders = OrderedDict()
        for i, (name, cfg) in enumerate(loader_cfgs.items()):
            self.loaders[name] = self.dataloader if i == 0 else \
                runner.build_dataloader(cfg, seed=runner.seed)
        if not self.loaders:
            self.loaders['test'] = self.dataloader
        self.views = list(views or [])
        if self.views and not hasattr(self._head(), 'predict_view'):
            raise TypeError(
                f'test_cfg.views={self.views} needs a head with predict_view '
                f'(PCHead, TDEHead), got {type(self._head()).__name__}.')

    def _head(self):
        model = self.runner.model
        return getattr(getattr(model, 'module', model), 'head', None)

    def run(self) -> dict:
        """Evaluate every test set; return all metrics, prefixed by set."""
        self.runner.call_hook('before_test')
        all_metrics = OrderedDict()
        head = self._head()
        configured_view = getattr(head, 'predict_view', None)
        for view in self.views or [None]:
            if view is not None:
                head.predict_view = view
            for name, loader in self.loaders.items():
                tag = name if view is None else f'{name}/{view}_view'
                all_metrics.update(self._run_set(tag, loader))
        if self.views:
            head.predict_view = configured_view
        self.runner.call_hook('after_test')
        return all_metrics

    def _run_set(self, name: str, loader) -> dict:
        """Evaluate one test set; return its metrics prefixed by ``name``."""
        self.dataloader = loader
        self.evaluator.dataset_meta = getattr(loader.dataset, 'metainfo',
                                              None)
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        self.test_loss.clear()
        for idx, data_batch in enumerate(loader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(loader.dataset))
        if self.test_loss:
            metrics.update(_parse_losses(self.test_loss, 'test'))
        metrics = OrderedDict(
            (f'{name}/{key}', value) for key, value in metrics.items())
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        return metrics
