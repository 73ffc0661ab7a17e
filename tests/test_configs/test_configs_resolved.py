"""Every config under ``configs/`` resolves to its committed reference.

The proof that a restructuring of ``configs/`` changed nothing a Runner, the
pipeline or the tools read: each ``.py`` config is resolved with
``Config.fromfile`` (after ``import xerm_mm``, so ``xerm_mm::`` paths
resolve), normalised, and compared with its entry in
``tests/data/resolved_configs.json`` (keyed by the path under ``configs/``,
canonical JSON). On a mismatch the test lists the differing keys.

Normalisation: as MMEngine's Runner (and the xERM teacher loader) does, a
top-level ``data_preprocessor`` becomes the model's unless the model sets its
own. The order of ``test_cfg.test_sets`` (the order of the result rows) is
kept as a list of ``[name, overrides]`` pairs; other dicts compare without
order. A ``_scope_`` that an inherited ``mmpretrain::`` base adds (MMEngine
marks the type dicts of another package's base so) is dropped where the type
names the same class in that scope's registry as in xerm_mm's (the scope the
configs' ``default_scope`` gives): it then builds the same object. Helper
variables (:data:`HELPER_KEYS`) are left out of the comparison:
they only serve to build other values inside the configs (``{{_base_.x}}``,
``_base_.x``, f-strings) and nothing reads them at run time.

Each ``.yaml`` recipe must resolve to exactly its ``.py`` twin (same folder,
same stem).

A new config (or an intended change) updates the reference with::

    XERM_UPDATE_RESOLVED_CONFIGS=1 pytest tests/test_configs/test_configs_resolved.py

A config under ``configs/_base_/`` that is not in the reference only has to
resolve; any other config must be in it.
"""
import copy
import functools
import glob
import json
import os
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmpretrain import registry as mmpretrain_registry

import xerm_mm  # noqa: F401  (``xerm_mm::`` paths resolve in its package)
from xerm_mm import registry as xerm_registry

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
REFERENCE = osp.join(ROOT, 'tests', 'data', 'resolved_configs.json')
UPDATE = os.environ.get('XERM_UPDATE_RESOLVED_CONFIGS') == '1'

# Top-level names that only help write the configs: the recipe name the
# teacher paths and the pipeline stages are derived from, the pieces of the
# xERM student merged into `model`, `custom_hooks` and `optim_wrapper`, the
# PC head merged into `model`, a dataset's xERM gamma and the backbones
# the large-benchmark recipes pick from. Nothing reads them.
HELPER_KEYS = frozenset({
    'recipe', 'xerm_hooks', 'xerm_weight_decay', 'xerm_classifier',
    'xerm_loss', 'pc_head', 'xerm_gamma', 'backbones'
})


def _config_paths(ext):
    paths = glob.glob(osp.join(CONFIGS, '**', f'*.{ext}'), recursive=True)
    # A method folder's metafile.yml is model-zoo metadata, not a config.
    return sorted(
        osp.relpath(p, CONFIGS) for p in paths
        if osp.basename(p) != 'metafile.yml')


def _same_class_in_both_scopes(type_name: str, scope: str) -> bool:
    if scope != 'mmpretrain':
        return False
    found = False
    for name in xerm_registry.__all__:
        ours = getattr(xerm_registry, name).get(type_name)
        if ours is None:
            continue
        if ours is not getattr(mmpretrain_registry, name).get(type_name):
            return False
        found = True
    return found


def _drop_equivalent_scopes(obj):
    if isinstance(obj, dict):
        if (isinstance(obj.get('type'), str) and '_scope_' in obj
                and _same_class_in_both_scopes(obj['type'], obj['_scope_'])):
            del obj['_scope_']
        for value in obj.values():
            _drop_equivalent_scopes(value)
    elif isinstance(obj, list):
        for value in obj:
            _drop_equivalent_scopes(value)


def resolve(rel_path: str) -> dict:
    """The normalised, JSON-ready dict of config ``rel_path``."""
    return copy.deepcopy(_resolve(rel_path))


@functools.lru_cache(maxsize=None)
def _resolve(rel_path: str) -> dict:
    cfg = Config.fromfile(osp.join(CONFIGS, rel_path)).to_dict()
    model = cfg.get('model')
    if isinstance(model, dict) and cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', cfg['data_preprocessor'])
    test_sets = (cfg.get('test_cfg') or {}).get('test_sets')
    if isinstance(test_sets, dict):
        cfg['test_cfg']['test_sets'] = [[k, v] for k, v in test_sets.items()]
    # Canonical JSON: tuples become lists, keys sorted.
    cfg = json.loads(json.dumps(cfg, sort_keys=True))
    _drop_equivalent_scopes(cfg)
    return cfg


def _compared(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in HELPER_KEYS}


