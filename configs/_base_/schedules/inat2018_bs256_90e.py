# The iNaturalist 2018 recipe: batch 256, SGD momentum 0.9, lr 0.1, weight
# decay 1e-4, cosine decay to 0 over 90 epochs (the xERM paper: ResNet-50,
# 90 epochs, cosine; the authors published no iNaturalist configuration:
# lr and weight decay are those of the PC / LADE authors' iNaturalist18
# configuration, github.com/hyperconnect/LADE, config/iNaturalist18).
_base_ = ['./imagenetlt_bs256_90e.py']

optim_wrapper = dict(optimizer=dict(lr=0.1, weight_decay=1e-4))
