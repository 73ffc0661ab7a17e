"""The model zoo index: ``model-index.yml`` and ``configs/*/metafile.yml``.

mmpretrain's layout: ``model-index.yml`` imports one metafile per method
folder; each metafile lists its collections (methods) and one model entry per
config. MMEngine (``mmengine.hub.get_config('xerm_mm::...')``) and openmim
(``mim search xerm_mm``) read these files.
"""
import ast
import collections
import fnmatch
import glob
import importlib.util
import os.path as osp

import pytest
import yaml
from mmengine.config import Config

import xerm_mm

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = ('xe', 'pc', 'tde', 'xerm', 'la', 'bs', 'lade', 'decoupling')
# Training Data names of the metafiles, by dataset type of the configs.
DATASET_NAMES = {
    'CIFAR10LT': 'CIFAR-10-LT',
    'CIFAR100LT': 'CIFAR-100-LT',
    'DigitsLT': 'DigitsLT',
    'ImageNetLT': 'ImageNet-LT',
    'Places365LT': 'Places365-LT',
    'INaturalist2018': 'iNaturalist 2018',
}
# Results quoted from the xERM paper (Dataset '... (xERM paper)') are given
# to one decimal, as the paper gives them; measured ones to two.
PAPER = '(xERM paper)'


def _read_yaml(rel_path):
    path = osp.join(ROOT, rel_path)
    assert osp.isfile(path), f'{rel_path} is missing'
    with open(path) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope='module')
def metafiles():
    """Every metafile that model-index.yml imports, by repo-relative path."""
    index = _read_yaml('model-index.yml')
    return {path: _read_yaml(path) for path in index['Import']}


@pytest.fixture(scope='module')
def entries(metafiles):
    """All model entries as (metafile path, entry) pairs."""
    return [(path, model) for path, meta in metafiles.items()
            for model in meta['Models']]


def _type(cfg):
    """A registry type name without its scope (``xerm_mm.X`` -> ``X``)."""
    return cfg['type'].split('.')[-1]


def test_model_index_imports_every_method_metafile(metafiles):
    expected = {f'configs/{method}/metafile.yml' for method in METHODS}
    on_disk = {
        osp.relpath(path, ROOT)
        for path in glob.glob(osp.join(ROOT, 'configs', '*', 'metafile.yml'))
    }
    assert set(metafiles) == expected | on_disk
    assert len(metafiles) == len(_read_yaml('model-index.yml')['Import'])


def test_every_entry_config_exists_in_its_folder(entries):
    for path, model in entries:
        config = model['Config']
        assert not osp.isabs(config) and config.startswith('configs/'), (
            f'{path}: {model["Name"]}: Config must be repo-relative '
            f'(configs/...), got {config!r}')
        assert osp.isfile(osp.join(ROOT, config)), (
            f'{path}: {model["Name"]}: {config} does not exist')
        assert osp.dirname(config) == osp.dirname(path), (
            f'{path} lists {config} of another folder')


@pytest.mark.parametrize('method', METHODS)
def test_every_python_config_has_exactly_one_entry(method, entries):
    # Only .py configs need an entry (YAML twins may share the entry).
    counts = collections.Counter(model['Config'] for _, model in entries)
    configs = sorted(
        osp.relpath(path, ROOT)
        for path in glob.glob(osp.join(ROOT, 'configs', method, '*.py')))
    assert configs
    wrong = {config: counts[config] for config in configs
             if counts[config] != 1}
    assert not wrong, (f'configs/{method}/metafile.yml needs exactly one '
                       f'entry per config; entries found: {wrong}')


def test_names_are_unique_and_the_config_names(entries):
    names = collections.Counter(model['Name'] for _, model in entries)
    assert not [name for name, n in names.items() if n > 1]
    for path, model in entries:
        stem = osp.splitext(osp.basename(model['Config']))[0]
        assert model['Name'] == stem, f'{path}: {model["Name"]} != {stem}'


def test_entries_belong_to_declared_collections(metafiles):
    for path, meta in metafiles.items():
        declared = {c['Name'] for c in meta['Collections']}
        for collection in meta['Collections']:
            assert osp.isfile(osp.join(ROOT, collection['README'])), (
                f'{path}: {collection["README"]} does not exist')
        used = {model['In Collection'] for model in meta['Models']}
        assert used <= declared, f'{path}: undeclared {used - declared}'
        assert declared <= used, f'{path}: empty {declared - used}'


