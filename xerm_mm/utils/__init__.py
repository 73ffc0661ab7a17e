"""Helpers of the tools, the runner and the experiment."""

__all__ = ['register_all_modules', 'checkpoint_safe_globals']


def __getattr__(name: str):
    # Imported on first use: the experiment's helpers import light modules
    # of this package and need no torch (PEP 562).
    if name == 'checkpoint_safe_globals':
        from .checkpoint import checkpoint_safe_globals
        return checkpoint_safe_globals
    if name == 'register_all_modules':
        from .setup_env import register_all_modules
        return register_all_modules
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
