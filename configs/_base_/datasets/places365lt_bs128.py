# Places365-LT (docs/datasets.md): the published OLTR lists
# Places_LT_{train,val,test}.txt in `data_root`, the image paths in them
# relative to `data_root`. The ImageNet-LT data settings of the xERM paper
# (imagenetlt_bs256.py: random resized crop 224, flip, colour jitter
# (0.4, 0.4, 0.4, 0); test: short side 256, centre crop 224; validation on
# the balanced test list; the imbalanced test sets IB 50 / 25 / 10 / 5,
# forward and backward) with batch 128, the authors' batch for ResNet-152
# (github.com/BeierZhu/xERM, xERM.TDE.public/config/Places_LT).
_base_ = ['./imagenetlt_bs256.py']

dataset_type = 'xerm_mm.Places365LT'
data_root = 'data/places365'

data_preprocessor = dict(num_classes=365)
train_dataloader = dict(
    batch_size=128, dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    batch_size=128, dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
