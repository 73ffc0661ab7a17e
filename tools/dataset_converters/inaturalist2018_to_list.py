"""Convert the official iNaturalist 2018 json annotations to list files.

Writes ``iNaturalist18_{train,val}.txt`` (``file_name category_id`` a line)
next to the first json or in ``--out-dir`` (docs/datasets.md).

    python tools/dataset_converters/inaturalist2018_to_list.py \\
        data/inat2018/train2018.json data/inat2018/val2018.json
"""
import argparse
import json
import os.path as osp
import sys
from collections import Counter
from typing import Dict, List, Optional, Tuple

from xerm_mm.utils.atomic import atomic_write_text

LIST_NAME = 'iNaturalist18_{split}.txt'
SPLITS = ('train', 'val')


def _items(data: dict, key: str, fields: Tuple[str, ...],
           path: str) -> List[dict]:
    """``data[key]``, a list of dicts that all hold ``fields``."""
    if not isinstance(data, dict) or key not in data:
        raise KeyError(f'{path}: no "{key}" key at the top level; an official '
                       f'iNaturalist 2018 train/val json has "images", '
                       f'"annotations" and "categories" (the test json has '
                       f'no labels and cannot be converted)')
    items = data[key]
    if not isinstance(items, list):
        raise ValueError(f'{path}: "{key}" must be a list, '
                         f'got {type(items).__name__}')
    for i, item in enumerate(items):
        missing = [
            f for f in fields if not isinstance(item, dict) or f not in item
        ]
        if missing:
            raise KeyError(f'{path}: {key}[{i}] has no "{missing[0]}" key '
                           f'(each entry needs {", ".join(fields)}): '
                           f'{item!r}')
    return items


def convert(data: dict, path: str) -> Tuple[List[str], Counter, int]:
    """The list lines of one parsed json.

    Args:
        data (dict): The parsed json.
        path (str): Its file name, for the error messages.

    Returns:
        tuple: The lines (``file_name category_id``, in image order), the
        images per category id, and the number of categories.

    Raises:
        KeyError: A key is missing.
        ValueError: An image has no annotation or several, an annotation
            names an unknown image or a category outside ``categories``, an
            id is not an integer >= 0, or a file name holds a line break.
    """
    images = _items(data, 'images', ('id', 'file_name'), path)
    annotations = _items(data, 'annotations', ('image_id', 'category_id'),
                         path)
    categories = _items(data, 'categories', ('id', ), path)
    category_ids = set()
    for i, cat in enumerate(categories):
        cid = cat['id']
        if isinstance(cid, bool) or not isinstance(cid, int) or cid < 0:
            raise ValueError(f'{path}: categories[{i}]["id"] must be an '
                             f'integer >= 0 (it is the list label), got '
                             f'{cid!r}')
        category_ids.add(cid)
    image_ids = set()
    for i, img in enumerate(images):
        if img['id'] in image_ids:
            raise ValueError(f'{path}: images[{i}] repeats the image id '
                             f'{img["id"]!r}')
        image_ids.add(img['id'])
    label_of: Dict[object, int] = {}
    for i, ann in enumerate(annotations):
        image_id, cid = ann['image_id'], ann['category_id']
        if image_id not in image_ids:
            raise ValueError(f'{path}: annotations[{i}] names image_id '
                             f'{image_id!r}, which is not in "images"')
        if image_id in label_of:
            raise ValueError(f'{path}: image id {image_id!r} has two '
                             f'annotations (annotations[{i}] is the second); '
                             f'each image needs exactly one')
        if isinstance(cid, bool) or cid not in category_ids:
            raise ValueError(f'{path}: annotations[{i}] has category_id '
                             f'{cid!r}, which is not the id of any entry of '
                             f'"categories"')
        label_of[image_id] = cid
    lines, counts = [], Counter()
    for i, img in enumerate(images):
        name = img['file_name']
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f'{path}: images[{i}]["file_name"] must be a '
                             f'non-empty string, got {name!r}')
        if '\n' in name or '\r' in name or name != name.strip():
            raise ValueError(f'{path}: images[{i}]["file_name"] {name!r} '
                             f'holds a line break or starts/ends with '
                             f'whitespace, which a list file cannot hold')
        if img['id'] not in label_of:
            raise ValueError(f'{path}: image id {img["id"]!r} ({name}) has '
                             f'no annotation; each image needs exactly one')
        label = label_of[img['id']]
        lines.append(f'{name} {label}')
        counts[label] += 1
    return lines, counts, len(category_ids)


def summary(split: str, out: str, counts: Counter, num_cats: int) -> str:
    """One line: images, classes, images per class (max .. min)."""
    images = sum(counts.values())
    empty = num_cats - len(counts)
    per_class = (f'{max(counts.values()):,} .. {min(counts.values()):,}'
                 if counts else '-')
    return (f'{split}: {out}: {images:,} images, {num_cats:,} classes '
            f'({empty:,} without images), images per class {per_class}')


def _json_splits(parser: argparse.ArgumentParser,
                 args: argparse.Namespace) -> Dict[str, str]:
    """Map each split to its json (from --train / --val and the names)."""
    jsons = {}
    for split in SPLITS:
        if getattr(args, split):
            jsons[split] = getattr(args, split)
    for path in args.jsons:
        base = osp.basename(path).lower()
        split = next((s for s in SPLITS if base.startswith(s)), None)
        if split is None:
            parser.error(f'{path}: cannot tell its split from the name '
                         f'(train*.json or val*.json); pass it as --train '
                         f'or --val')
        if split in jsons:
            parser.error(f'two jsons for the {split} split: {jsons[split]} '
                         f'and {path}')
        jsons[split] = path
    if not jsons:
        parser.error('no json given: pass train2018.json and/or '
                     'val2018.json (or --train / --val)')
    return jsons


def main(argv: Optional[List[str]] = None) -> Dict[str, str]:
    """Convert the jsons of ``argv``; return {split: written list path}."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('jsons',
                        nargs='*',
                        help='train2018.json and/or val2018.json')
    parser.add_argument('--train', help='the training json')
    parser.add_argument('--val', help='the validation json')
    parser.add_argument('--out-dir',
                        help='where the lists go (default: the folder of '
                        'the first json, the data root)')
    parser.add_argument('--overwrite',
                        action='store_true',
                        help='replace existing lists')
    args = parser.parse_args(argv)
    jsons = _json_splits(parser, args)
    out_dir = args.out_dir or osp.dirname(
        osp.abspath(next(iter(jsons.values()))))
    outs = {s: osp.join(out_dir, LIST_NAME.format(split=s)) for s in jsons}
    if not args.overwrite:
        for out in outs.values():
            if osp.exists(out):
                raise FileExistsError(f'{out} exists; pass --overwrite to '
                                      f'replace it')
    converted = {}
    for split, path in jsons.items():
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} ({split} json) not found')
        with open(path, encoding='utf-8') as f:
            try:
                data = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}: not valid json: {err}') from err
        converted[split] = convert(data, path)
    for split, (lines, counts, num_cats) in converted.items():
        atomic_write_text(''.join(line + '\n' for line in lines), outs[split])
        print(summary(split, outs[split], counts, num_cats))
    return outs


if __name__ == '__main__':
    main(sys.argv[1:])
