"""XERMRunner: MMEngine's Runner with plain-data, checked, atomic checkpoints.

Also: CPU-only distributed runs (gloo), ``memory_format``, pretrained files
checked before training, weights-only loading (docs/get_started.md).
"""
import copy
import os
import os.path as osp
from typing import Dict, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import is_distributed, master_only
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.runner import Runner
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_to_model)

from xerm_mm.registry import RUNNERS
from xerm_mm.utils.atomic import commit_file
from xerm_mm.utils.checkpoint import (checkpoint_safe_globals,
                                      make_checkpoint_plain,
                                      restore_message_hub)
from xerm_mm.utils.checkpoint_checks import (check_finite,
                                             check_state_dict_fits,
                                             read_checkpoint, state_dict_of)
from xerm_mm.utils.model import unwrap_model
from xerm_mm.utils.pretrained_checks import check_pretrained_files
from xerm_mm.utils.schedule import check_max_epochs, fit_schedule
from xerm_mm.utils.weights_only import install_weights_only_loaders

# init_cfg Pretrained, load_from URLs: MMEngine's loaders, weights-only.
install_weights_only_loaders()

# How to load a checkpoint that does not fit the model (its matching part).
LENIENT_LOAD_HINT = ('tools/test.py --no-strict-load, or load_strict=False '
                     'in the config (--cfg-options load_strict=False)')


MEMORY_FORMATS = dict(channels_last=torch.channels_last,
                      contiguous_format=torch.contiguous_format)


def memory_format_of(cfg) -> Optional[torch.memory_format]:
    """The ``memory_format`` of a config as a torch memory format."""
    name = cfg.get('memory_format')
    if name is None:
        return None
    if name not in MEMORY_FORMATS:
        raise ValueError(
            f'memory_format must be one of {sorted(MEMORY_FORMATS)} or None, '
            f'got {name!r} (config key memory_format, e.g. --cfg-options '
            'memory_format=contiguous_format)')
    return MEMORY_FORMATS[name]


class FormattedOnceConfig(Config):
    """A Config whose ``pretty_text`` is formatted once per content.

    MMEngine formats the whole config with yapf (0.4-0.7 s for one of ours)
    each time the runner logs it, dumps it and saves a checkpoint; this one
    formats it again only when the config has changed.
    """

    @property
    def pretty_text(self) -> str:
        content = repr(self.to_dict())
        cached = self.__dict__.get('_formatted')
        if cached is None or cached[0] != content:
            cached = (content, super().pretty_text)
            object.__setattr__(self, '_formatted', cached)
        return cached[1]


