"""tools/dataset_converters/inaturalist2018_to_list.py on generated jsons."""
import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest
from inprocess_tool import run_main

from xerm_mm.datasets import INaturalist2018, read_list_file

TOOL = 'dataset_converters/inaturalist2018_to_list'


def _inat_json(labels, num_cats=5, split='train'):
    """A COCO-like json: image i of category ``labels[i]`` (ids 100 + i)."""
    images = [{
        'id': 100 + i,
        'file_name': f'train_val2018/Plantae/{c}/{split}{i:03d}.jpg',
        'width': 8,
        'height': 8
    } for i, c in enumerate(labels)]
    # annotations in another order than the images: the lists follow images
    annotations = [{
        'id': i,
        'image_id': 100 + i,
        'category_id': c
    } for i, c in reversed(list(enumerate(labels)))]
    categories = [{'id': c, 'name': f'species {c}'} for c in range(num_cats)]
    return {
        'images': images,
        'annotations': annotations,
        'categories': categories,
        'info': {},
        'licenses': []
    }


def _dump(path: Path, data) -> str:
    path.write_text(json.dumps(data))
    return str(path)


TRAIN = [3, 0, 0, 1, 0, 3, 1, 0]
VAL = [0, 1, 3, 4]


@pytest.fixture
def jsons(tmp_path):
    return (_dump(tmp_path / 'train2018.json', _inat_json(TRAIN)),
            _dump(tmp_path / 'val2018.json', _inat_json(VAL, split='val')))


def test_round_trip_into_inaturalist2018(jsons, tmp_path):
    outs, out = run_main(TOOL, *jsons)
    assert outs == {
        s: os.path.join(str(tmp_path), f'iNaturalist18_{s}.txt')
        for s in ('train', 'val')
    }
    paths, labels = read_list_file(outs['train'])
    assert labels.tolist() == TRAIN
    assert paths[0] == 'train_val2018/Plantae/3/train000.jpg'
    assert 'train: ' in out and '8 images, 5 classes (2 without images), ' \
        'images per class 4 .. 2' in out
    assert 'val: ' in out and '4 images, 5 classes (1 without images), ' \
        'images per class 1 .. 1' in out
    # the dataset reads the lists from the data root (the json's folder)
    val = INaturalist2018(data_root=str(tmp_path), split='val')
    assert [val.get_data_info(i)['gt_label'] for i in range(len(val))] == VAL
    assert val.get_data_info(2)['img_path'] == str(
        tmp_path / 'train_val2018/Plantae/3/val002.jpg')
    assert val.metainfo['train_class_counts'][:5] == (4, 2, 0, 2, 0)


def test_flags_out_dir_and_overwrite(jsons, tmp_path):
    train, val = jsons
    out_dir = tmp_path / 'lists'
    outs, out = run_main(TOOL, '--val', val, '--out-dir', out_dir)
    assert list(outs) == ['val'] and 'train:' not in out
    assert read_list_file(outs['val'])[1].tolist() == VAL
    with pytest.raises(FileExistsError,
                       match=r'iNaturalist18_val\.txt exists.*--overwrite'):
        run_main(TOOL, '--val', val, '--out-dir', out_dir)
    # a json that is not named train*/val* needs its flag
    other = _dump(tmp_path / 'mine.json', _inat_json([1, 1, 2]))
    with pytest.raises(SystemExit):
        run_main(TOOL, other, '--out-dir', out_dir)
    outs, _ = run_main(TOOL, '--val', other, '--train', train, '--out-dir',
                       out_dir, '--overwrite')
    assert read_list_file(outs['val'])[1].tolist() == [1, 1, 2]
    assert read_list_file(outs['train'])[1].tolist() == TRAIN
    assert sorted(p.name for p in out_dir.iterdir()) == [
        'iNaturalist18_train.txt', 'iNaturalist18_val.txt'
    ]  # no temp files


def _broken(data, how):
    data = copy.deepcopy(data)
    if how == 'no categories':
        del data['categories']
    elif how == 'no file_name':
        del data['images'][2]['file_name']
    elif how == 'no category_id':
        del data['annotations'][1]['category_id']
    elif how == 'no annotation':
        data['annotations'] = [
            a for a in data['annotations'] if a['image_id'] != 103
        ]
    elif how == 'two annotations':
        data['annotations'].append({'image_id': 103, 'category_id': 0})
    elif how == 'unknown category':
        data['annotations'][0]['category_id'] = 7
    elif how == 'newline':
        data['images'][1]['file_name'] = 'train_val2018/a\nb.jpg'
    elif how == 'unknown image':
        data['annotations'][0]['image_id'] = 999
    return data


@pytest.mark.parametrize('how, error, match', [
    ('no categories', KeyError, 'no "categories" key'),
    ('no file_name', KeyError, r'images\[2\] has no "file_name" key'),
    ('no category_id', KeyError, r'annotations\[1\] has no "category_id"'),
    ('no annotation', ValueError, 'image id 103 .* has no annotation'),
    ('two annotations', ValueError, 'image id 103 has two annotations'),
    ('unknown category', ValueError, 'category_id 7, which is not the id'),
    ('newline', ValueError, r'images\[1\]\["file_name"\] .* line break'),
    ('unknown image', ValueError, 'image_id 999, which is not in "images"'),
])
def test_errors_name_the_file_and_key(tmp_path, how, error, match):
    val = _dump(tmp_path / 'val2018.json', _inat_json(VAL, split='val'))
    bad = _dump(tmp_path / 'train2018.json', _broken(_inat_json(TRAIN), how))
    with pytest.raises(error, match=match) as info:
        run_main(TOOL, bad, val)
    assert 'train2018.json' in str(info.value)
    # nothing is written when one json is bad
    assert not any(tmp_path.glob('iNaturalist18_*'))


def test_missing_and_invalid_json(tmp_path):
    with pytest.raises(FileNotFoundError, match='train2018.json'):
        run_main(TOOL, tmp_path / 'train2018.json')
    (tmp_path / 'val2018.json').write_text('{"images": [')
    with pytest.raises(ValueError, match='val2018.json: not valid json'):
        run_main(TOOL, tmp_path / 'val2018.json')


def test_labels_are_category_ids_not_indices(tmp_path):
    """Sparse category ids stay as they are (the published lists' labels)."""
    data = _inat_json([2, 4])
    data['categories'] = [{'id': 4}, {'id': 2}]
    outs, _ = run_main(TOOL, _dump(tmp_path / 'train2018.json', data))
    assert np.array_equal(read_list_file(outs['train'])[1], [2, 4])
