"""``--out`` and ``--show-dir`` of tools/test.py: one file / folder per test
set of a MultiTestLoop (docs/get_started.md).
"""
import os.path as osp
from typing import Optional

from mmengine.evaluator import DumpResults
from mmengine.logging import MessageHub
from mmpretrain.engine.hooks import VisualizationHook

from xerm_mm.registry import HOOKS
from .multi_test_loop import TEST_SET_KEY, TEST_SETS_KEY


def current_test_set() -> Optional[str]:
    """Tag of the running evaluation when the run has several, else None."""
    hub = MessageHub.get_current_instance()
    if len(hub.get_info(TEST_SETS_KEY) or []) < 2:
        return None
    return hub.get_info(TEST_SET_KEY)


def per_set_file(path: str, tag: Optional[str]) -> str:
    """``preds.pkl`` -> ``preds_balanced_balanced_view.pkl`` for that tag."""
    if tag is None:
        return path
    stem, ext = osp.splitext(path)
    return f"{stem}_{tag.replace('/', '_')}{ext}"


class PerSetDumpResults(DumpResults):
    """DumpResults that writes one pickle per test set of the run.

    Args:
        out_file_path (str): The file of a one-set run; with several sets
            the tag of each goes before the extension (:func:`per_set_file`).
        **kwargs: Of :class:`~mmengine.evaluator.DumpResults`.
    """

    default_prefix = 'dump'  # it returns no metric

    def __init__(self, out_file_path: str, **kwargs) -> None:
        super().__init__(out_file_path, **kwargs)
        self.base_out_file_path = out_file_path

    def compute_metrics(self, results: list) -> dict:
        self.out_file_path = per_set_file(self.base_out_file_path,
                                           current_test_set())
        return super().compute_metrics(results)


def dump_per_set(evaluator) -> None:
    """Make each plain ``DumpResults`` of ``evaluator`` a
    :class:`PerSetDumpResults` of the same file (in place)."""
    for i, metric in enumerate(evaluator.metrics):
        if type(metric) is DumpResults:
            evaluator.metrics[i] = PerSetDumpResults(
                metric.out_file_path,
                collect_device=metric.collect_device,
                collect_dir=metric.collect_dir)


@HOOKS.register_module()
class PerSetVisualizationHook(VisualizationHook):
    """mmpretrain's VisualizationHook, one ``out_dir`` folder per test set.

    Args:
        out_dir (str, optional): The folder of a one-set run; with several
            sets, a sub-folder ``{out_dir}/{tag}/`` per tag.
        **kwargs: Of :class:`mmpretrain.engine.hooks.VisualizationHook`.
    """

    def __init__(self, out_dir: Optional[str] = None, **kwargs):
        super().__init__(out_dir=out_dir, **kwargs)
        self.base_out_dir = out_dir

    def before_test_epoch(self, runner) -> None:
        tag = current_test_set()
        if self.base_out_dir is not None and tag is not None:
            self.out_dir = osp.join(self.base_out_dir, tag)
