# The offline demo's short schedule (DigitsLT IB 100, batch 16; not paper
# numbers): the 30e digits schedule's shape (SGD, a 2-epoch linear warm-up
# from lr / 3, then cosine annealing to the last epoch) over 20 epochs at lr
# 0.03, with one validation, at the end. On the 304 training images, batch
# 16 gives the 380 steps XE needs to fit the head and medium classes.
_base_ = ['./digitslt_bs64_30e.py']

optim_wrapper = dict(optimizer=dict(lr=0.03))
train_cfg = dict(max_epochs=20, val_interval=20)
auto_scale_lr = dict(base_batch_size=16)
