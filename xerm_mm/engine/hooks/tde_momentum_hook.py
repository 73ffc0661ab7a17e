"""Set the TDE head's moving-average momentum from the learning rate."""
from mmengine.hooks import Hook

from xerm_mm.registry import HOOKS
from xerm_mm.utils.model import unwrap_model


def _lr_of(module, param_groups, default: float) -> float:
    """The lr of the first parameter group holding a parameter of
    ``module``; ``default`` if none does (a head without parameters)."""
    own = {id(p) for p in module.parameters()}
    for group in param_groups:
        if any(id(p) in own for p in group['params']):
            return group['lr']
    return default


@HOOKS.register_module()
class TDEMomentumHook(Hook):
    """Each epoch, ``head.set_momentum_from_lr(lr)``: ``mu = 1 - 0.1 * min(50 *
    lr, 1)`` from the head parameters' learning rate (docs/methods.md).
    """

    priority = 'LOW'

    def before_train_epoch(self, runner) -> None:
        model = unwrap_model(runner)
        lr = runner.optim_wrapper.get_lr()
        lr = next(iter(lr.values()))[0] if isinstance(lr, dict) else lr[0]
        optimizer = getattr(runner.optim_wrapper, 'optimizer', None)
        param_groups = getattr(optimizer, 'param_groups', [])
        for name, module in model.named_modules():
            if hasattr(module, 'set_momentum_from_lr'):
                before = getattr(module, 'momentum', None)
                own_lr = _lr_of(module, param_groups, lr)
                mu = module.set_momentum_from_lr(own_lr)
                if mu != before:
                    runner.logger.info(f'{name or "model"}: moving-average '
                                       f'momentum {mu:.4f} (lr {own_lr:.4g})')
