"""Set the TDE head's moving-average momentum from the learning rate."""
from mmengine.hooks import Hook

from xerm_mm.registry import HOOKS
from xerm_mm.utils.model import unwrap_model


@HOOKS.register_module()
class TDEMomentumHook(Hook):
    """Each epoch, ``mu = 1 - 0.1 * min(50 * lr, 1)``.

    From Tang et al., NeurIPS 2020 (docs/methods.md).

    Calls ``head.set_momentum_from_lr(lr)`` of every module that has it, with
    the current learning rate of the first parameter group. A head built with
    ``lr_dependent_momentum=False`` (the CIFAR recipe, mu = 0.9) keeps its
    momentum. Modules without the method are left alone.
    """

    priority = 'LOW'

    def before_train_epoch(self, runner) -> None:
        model = unwrap_model(runner)
        lr = runner.optim_wrapper.get_lr()
        lr = next(iter(lr.values()))[0] if isinstance(lr, dict) else lr[0]
        for name, module in model.named_modules():
            if hasattr(module, 'set_momentum_from_lr'):
                before = getattr(module, 'momentum', None)
                mu = module.set_momentum_from_lr(lr)
                if mu != before:
                    runner.logger.info(f'{name or "model"}: moving-average '
                                       f'momentum {mu:.4f} (lr {lr:.4g})')
