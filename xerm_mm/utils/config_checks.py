"""Checks of a training / test config before a runner is built from it."""
import inspect
import logging
from numbers import Number
from typing import Any, Iterator, List, Mapping, Optional, Tuple

from mmengine.logging import print_log

__all__ = [
    'RUNNER_KEYS', 'check_config', 'check_not_pipeline', 'check_key_typos',
    'check_number_keys', 'check_training_split', 'follow_training_split',
    'edit_distance'
]

# The top-level keys that MMEngine's Runner and this project's tools and
# runner read.
RUNNER_KEYS = (
    'model', 'work_dir', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
    'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
    'visualizer', 'default_scope', 'randomness', 'experiment_name',
    'model_wrapper_cfg', 'find_unused_parameters', 'compile', 'strategy',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'runner_type',
    'load_strict', 'memory_format', 'tta_model', 'tta_pipeline')
# Keys whose value must be a number (None allowed) wherever they appear.
NUMBER_KEYS = ('lr', 'momentum', 'weight_decay', 'num_classes', 'max_epochs',
               'max_iters', 'val_interval', 'val_begin', 'batch_size',
               'num_workers', 'imbalance_ratio', 'train_imbalance_ratio',
               'max_keep_ckpts', 'base_batch_size', 'eta_min', 'gamma')
# Keys whose value must be a list of numbers.
NUMBER_LIST_KEYS = ('milestones', )
# The keys of a pipeline config (tools/run_pipeline.py).
PIPELINE_KEYS = ('stages', 'evaluations')
# The datasets whose test splits carry training counts.
EVAL_LOADERS = ('val_dataloader', 'test_dataloader')


