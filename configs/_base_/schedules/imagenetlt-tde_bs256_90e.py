# The TDE recipe on ImageNet-LT (Tang et al., NeurIPS 2020, used by the xERM
# paper for TDE and xERM-TDE): imagenetlt_bs256_90e.py with lr 0.1 for the
# batch of 256. The authors trained with batch 512 and lr 0.2: on two
# devices,
#   tools/dist_train.sh CONFIG 2 --auto-scale-lr
# runs 2 x 256 = 512 with lr 0.1 * 512 / 256 = 0.2 (auto_scale_lr's
# base_batch_size is 256).
_base_ = ['./imagenetlt_bs256_90e.py']

optim_wrapper = dict(optimizer=dict(lr=0.1))