@RUNNERS.register_module()
class XERMRunner(Runner):
    """The project's runner (``runner_type = 'xerm_mm.XERMRunner'``)."""

    def __init__(self, *args, cfg=None, **kwargs):
        if isinstance(cfg, Config) and not isinstance(cfg,
                                                      FormattedOnceConfig):
            formatted_once = FormattedOnceConfig.__new__(FormattedOnceConfig)
            formatted_once.__dict__.update(cfg.__dict__)
            cfg = formatted_once
        super().__init__(*args, cfg=cfg, **kwargs)

    def setup_env(self, env_cfg: Dict) -> None:
        if (self.distributed and not is_distributed()
                and not torch.cuda.is_available()):
            if self.launcher != 'pytorch':
                raise RuntimeError(
                    f'launcher={self.launcher!r} needs CUDA; on a machine '
                    'without a GPU use torchrun with --launcher pytorch '
                    '(tools/dist_train.sh), which runs on gloo.')
            timeout = env_cfg.get('dist_cfg', {}).get('timeout')
            kwargs = {}
            if timeout is not None:
                import datetime
                kwargs['timeout'] = datetime.timedelta(seconds=timeout)
            torch_dist.init_process_group(
                backend='gloo',
                rank=int(os.environ['RANK']),
                world_size=int(os.environ['WORLD_SIZE']),
                **kwargs)
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: torch.nn.Module):
        memory_format = memory_format_of(self.cfg)
        if memory_format is not None:
            model.to(memory_format=memory_format)
        if self.distributed and not torch.cuda.is_available():
            model_wrapper_cfg = copy.deepcopy(model_wrapper_cfg) or dict(
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters',
                                                    False))
            model_wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
            model_wrapper_cfg['device_ids'] = None
        return super().wrap_model(model_wrapper_cfg, model)

    def train(self) -> torch.nn.Module:
        """As MMEngine's, for any ``train_cfg.max_epochs >= 1``.

        A scheduler phase that begins after the last epoch (the digits
        schedule's cosine, from epoch 2) is left out with a warning instead
        of failing inside MMEngine (:func:`xerm_mm.utils.schedule.
        fit_schedule`), whatever tool runs the training (ours, mmpretrain's,
        ``mim train``).

        A local pretrained file the model is initialised from
        (``init_cfg=dict(type='Pretrained', checkpoint=...)``) must exist:
        checked first, before the datasets are built (:func:`xerm_mm.utils.
        pretrained_checks.check_pretrained_files`).
        """
        check_pretrained_files(self.cfg.get('model'))
        check_max_epochs(self.cfg)
        self.param_schedulers = fit_schedule(self.param_schedulers, self.cfg,
                                             self.logger)
        return super().train()

    def register_default_hooks(self, hooks: Optional[Dict] = None) -> None:
        """As MMEngine's, and ``None`` turns off any default hook.

        MMEngine accepts ``None`` only for its own six default hooks; ours
        (``non_finite_guard``, ``rng_state``, ``sync_buffers``, ...) are
        turned off the same way, e.g. ``--cfg-options
        default_hooks.rng_state=None``.
        """
        if hooks:
            own = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                   'param_scheduler', 'checkpoint')
            hooks = {
                name: hook
                for name, hook in hooks.items()
                if hook is not None or name in own
            }
        super().register_default_hooks(hooks)

    def call_hook(self, fn_name: str, **kwargs) -> None:
        # Before any hook reads a loaded checkpoint: buffers as MMEngine's.
        if fn_name == 'after_load_checkpoint':
            restore_message_hub(kwargs['checkpoint'])
        super().call_hook(fn_name, **kwargs)
        # After every hook has added its part, so the whole file is plain.
        if fn_name == 'before_save_checkpoint':
            make_checkpoint_plain(kwargs['checkpoint'])

    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: Optional[bool] = None,
                        revise_keys=[(r'^module\.', '')]):
        """Load a checkpoint into the model, refusing one that does not fit.

        A local file is read with errors that name it (missing, empty,
        truncated); weights holding NaN/inf are refused; and, unless
        ``strict=False`` (default: the config's ``load_strict``, True when
        unset), every key and shape must be the model's (buffers filled
        later, as PCHead's ``log_prior_train``, may be missing).
        ``resume`` and ``load_from`` both come here.
        """
        if strict is None:
            strict = self.cfg.get('load_strict', True)
        checkpoint = self._read_checkpoint(filename, map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = unwrap_model(self.model)
        source = f'checkpoint {filename!r}'
        state_dict = state_dict_of(checkpoint)
        check_finite(state_dict, source)
        if strict:
            check_state_dict_fits(
                model,
                state_dict,
                source,
                opt_out=LENIENT_LOAD_HINT,
                revise_keys=revise_keys)
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict=False, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    @staticmethod
    def _read_checkpoint(filename: str, map_location) -> dict:
        """A local file through :func:`read_checkpoint` (errors naming it);
        a URL or ``scheme://`` name through MMEngine's loaders."""
        if '://' in filename:
            with checkpoint_safe_globals():
                return _load_checkpoint(filename, map_location=map_location)
        return read_checkpoint(filename, map_location=map_location)

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        """MMEngine's ``save_checkpoint``, atomic on a local disk: the file
        is written as ``.{filename}.{pid}.tmp`` and renamed when complete.
        Other storage backends are written as MMEngine does."""
        backend_args = kwargs.get('backend_args')
        if kwargs.get('file_client_args') is not None or not isinstance(
                get_file_backend(out_dir, backend_args=backend_args),
                LocalBackend):
            return super().save_checkpoint(out_dir, filename, *args,
                                           **kwargs)
        tmp = f'.{filename}.{os.getpid()}.tmp'
        try:
            super().save_checkpoint(out_dir, tmp, *args, **kwargs)
            commit_file(osp.join(out_dir, tmp), osp.join(out_dir, filename))
        except BaseException:
            if osp.exists(osp.join(out_dir, tmp)):
                os.remove(osp.join(out_dir, tmp))
            raise