def _source(cfg) -> str:
    name = getattr(cfg, 'filename', None)
    return f' (in {name})' if name else ''


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from a to b."""
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1,
                         prev[j - 1] + (a[i - 1] != b[j - 1]))
            if (i > 1 and j > 1 and a[i - 1] == b[j - 2]
                    and a[i - 2] == b[j - 1]):
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def check_not_pipeline(cfg: Mapping) -> None:
    """Refuse a pipeline config (or one without ``model``) for a runner.

    Raises:
        ValueError: Naming the config and the tool that runs it.
    """
    if 'model' in cfg:
        return
    name = getattr(cfg, 'filename', None) or 'the config'
    if any(key in cfg for key in PIPELINE_KEYS):
        raise ValueError(
            f'{name} is a pipeline config (it has stages / evaluations, no '
            'model): run it with tools/run_pipeline.py '
            f'{name}; tools/train.py and tools/test.py take the config of '
            'one model (e.g. one of its stages\' configs).')
    raise ValueError(f'{name} has no `model`: tools/train.py and '
                     'tools/test.py need the config of a model.')


def check_key_typos(cfg: Mapping) -> None:
    """Refuse a top-level key one edit away from a key the runner reads.

    Keys starting with ``_`` (a config's own helper variables) are left
    alone.

    Raises:
        KeyError: Naming the key, the runner's key and the config file.
    """
    found = []
    for key in cfg.keys():
        if key in RUNNER_KEYS or key.startswith('_'):
            continue
        near = [k for k in RUNNER_KEYS if edit_distance(key, k) == 1]
        if near:
            found.append(f'{key!r} (did you mean {near[0]!r}?)')
    if found:
        raise KeyError(
            f'config{_source(cfg)}: the top-level key '
            f'{", ".join(found)} is not read by the runner, so its '
            'settings would be ignored. Correct its name (a helper '
            "variable of the config: start its name with '_').")


def _walk(node: Any, path: str = '') -> Iterator[Tuple[str, str, Any]]:
    """(dotted path, key, value) of every dict entry under ``node``."""
    if isinstance(node, Mapping) or hasattr(node, '_cfg_dict'):  # Config
        for key, value in node.items():
            sub = f'{path}.{key}' if path else str(key)
            yield sub, key, value
            yield from _walk(value, sub)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{path}.{i}')


def _is_number(value: Any) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


def check_number_keys(cfg: Mapping) -> None:
    """Refuse text, a list or a bool where a number belongs.

    The keys of :data:`NUMBER_KEYS` (``lr``, ``num_classes``, ...) must hold
    a number or None, those of :data:`NUMBER_LIST_KEYS` a list of numbers,
    wherever they appear; ``lr: "0.05"`` in a YAML recipe or
    ``--cfg-options optim_wrapper.optimizer.lr=[0.1,0.2]`` would otherwise
    fail far away (or, a bool, run with 1 or 0).

    Raises:
        TypeError: Naming every such key, its value and the config file.
    """
    bad = []
    for path, key, value in _walk(cfg):
        if key in NUMBER_KEYS and value is not None and \
                not _is_number(value):
            bad.append(f'{path}={value!r} (must be a number)')
        elif key in NUMBER_LIST_KEYS and value is not None and not (
                isinstance(value, (list, tuple))
                and all(_is_number(v) for v in value)):
            bad.append(f'{path}={value!r} (must be a list of numbers)')
    if bad:
        raise TypeError(
            f'config{_source(cfg)}: {"; ".join(bad)}. Write numbers '
            'without quotes (YAML: lr: 0.05, not lr: "0.05"; '
            '--cfg-options optim_wrapper.optimizer.lr=0.05).')


# ---- the training split and the training counts of the test sets ----------


def _long_tail_class(type_: Any) -> Optional[type]:
    """The dataset class of ``type_`` if it has a long-tailed split
    (``LongTailMixin``, marked by ``has_long_tail_split``)."""
    from xerm_mm.registry import DATASETS
    cls = type_
    if isinstance(type_, str):
        try:
            cls = DATASETS.get(type_)
        except Exception:  # an unknown scope: not ours
            return None
    if isinstance(cls, type) and getattr(cls, 'has_long_tail_split',
                                         False) is True:
        return cls
    return None


def _arg(dataset: Mapping, cls: type, name: str) -> Any:
    """``dataset[name]``, else the default of ``cls``'s argument."""
    if name in dataset:
        return dataset[name]
    param = inspect.signature(cls.__init__).parameters.get(name)
    return None if param is None or param.default is param.empty \
        else param.default


def _train_split(cfg: Mapping) -> Optional[Tuple[str, Mapping, type]]:
    """(dotted path, config, class) of the long-tailed training dataset."""
    loader = cfg.get('train_dataloader')
    if not isinstance(loader, Mapping):
        return None
    path, dataset = 'train_dataloader.dataset', loader.get('dataset')
    while isinstance(dataset, Mapping):  # through dataset wrappers
        cls = _long_tail_class(dataset.get('type'))
        if cls is not None:
            return path, dataset, cls
        path, dataset = path + '.dataset', dataset.get('dataset')
    return None


def _test_splits(cfg: Mapping) -> List[Tuple[str, str, dict, type]]:
    """(ratio key, imb_type key, effective config, class) of each test
    split (``split='test'``) of the evaluation dataloaders and test sets."""
    found = []

    def add(path: str, dataset: Mapping, own: Mapping, own_path: str):
        cls = _long_tail_class(dataset.get('type'))
        if cls is None or _arg(dataset, cls, 'split') != 'test':
            return
        keys = [
            f'{own_path if name in own else path}.{name}'
            for name in ('train_imbalance_ratio', 'imb_type')
        ]
        found.append((*keys, dataset, cls))

    for key in EVAL_LOADERS:
        loader = cfg.get(key)
        if isinstance(loader, Mapping) and \
                isinstance(loader.get('dataset'), Mapping):
            base = loader['dataset']
            add(f'{key}.dataset', base, {}, '')
    test_cfg = cfg.get('test_cfg')
    loader = cfg.get('test_dataloader')
    test_sets = test_cfg.get('test_sets') if isinstance(test_cfg,
                                                        Mapping) else None
    if isinstance(test_sets, Mapping) and isinstance(loader, Mapping) and \
            isinstance(loader.get('dataset'), Mapping):
        for name, own in test_sets.items():
            if not isinstance(own, Mapping):
                continue
            own_path = f'test_cfg.test_sets.{name}'
            if 'type' in own:
                add(own_path, own, own, own_path)
            else:
                add('test_dataloader.dataset', {
                    **loader['dataset'],
                    **own
                }, own, own_path)
    return found


def check_training_split(cfg: Mapping) -> None:
    """Refuse test sets whose training counts are not the training split's.

    A test split of a long-tailed dataset (CIFAR-LT, DigitsLT) computes the
    training class counts (its ``metainfo['train_class_counts']``: the
    many / medium / few groups, the prior of a PC head without counts) from
    its ``train_imbalance_ratio`` and ``imb_type``; they must be the training
    split's ``imbalance_ratio`` and ``imb_type``. A balanced training split
    (``imbalance_ratio=1``, the feature study) has no groups of its own: its
    test sets may name another profile.

    Raises:
        ValueError: Naming both keys, their values and the fix.
    """
    train = _train_split(cfg)
    if train is None:
        return
    path, dataset, cls = train
    ratio = _arg(dataset, cls, 'imbalance_ratio')
    imb_type = _arg(dataset, cls, 'imb_type')
    if ratio == 1 or not _is_number(ratio):
        return
    bad = []
    for ratio_key, type_key, test, test_cls in _test_splits(cfg):
        test_ratio = _arg(test, test_cls, 'train_imbalance_ratio')
        if test_ratio is not None and test_ratio != ratio:
            bad.append(f'{ratio_key}={test_ratio!r}')
        test_type = _arg(test, test_cls, 'imb_type')
        if test_type != imb_type:
            bad.append(f'{type_key}={test_type!r}')
    if bad:
        raise ValueError(
            f'config{_source(cfg)}: the training split is '
            f'{path}.imbalance_ratio={ratio!r} ({path}.imb_type='
            f'{imb_type!r}), but {", ".join(bad)}: the test sets would '
            'report the many / medium / few groups (and a PC head the prior) '
            'of another training split. Set the test sets to the training '
            'split (e.g. --cfg-options val_dataloader.dataset.'
            f'train_imbalance_ratio={ratio!r} test_dataloader.dataset.'
            f'train_imbalance_ratio={ratio!r}), or change only '
            f'{path}.imbalance_ratio with --cfg-options: the test sets '
            'follow it.')
    if _arg(dataset, cls, 'reverse') and _test_splits(cfg):
        raise ValueError(
            f'config{_source(cfg)}: {path}.reverse=True, but the test sets '
            'compute the training counts of the forward profile (their '
            'many / medium / few groups would be wrong). Train on the '
            'forward long tail; reverse is for test sets.')


def follow_training_split(cfg, options: Mapping) -> List[str]:
    """Make the test sets follow a training split that ``options`` change.

    Call it after merging ``options`` (``--cfg-options``) into ``cfg``. When
    they set the training split's ``imbalance_ratio`` (or ``imb_type``) to
    an imbalanced profile and not the test sets' ``train_imbalance_ratio``
    (``imb_type``), the test sets take the new value, so that their training
    counts are those of the training split. Each change is logged.

    Returns:
        list[str]: The keys set, as ``key=value``.
    """
    train = _train_split(cfg)
    if train is None:
        return []
    path, dataset, cls = train
    changed = []
    for name, test_name in (('imbalance_ratio', 'train_imbalance_ratio'),
                            ('imb_type', 'imb_type')):
        if f'{path}.{name}' not in options:
            continue
        value = _arg(dataset, cls, name)
        if name == 'imbalance_ratio' and value == 1:
            continue  # balanced training: the test sets keep their groups
        for keys in _test_splits(cfg):
            key = keys[0] if name == 'imbalance_ratio' else keys[1]
            if key in options or key.startswith('test_cfg.'):
                continue  # set by the user / follows test_dataloader
            node = cfg
            for part in key.split('.')[:-1]:
                node = node[part]
            if node.get(test_name) != value:
                node[test_name] = value
                changed.append(f'{key}={value!r}')
    if changed:
        print_log(
            f'{path} changed by --cfg-options: the test sets follow it '
            f'({", ".join(changed)})',
            logger='current',
            level=logging.INFO)
    return changed


def check_config(cfg: Mapping) -> None:
    """Refuse a pipeline config, top-level key typos, text where a number
    belongs and test sets whose training counts are not the training
    split's, cheapest check first."""
    check_not_pipeline(cfg)
    check_key_typos(cfg)
    check_number_keys(cfg)
    check_training_split(cfg)
