import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every xerm_mm module (and mmpretrain's) into the registries.

    Args:
        init_default_scope (bool): Also make ``xerm_mm`` the current default
            scope, so that plain type names resolve in our registries first.
            Defaults to True.
    """
    import mmpretrain.utils  # noqa: F401
    from mmpretrain.utils import register_all_modules as _mmpretrain_register
    _mmpretrain_register(init_default_scope=False)

    import xerm_mm.datasets  # noqa: F401,F403
    import xerm_mm.engine  # noqa: F401,F403
    import xerm_mm.evaluation  # noqa: F401,F403
    import xerm_mm.models  # noqa: F401,F403

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('xerm_mm', scope_name='xerm_mm')
    elif current.scope_name != 'xerm_mm':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "xerm_mm"; a new default scope named "xerm_mm" is '
                      'made current.')
        name = f'xerm_mm-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='xerm_mm')
