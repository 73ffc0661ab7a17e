"""A test loop that evaluates one model on several test sets in one run."""
import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Union

from mmengine.runner import TestLoop
from torch.utils.data import DataLoader

from xerm_mm.registry import LOOPS
from xerm_mm.utils.model import unwrap_model
from .progress_bar import batch_progress, progress_bar_enabled

#: Runtime info keys of the message hub: the tag of the test set being
#: evaluated (``'balanced'``, ``'balanced/balanced_view'``) and the tags of
#: the whole run, in order. Hooks and metrics read them to keep their outputs
#: apart (see :mod:`xerm_mm.engine.per_set_outputs`).
TEST_SET_KEY = 'multi_test_loop/set'
TEST_SETS_KEY = 'multi_test_loop/sets'


@LOOPS.register_module()
class MultiTestLoop(TestLoop):
    """Test on several test sets, e.g. balanced and imbalanced ones.

    Each entry of ``test_sets`` gives the dataset fields that differ from
    ``test_dataloader.dataset`` (a dict with ``type`` replaces it); metrics go
    under ``'{name}/{metric}'``. The running set's tag is in the message hub
    (``'multi_test_loop/set'``, all tags under ``'multi_test_loop/sets'``).

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
        fp16 (bool): Test under autocast: float16 on CUDA, bfloat16 on the
            CPU (MMEngine's ``autocast``). Defaults to False.
        progress_bar (bool, optional): A progress bar per test set on the
            main process. None: only when stdout is a terminal (a log file
            gets the logger's lines alone); True: also on a file or pipe,
            where it is written once per set. Defaults to None.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Dict, List],
                 test_sets: Optional[Dict[str, Dict]] = None,
                 views: Optional[List[str]] = None,
                 fp16: bool = False,
                 progress_bar: Optional[bool] = None):
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
        self.progress_bar = progress_bar

    @property
    def tags(self) -> List[str]:
        """The name of every evaluation, in order (set, or set/view)."""
        return [
            self._tag(name, view) for view in self.views or [None]
            for name in self.loaders
        ]

    @staticmethod
    def _tag(name: str, view: Optional[str]) -> str:
        return name if view is None else f'{name}/{view}_view'

    def _head(self):
        """The head, under any wrappers (DDP, a test-time-augmentation model).
        """
        return getattr(unwrap_model(self.runner), 'head', None)

    def run(self) -> dict:
        """Evaluate every test set; return all metrics, prefixed by set."""
        # Imported here: per_set_outputs imports this module's keys.
        from .per_set_outputs import dump_per_set
        self.runner.call_hook('before_test')
        self.runner.message_hub.update_info(
            TEST_SETS_KEY, self.tags, resumed=False)
        dump_per_set(self.evaluator)
        all_metrics = OrderedDict()
        head = self._head()
        configured_view = getattr(head, 'predict_view', None)
        for view in self.views or [None]:
            if view is not None:
                head.predict_view = view
            for name, loader in self.loaders.items():
                all_metrics.update(
                    self._run_set(self._tag(name, view), loader))
        if self.views:
            head.predict_view = configured_view
        self.runner.call_hook('after_test')
        return all_metrics

    def _run_set(self, name: str, loader) -> dict:
        """Evaluate one test set; return its metrics prefixed by ``name``."""
        self.dataloader = loader
        meta = getattr(loader.dataset, 'metainfo', None)
        self.evaluator.dataset_meta = meta
        self.runner.visualizer.dataset_meta = meta
        self.runner.message_hub.update_info(TEST_SET_KEY, name, resumed=False)
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        self.test_loss.clear()
        show = progress_bar_enabled(self.progress_bar)
        with batch_progress(name, len(loader), show) as advance:
            for idx, data_batch in enumerate(loader):
                self.run_iter(idx, data_batch)
                advance()
        metrics = self.evaluator.evaluate(len(loader.dataset))
        metrics.update(self._mean_losses())
        metrics = OrderedDict(
            (f'{name}/{key}', value) for key, value in metrics.items())
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        return metrics

    def _mean_losses(self) -> dict:
        """Mean of each loss the model returned at test time, and their sum.

        Empty when ``test_step`` returned no losses (the usual case).
        """
        if not self.test_loss:
            return {}
        losses = {key: buf.mean() for key, buf in self.test_loss.items()}
        losses['test_loss'] = sum(
            value for key, value in losses.items() if 'loss' in key)
        return losses
