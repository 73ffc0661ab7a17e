"""What a finished step of an experiment was made from (its manifest).

A stage's manifest is ``{work_dir}/{stage}/manifest.json``; an evaluation's
is ``{work_dir}/eval/{name}.manifest.json``. Both are written atomically::

    {"kind": "stage", "name": "xe", "state": "training" | "done",
     "inputs": {"config": "<file>", "config_sha256": "<sha256 of the
                resolved config, overrides merged>",
                "cfg_options": ["train_cfg.max_epochs=4", ...],
                "data_root": null,
                "teachers": {"teacher": {"stage": "xe",
                                         "sha256": "<its checkpoint's>"}}},
     "checkpoint": {"file": "epoch_4.pth", "sha256": "...", "epoch": 4}}

    {"kind": "evaluation", "name": "XE", "state": "done",
     "inputs": {"stage": "xe", "config": ..., "config_sha256": ...,
                "cfg_options": [...], "data_root": null,
                "checkpoint": {"file": "epoch_4.pth", "sha256": "..."}},
     "metrics": {"file": "XE.json", "sha256": "..."}}

A step is done when its manifest's ``inputs`` equal the ones of this run
and its output still has the recorded digest; otherwise it is redone (a
stage retrained with other options gets another checkpoint digest, which
redoes its evaluations and its students).
"""
import hashlib
import json
import math
import os.path as osp
from typing import Optional

import torch

from xerm_mm.utils.atomic import atomic_write
from xerm_mm.utils.checkpoint import checkpoint_safe_globals


def config_digest(cfg) -> str:
    """The sha256 of a resolved :class:`~mmengine.config.Config`."""
    text = json.dumps(cfg.to_dict(), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def read_manifest(path: str) -> Optional[dict]:
    """The manifest at ``path``; None if there is none (or it is unreadable,
    which makes its step redone)."""
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def write_manifest(manifest: dict, path: str) -> None:
    with atomic_write(path) as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


def checkpoint_problem(path: str,
                       max_epochs: Optional[int] = None) -> Optional[str]:
    """What is wrong with the checkpoint ``path``, or None.

    It must load with ``torch.load(weights_only=True)``, hold a
    ``state_dict`` of finite weights and, with ``max_epochs``, have been
    saved at that epoch (``meta.epoch``).
    """
    if not osp.isfile(path):
        return 'does not exist'
    try:
        with checkpoint_safe_globals():
            ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # truncated, not a checkpoint, ...
        return f'does not load ({type(error).__name__}: {error})'
    state = ckpt.get('state_dict') if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state:
        return 'holds no state_dict'
    bad = [
        key for key, value in state.items()
        if torch.is_tensor(value) and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]
    if bad:
        return (f'has non-finite weights ({len(bad)} tensors, e.g. '
                f'{bad[0]}): the training diverged')
    if max_epochs is not None:
        epoch = (ckpt.get('meta') or {}).get('epoch')
        if not isinstance(epoch, (int, float)) or math.isnan(epoch) or int(
                epoch) != max_epochs:
            return (f'was saved at epoch {epoch}, not at the configured '
                    f'max_epochs {max_epochs}')
    return None