def test_metadata_matches_the_resolved_config(entries):
    for path, model in entries:
        cfg = Config.fromfile(osp.join(ROOT, model['Config']))
        dataset = cfg.train_dataloader.dataset
        while 'dataset' in dataset:  # dataset wrappers
            dataset = dataset.dataset
        meta = model['Metadata']
        actual = {
            'Training Data': DATASET_NAMES[_type(dataset)],
            # None: a published list (ImageNet-LT), no ratio to choose.
            'Imbalance Ratio': dataset.get('imbalance_ratio'),
            'Epochs': cfg.train_cfg.max_epochs,
            'Batch Size': cfg.train_dataloader.batch_size,
            'Architecture': [_type(cfg.model.backbone),
                             _type(cfg.model.head)],
        }
        stated = {key: meta.get(key) for key in actual}
        assert stated == actual, f'{path}: {model["Name"]}'


def test_results_are_well_formed_and_in_the_readme(metafiles):
    measured = 0
    for path, meta in metafiles.items():
        readmes = {c['Name']: c['README'] for c in meta['Collections']}
        for model in meta['Models']:
            problem = _weights_problem(model)
            assert problem is None, f'{path}: {problem}'
            with open(osp.join(ROOT, readmes[model['In Collection']])) as f:
                readme = f.read()
            for result in model.get('Results') or []:
                assert result['Task'] == 'Image Classification'
                assert result['Dataset']
                top1 = result['Metrics']['Top 1 Accuracy']
                assert 0 <= top1 <= 100
                digits = 1 if result['Dataset'].endswith(PAPER) else 2
                for value in result['Metrics'].values():
                    assert f'{value:.{digits}f}' in readme, (
                        f'{path}: {model["Name"]}: {value} of '
                        f'{result["Dataset"]} is not in its README')
                measured += 1
    assert measured > 0


def _weights_problem(model, root=ROOT):
    """None, or what is wrong with an entry's ``Weights``: an http(s) URL
    of a published checkpoint, or a repo-relative ``.pth`` that exists
    (``checkpoints/NAME.pth``)."""
    if 'Weights' not in model:
        return None
    weights = model['Weights']
    if not isinstance(weights, str) or not weights:
        return f'{model["Name"]}: Weights must be a URL or a file, got ' \
            f'{weights!r}'
    if weights.startswith(('https://', 'http://')):
        return None
    if osp.isabs(weights) or not weights.endswith('.pth'):
        return (f'{model["Name"]}: Weights {weights!r} must be a URL or a '
                'repo-relative .pth file (checkpoints/NAME.pth)')
    if not osp.isfile(osp.join(root, weights)):
        return f'{model["Name"]}: Weights {weights} does not exist'
    return None


def test_weights_are_a_url_or_a_file_of_the_repository(tmp_path):
    (tmp_path / 'checkpoints').mkdir()
    (tmp_path / 'checkpoints' / 'a.pth').write_bytes(b'')
    ok = [{}, dict(Weights='https://example.org/a.pth'),
          dict(Weights='checkpoints/a.pth')]
    for extra in ok:
        assert _weights_problem(dict(Name='a', **extra), str(tmp_path)) is None
    for weights, match in (('checkpoints/b.pth', 'does not exist'),
                           ('/abs/a.pth', 'repo-relative'),
                           ('checkpoints/a.txt', 'repo-relative'),
                           ('', 'must be a URL or a file')):
        problem = _weights_problem(dict(Name='a', Weights=weights),
                                   str(tmp_path))
        assert problem and match in problem, (weights, problem)


