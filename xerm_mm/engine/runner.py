"""MMEngine's Runner with two fixes for this project's machines.

* Checkpoints: the files it writes are plain data, which
  ``torch.load(weights_only=True)`` loads with no allowlist (mmpretrain's
  ``get_model`` and tools, plain ``torch.load``), and ``resume`` still
  restores the logging buffers exactly; files written before, with
  ``PortableHistoryBuffer``, still load (see :mod:`xerm_mm.utils.checkpoint`).
* CPU-only distributed runs: MMEngine's ``pytorch`` launcher calls
  ``torch.cuda.set_device`` and wraps DDP with ``device_ids``; without CUDA
  this runner starts a gloo process group and wraps with ``device_ids=None``.
* Atomic checkpoints: a checkpoint (each epoch's, the best one) is written to
  a temporary name in its folder, ``fsync``-ed and renamed, so a full disk
  or a kill never leaves a truncated file under a checkpoint's name (see
  :mod:`xerm_mm.utils.atomic`).
"""
import copy
import os
import os.path as osp
from typing import Dict, Optional

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed, master_only
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.runner import Runner

from xerm_mm.registry import RUNNERS
from xerm_mm.utils.atomic import commit_file
from xerm_mm.utils.checkpoint import (checkpoint_safe_globals,
                                      make_checkpoint_plain,
                                      restore_message_hub)


@RUNNERS.register_module()
class XERMRunner(Runner):
    """The project's runner (``runner_type = 'xerm_mm.XERMRunner'``)."""

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
        if self.distributed and not torch.cuda.is_available():
            model_wrapper_cfg = copy.deepcopy(model_wrapper_cfg) or dict(
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters',
                                                    False))
            model_wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
            model_wrapper_cfg['device_ids'] = None
        return super().wrap_model(model_wrapper_cfg, model)

    def call_hook(self, fn_name: str, **kwargs) -> None:
        # Before any hook reads a loaded checkpoint: buffers as MMEngine's.
        if fn_name == 'after_load_checkpoint':
            restore_message_hub(kwargs['checkpoint'])
        super().call_hook(fn_name, **kwargs)
        # After every hook has added its part, so the whole file is plain.
        if fn_name == 'before_save_checkpoint':
            make_checkpoint_plain(kwargs['checkpoint'])

    def load_checkpoint(self, filename: str, *args, **kwargs):
        with checkpoint_safe_globals():
            return super().load_checkpoint(filename, *args, **kwargs)

    def resume(self, filename: str, *args, **kwargs) -> None:
        with checkpoint_safe_globals():
            return super().resume(filename, *args, **kwargs)

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
