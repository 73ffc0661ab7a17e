# mmpretrain's runtime, with what differs here.
_base_ = ['mmpretrain::_base_/default_runtime.py']

# Plain type names resolve in xerm_mm's registries, then mmpretrain's.
default_scope = 'xerm_mm'
# Config.fromfile imports xerm_mm, so that the scoped type names of
# the configs ('xerm_mm.BBNResNet32', ...) resolve in mmpretrain's and
# MMEngine's own entry points too (get_model, tools, RUNNERS.build).
custom_imports = dict(imports=['xerm_mm'], allow_failed_imports=False)
# MMEngine's Runner plus weights-only-safe checkpoints and CPU (gloo) DDP.
runner_type = 'xerm_mm.XERMRunner'

default_hooks = dict(
    # MMEngine's RuntimeInfoHook, but the steps' losses reach the message
    # hub (and the host) only when the logger writes: no host sync in the
    # other training steps.
    runtime_info=dict(type='xerm_mm.DeferredRuntimeInfoHook'),
    # ignore_last=False: the last iteration of every epoch is logged too
    # (with the xERM weights' statistics over the whole epoch).
    logger=dict(interval=50, ignore_last=False),
    # Keep the last checkpoint (for --resume) and the best balanced top-1.
    checkpoint=dict(max_keep_ckpts=2, save_best='lt/top1', rule='greater'),
    # Stop at the first NaN/inf loss; never save diverged weights.
    non_finite_guard=dict(type='xerm_mm.NonFiniteGuardHook'),
    # Distributed runs: every process's BatchNorm running statistics are
    # averaged at the end of each training epoch (MMEngine's hook, NORMAL
    # priority), so validation and the checkpoints saved after it (the
    # CheckpointHook runs last) use the same, synchronised buffers: the
    # logged val numbers are those of the saved checkpoint. Nothing happens
    # in a one-process run.
    sync_buffers=dict(type='SyncBuffersHook'),
    # Exact --resume: the python / numpy / torch / sampler random states in
    # every checkpoint, and the dataloader workers reseeded each epoch from
    # (seed, epoch, rank, worker id), persistent workers included.
    rng_state=dict(type='xerm_mm.RNGStateHook'),
)
# load_from / --resume (XERMRunner): every key and shape of the checkpoint
# must be the model's; False loads the matching part only (tools/test.py:
# --no-strict-load).
load_strict = True
# On a machine without CUDA, XERMRunner uses gloo instead of env_cfg's nccl.
# XERMRunner puts the model in channels-last layout before training or
# testing (faster convolutions on CPU and GPU; the same weights in the
# checkpoints); 'contiguous_format' keeps PyTorch's default layout.
memory_format = 'channels_last'
# Every recipe's images have one shape: cuDNN picks its fastest convolutions
# once (no effect on a CPU).
env_cfg = dict(cudnn_benchmark=True)

# mmpretrain's visualizer, its matplotlib figure made when it first draws
# (a training or test that draws nothing starts 0.25 s sooner).
visualizer = dict(type='xerm_mm.DeferredFigureVisualizer')

# TensorBoard (optional, `pip install tensorboard`): uncomment to log to it
# as well, or for one run write to it instead of the local JSON files with
#   --cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend
# visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
#                                 dict(type='TensorboardVisBackend')])

randomness = dict(seed=0)
