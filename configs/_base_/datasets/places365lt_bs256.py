# Places365-LT with batch 256, the authors' batch for ResNet-50
# (github.com/BeierZhu/xERM, xERM.TDE.public/config/Places_LT).
_base_ = ['./places365lt_bs128.py']

train_dataloader = dict(batch_size=256)
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader
