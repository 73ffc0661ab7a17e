# The Places365-LT recipe (places365lt_bs128_30e.py) with batch 256: the
# authors' ResNet-50 configuration kept the same learning rates.
_base_ = ['./places365lt_bs128_30e.py']

# The recipe's batch, for LR auto-scaling with --auto-scale-lr.
auto_scale_lr = dict(base_batch_size=256)