def _diff(a, b, prefix=''):
    """Dotted keys where ``a`` and ``b`` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                keys.append(f'{prefix}{k} (only in '
                            f'{"reference" if k in b else "config"})')
            else:
                keys += _diff(a[k], b[k], f'{prefix}{k}.')
        return keys
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        keys = []
        for i, (x, y) in enumerate(zip(a, b)):
            keys += _diff(x, y, f'{prefix}{i}.')
        return keys
    return [] if a == b else [f'{prefix.rstrip(".")}: {a!r} != {b!r}']


def _load_reference() -> dict:
    if not osp.isfile(REFERENCE):
        return {}
    with open(REFERENCE) as f:
        return json.load(f)


PY_CONFIGS = _config_paths('py')
YAML_CONFIGS = _config_paths('yaml') + _config_paths('yml')


@pytest.fixture(scope='module')
def reference():
    if not UPDATE:
        return _load_reference()
    ref = {path: resolve(path) for path in PY_CONFIGS}
    os.makedirs(osp.dirname(REFERENCE), exist_ok=True)
    with open(REFERENCE, 'w') as f:
        json.dump(ref, f, sort_keys=True, indent=1)
        f.write('\n')
    return ref


@pytest.mark.parametrize('path', PY_CONFIGS)
def test_config_resolves_as_the_reference(path, reference):
    cfg = resolve(path)
    if path not in reference:
        assert path.startswith('_base_' + os.sep), (
            f'configs/{path} is not in {REFERENCE}: rerun with '
            'XERM_UPDATE_RESOLVED_CONFIGS=1 if it is a new config')
        return
    diff = _diff(_compared(cfg), _compared(reference[path]))
    assert not diff, (f'configs/{path} resolves differently from the '
                      'reference:\n  ' + '\n  '.join(diff))


def test_every_reference_entry_still_exists(reference):
    missing = sorted(set(reference) - set(PY_CONFIGS))
    assert not missing, f'configs gone (renamed or deleted?): {missing}'


@pytest.mark.parametrize('path', YAML_CONFIGS)
def test_yaml_recipe_resolves_as_its_python_twin(path):
    twin = osp.splitext(path)[0] + '.py'
    assert twin in PY_CONFIGS, f'configs/{path} has no Python twin {twin}'
    diff = _diff(_compared(resolve(path)), _compared(resolve(twin)))
    assert not diff, (f'configs/{path} differs from configs/{twin}:\n  ' +
                      '\n  '.join(diff))


def test_every_config_kind_is_packaged():
    """setup.py ships every kind of config file into ``xerm_mm/.mim``."""
    with open(osp.join(ROOT, 'setup.py')) as f:
        text = f.read()
    packaged = set(re.findall(r"'\.mim/configs/\*\*/\*\.(\w+)'", text))
    kinds = {osp.splitext(p)[1][1:] for p in PY_CONFIGS + YAML_CONFIGS}
    assert kinds <= packaged, (
        f'setup.py package_data lacks .mim/configs/**/*.{{ext}} for '
        f'{sorted(kinds - packaged)}')


MAIN_RECIPES = [
    f'{folder}/{method}_bbn-resnet32_{recipe}.yaml'
    for folder, method in (('xe', 'xe'), ('pc', 'pc'), ('tde', 'tde'),
                           ('xerm', 'xerm-pc'), ('xerm', 'xerm-tde'))
    for recipe in ('1xb128-200e_cifar100lt-ib100',
                   '1xb128-12e_cifar100lt-ib100', '1xb64-30e_digitslt-ib10',
                   '1xb16-16e_digitslt-ib100')
]


def test_main_recipes_have_a_yaml_form():
    missing = [p for p in MAIN_RECIPES if p not in YAML_CONFIGS]
    assert not missing, f'YAML recipes missing under configs/: {missing}'


def test_a_yaml_recipe_builds_the_runner_the_tools_build(tmp_path):
    from xerm_mm.utils.config import build_runner
    path = 'xerm/xerm-tde_bbn-resnet32_1xb64-30e_digitslt-ib10.yaml'
    cfg = Config.fromfile(osp.join(CONFIGS, path))
    cfg.work_dir = str(tmp_path)
    runner = build_runner(cfg)
    assert type(runner).__name__ == 'XERMRunner'
    model = runner.model
    assert type(model).__name__ == 'XERMClassifier'
    assert model.head.predict_view == 'imbalanced'
    assert model.head.num_classes == 10
    # The dataset's data_preprocessor reaches the student and the teacher.
    for net in (model, model.teachers['teacher']):
        assert net.data_preprocessor.std.flatten().tolist() == [255.] * 3
    hooks = [type(h).__name__ for h in runner.hooks]
    assert {'TDEMomentumHook', 'XERMTeacherHook'} <= set(hooks)
    # The xERM weights' statistics come from LogProcessor (no hook).
    assert [c['log_name'] for c in runner.log_processor.custom_cfg] == [
        f'{w}_epoch_{s}' for w in ('w_imba', 'w_ba')
        for s in ('mean', 'min', 'max')
    ]
    optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    assert optim_wrapper.optimizer.param_groups[0]['weight_decay'] == 1e-4
