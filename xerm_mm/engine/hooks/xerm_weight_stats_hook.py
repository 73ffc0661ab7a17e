"""Deprecated: the per-epoch xERM weight statistics come from LogProcessor."""
from mmengine.hooks import Hook

from xerm_mm.registry import HOOKS


@HOOKS.register_module()
class XERMWeightStatsHook(Hook):
    """Deprecated and inert; remove it from ``custom_hooks``.

    The per-epoch mean / min / max of ``w_imba`` and ``w_ba`` are logged by
    MMEngine's ``LogProcessor`` with the ``log_processor.custom_cfg`` of the
    xERM configs (``window_size='epoch'``, see docs/methods.md). This class
    only keeps configs that still list it building; it logs a warning.
    """

    def before_train(self, runner) -> None:
        runner.logger.warning(
            'XERMWeightStatsHook is deprecated and does nothing: remove it '
            'from custom_hooks. The per-epoch statistics of w_imba / w_ba '
            "are logged by log_processor.custom_cfg (window_size='epoch'), "
            'see docs/methods.md.')
