from .checkpoint import checkpoint_safe_globals
from .setup_env import register_all_modules

__all__ = ['register_all_modules', 'checkpoint_safe_globals']
