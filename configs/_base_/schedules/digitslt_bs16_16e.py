# The offline demo's short schedule (DigitsLT IB 100, batch 16; not paper
# numbers): the 30e digits schedule's shape (SGD, a 2-epoch linear warm-up
# from lr / 3, then cosine annealing to the last epoch) over 16 epochs at lr
# 0.03, with one validation, at the end: 304 steps of batch 16 on the 304
# training images (at batch 64 and lr 0.05, XE did not fit the medium
# classes in this budget).
_base_ = ['./digitslt_bs64_30e.py']

optim_wrapper = dict(optimizer=dict(lr=0.03))
train_cfg = dict(max_epochs=16, val_interval=16)
auto_scale_lr = dict(base_batch_size=16)