def _complexity_tool():
    spec = importlib.util.spec_from_file_location(
        'metafile_complexity',
        osp.join(ROOT, 'tools', 'analysis_tools', 'metafile_complexity.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_entry_has_flops_and_parameters(entries):
    for path, model in entries:
        meta = model['Metadata']
        for key in ('FLOPs', 'Parameters'):
            assert isinstance(meta.get(key), int) and meta[key] > 0, (
                f'{path}: {model["Name"]}: Metadata.{key} must be a '
                f'positive int (tools/analysis_tools/metafile_complexity.py '
                f'measures it), got {meta.get(key)!r}')


# One entry per kind of model: backbone, head, student with teachers,
# 10 classes, 224 pixels.
MEASURED = ('xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100',
            'crt_bbn-resnet32_1xb128-12e_cifar100lt-ib100',
            'ride-pc_ride3-resnet32_1xb128-12e_cifar100lt-ib100',
            'xerm-tde_bbn-resnet32_1xb64-30e_digitslt-ib10',
            'xe_resnet50_1xb256-30e_places365lt')


def test_flops_and_parameters_are_the_measured_ones(entries):
    tool = _complexity_tool()
    by_name = {model['Name']: model for _, model in entries}
    for name in MEASURED:
        model = by_name[name]
        meta = model['Metadata']
        assert (meta['FLOPs'], meta['Parameters']) == tool.measure(
            osp.join(ROOT, model['Config'])), name
    # ResNet-50 on 224x224 (365 classes): mmpretrain's 4.1 GFLOPs.
    meta = by_name['xe_resnet50_1xb256-30e_places365lt']['Metadata']
    assert 4.0e9 < meta['FLOPs'] < 4.2e9


def test_complexity_tool_check_names_a_wrong_entry(tmp_path, capsys):
    tool = _complexity_tool()
    assert tool.main(['configs/la/metafile.yml', '--check']) == 0
    wrong = tmp_path / 'metafile.yml'
    with open(osp.join(ROOT, 'configs', 'la', 'metafile.yml')) as f:
        text = f.read()
    wrong.write_text(text.replace('FLOPs: ', 'FLOPs: 1', 1))
    assert tool.main([str(wrong), '--check']) == 1
    out = capsys.readouterr().out
    assert f'{wrong}: la_bbn-resnet32_1xb128-12e_cifar100lt-ib100: FLOPs, ' \
        'Parameters are (174224128, 550388), measured (74224128, ' \
        '550388)' in out
    assert 'metafile_complexity: 1 entries differ' in out
    # Without --check the file is rewritten with the measured counts.
    assert tool.main([str(wrong)]) == 0
    assert wrong.read_text() == text


def test_setup_packs_the_index_and_every_metafile():
    with open(osp.join(ROOT, 'setup.py')) as f:
        tree = ast.parse(f.read())
    patterns = next(
        ast.literal_eval(keyword.value) for node in ast.walk(tree)
        if isinstance(node, ast.Call) for keyword in node.keywords
        if keyword.arg == 'package_data')['xerm_mm']
    files = ['model-index.yml'] + _read_yaml('model-index.yml')['Import']
    for name in files:
        assert any(fnmatch.fnmatch(f'.mim/{name}', p) for p in patterns), (
            f'setup.py package_data does not ship {name} in xerm_mm/.mim')


def _package_dir(package):
    """Where the imported package is (also under an editable install)."""
    assert package == 'xerm_mm'
    return osp.dirname(osp.abspath(xerm_mm.__file__))


def test_mmengine_hub_finds_configs_through_the_metafiles(monkeypatch):
    from mmengine import hub
    monkeypatch.setattr(hub.hub, 'get_installed_path', _package_dir)
    name = 'xerm/xerm-tde_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
    cfg = hub.get_config(f'xerm_mm::{name}')
    assert cfg.model.type == 'xerm_mm.XERMClassifier'
    with pytest.raises(AssertionError, match='Weights'):
        hub.get_config(f'xerm_mm::{name}', pretrained=True)


def test_mim_search_reads_the_model_index(monkeypatch, entries):
    search = pytest.importorskip('mim.commands.search')
    monkeypatch.setattr(search, 'get_installed_path', _package_dir)
    found = search.get_model_info('xerm_mm', to_dict=True)
    assert set(found) == {model['Name'] for _, model in entries}
    name = 'xerm-pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100'
    assert found[name]['model'] == 'xerm-pc'
    assert found[name]['epochs'] == 12
    assert found[name]['cifar-100-lt balanced test/top_1_accuracy'] == 24.51
    long_runs = search.get_model_info(
        'xerm_mm', training_datasets=['CIFAR-10-LT'],
        filter_conditions='epochs>100')
    assert list(long_runs.index) == [
        'xe_bbn-resnet32_1xb128-200e_cifar10lt-ib100']
