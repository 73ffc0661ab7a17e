"""Registries of xerm_mm, each a child of mmpretrain's of the same kind.

``RUNNERS`` and ``FUNCTIONS`` are children of MMEngine's root registries,
where mmpretrain's tools and MMEngine's Runner look up scoped names.
"""
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS',
    'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS', 'FUNCTIONS'
]


def _child(name: str, parent: Registry, location: str) -> Registry:
    # A registry imports only its own locations before a lookup, not its
    # parent's: ours import mmpretrain's too, so that its plain names resolve
    # without mmpretrain's register_all_modules.
    return Registry(
        name,
        parent=parent,
        scope='xerm_mm',
        locations=[location] + list(parent._locations))


RUNNERS = _child('runner', MMENGINE_RUNNERS, 'xerm_mm.engine')
RUNNER_CONSTRUCTORS = _child('runner constructor',
                             mmpretrain_registry.RUNNER_CONSTRUCTORS,
                             'xerm_mm.engine')
LOOPS = _child('loop', mmpretrain_registry.LOOPS, 'xerm_mm.engine')
HOOKS = _child('hook', mmpretrain_registry.HOOKS, 'xerm_mm.engine')
LOG_PROCESSORS = _child('log processor', mmpretrain_registry.LOG_PROCESSORS,
                        'xerm_mm.engine')
OPTIMIZERS = _child('optimizer', mmpretrain_registry.OPTIMIZERS,
                    'xerm_mm.engine')
OPTIM_WRAPPERS = _child('optim wrapper', mmpretrain_registry.OPTIM_WRAPPERS,
                        'xerm_mm.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer wrapper constructor',
    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS, 'xerm_mm.engine')
PARAM_SCHEDULERS = _child('parameter scheduler',
                          mmpretrain_registry.PARAM_SCHEDULERS,
                          'xerm_mm.engine')
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, 'xerm_mm.datasets')
DATASETS = _child('dataset', mmpretrain_registry.DATASETS, 'xerm_mm.datasets')
DATA_SAMPLERS = _child('data sampler', mmpretrain_registry.DATA_SAMPLERS,
                       'xerm_mm.datasets')
TRANSFORMS = _child('transform', mmpretrain_registry.TRANSFORMS,
                    'xerm_mm.datasets')
MODELS = _child('model', mmpretrain_registry.MODELS, 'xerm_mm.models')
MODEL_WRAPPERS = _child('model_wrapper', mmpretrain_registry.MODEL_WRAPPERS,
                        'xerm_mm.models')
WEIGHT_INITIALIZERS = _child('weight initializer',
                             mmpretrain_registry.WEIGHT_INITIALIZERS,
                             'xerm_mm.models')
BATCH_AUGMENTS = _child('batch augment', mmpretrain_registry.BATCH_AUGMENTS,
                        'xerm_mm.models')
TASK_UTILS = _child('task util', mmpretrain_registry.TASK_UTILS,
                    'xerm_mm.models')
METRICS = _child('metric', mmpretrain_registry.METRICS,
                 'xerm_mm.evaluation')
EVALUATORS = _child('evaluator', mmpretrain_registry.EVALUATORS,
                    'xerm_mm.evaluation')
VISUALIZERS = _child('visualizer', mmpretrain_registry.VISUALIZERS,
                     'xerm_mm.engine')
VISBACKENDS = _child('vis_backend', mmpretrain_registry.VISBACKENDS,
                     'xerm_mm.engine')
