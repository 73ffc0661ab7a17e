from .deferred_runtime_info_hook import DeferredRuntimeInfoHook
from .non_finite_guard_hook import NonFiniteGuardHook
from .rng_state_hook import RNGStateHook
from .tde_momentum_hook import TDEMomentumHook
from .train_class_counts_hook import SetTrainClassCountsHook
from .xerm_teacher_hook import XERMTeacherHook

__all__ = [
    'DeferredRuntimeInfoHook', 'NonFiniteGuardHook', 'RNGStateHook', 'SetTrainClassCountsHook',
    'TDEMomentumHook', 'XERMTeacherHook'
]
