"""FLOPs and parameters of every model of the metafiles: written or checked.

For each entry of ``configs/*/metafile.yml``, the whole inference forward
(backbone, neck and head) measured by MMEngine's
``get_model_complexity_info`` on one image of the training crop's size:
``python tools/analysis_tools/metafile_complexity.py [--check]`` (``--check``
exits with status 1 naming each entry that differs).
"""
import argparse
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import yaml
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def metafiles(root: str = ROOT) -> List[str]:
    """The metafiles ``model-index.yml`` imports (repo-relative)."""
    with open(osp.join(root, 'model-index.yml')) as f:
        return list(yaml.safe_load(f)['Import'])


def input_size(cfg: Config) -> int:
    """Side of the training crop (RandomCrop / RandomResizedCrop), else 32."""
    for step in cfg.get('train_pipeline') or \
            cfg.train_dataloader.dataset.get('pipeline') or []:
        if step.get('type', '').split('.')[-1] in ('RandomCrop',
                                                   'RandomResizedCrop'):
            size = step.get('crop_size', step.get('scale'))
            return int(size if isinstance(size, int) else size[0])
    return 32


def measure(config: str,
            cache: Optional[Dict[tuple, Tuple[int, int]]] = None
            ) -> Tuple[int, int]:
    """``(FLOPs, parameters)`` of a config's model on one image.

    Args:
        config (str): The config file.
        cache (dict, optional): Results by model architecture and input
            size, to measure each architecture once.
    """
    import xerm_mm  # noqa: F401  'xerm_mm::' configs of the teachers
    from mmpretrain import get_model
    cfg = Config.fromfile(config)
    size = input_size(cfg)
    model = get_model(cfg)
    model.eval()
    # Heads / losses that adjust logits by the training class counts need
    # some to run; their values do not change the counts measured here.
    for module in model.modules():
        if hasattr(module, 'set_class_counts') and \
                not getattr(module, 'has_class_counts', True):
            module.set_class_counts([1] * cfg.model.head.num_classes)
    # Modules, and the shapes of parameters a module's repr does not show.
    key = (repr(model), size) + tuple(
        (name, tuple(tensor.shape)) for name, tensor in
        list(model.named_parameters()) + list(model.named_buffers()))
    if cache is not None and key in cache:
        return cache[key]
    model.forward = lambda inputs: type(model).forward(
        model, inputs, mode='tensor')
    with torch.no_grad():
        result = get_model_complexity_info(model, (3, size, size),
                                           show_table=False, show_arch=False)
    counts = int(result['flops']), int(result['params'])
    if cache is not None:
        cache[key] = counts
    return counts


def _blocks(lines: List[str]) -> Dict[str, Tuple[int, int]]:
    """Line span of each model entry (``  - Name: X``) of a metafile."""
    starts = [(i, m.group(1)) for i, line in enumerate(lines)
              for m in [re.match(r'  - Name: (\S+)\s*$', line)] if m]
    models_at = next(i for i, line in enumerate(lines)
                     if line.startswith('Models:'))
    starts = [(i, name) for i, name in starts if i > models_at]
    ends = [i for i, _ in starts[1:]] + [len(lines)]
    return {name: (i, end) for (i, name), end in zip(starts, ends)}


def set_counts(text: str, counts: Dict[str, Tuple[int, int]]) -> str:
    """``text`` of a metafile with ``FLOPs`` and ``Parameters`` first in
    the ``Metadata`` of each model in ``counts``."""
    lines = text.splitlines()
    for name, (start, end) in sorted(_blocks(lines).items(),
                                     key=lambda item: -item[1][0]):
        if name not in counts:
            continue
        block = [line for line in lines[start:end]
                 if not re.match(r'      (FLOPs|Parameters): ', line)]
        at = block.index('    Metadata:') + 1
        flops, params = counts[name]
        block[at:at] = [f'      FLOPs: {flops}', f'      Parameters: {params}']
        lines[start:end] = block
    return '\n'.join(lines) + '\n'


def run(paths: Sequence[str], check: bool, root: str = ROOT) -> List[str]:
    """Measure the entries of ``paths``; write them, or return the
    differences (``check``)."""
    cache: Dict[tuple, Tuple[int, int]] = {}
    problems = []
    for path in paths:
        with open(osp.join(root, path)) as f:
            text = f.read()
        counts = {}
        for model in yaml.safe_load(text)['Models']:
            counts[model['Name']] = measure(
                osp.join(root, model['Config']), cache)
            meta = model.get('Metadata', {})
            stated = meta.get('FLOPs'), meta.get('Parameters')
            if check and stated != counts[model['Name']]:
                problems.append(
                    f'{path}: {model["Name"]}: FLOPs, Parameters are '
                    f'{stated}, measured {counts[model["Name"]]}')
        if not check:
            new = set_counts(text, counts)
            if new != text:
                with open(osp.join(root, path), 'w') as f:
                    f.write(new)
                print(f'metafile_complexity: wrote {path}')
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('metafiles', nargs='*',
                        help='repo-relative metafiles (default: all that '
                        'model-index.yml imports)')
    parser.add_argument('--check', action='store_true',
                        help='compare with the metafiles, write nothing')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    problems = run(args.metafiles or metafiles(), args.check)
    for problem in problems:
        print(problem)
    if problems:
        print(f'metafile_complexity: {len(problems)} entries differ; run '
              'python tools/analysis_tools/metafile_complexity.py to '
              'write the measured counts')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
