# mmpretrain's ResNet-50 and ResNet-152 (2048-d feature) for the large
# benchmarks, picked by a recipe with
#   model = dict(backbone=_base_.backbones.NAME)
# `resnet50` from scratch (iNaturalist 2018), `resnet50_in1k` and
# `resnet152_in1k` initialised from ImageNet-pretrained weights
# (Places365-LT), read from a LOCAL file before training (XERMRunner stops
# first with an error naming it when it is missing). Get mmpretrain's:
#   wget -P checkpoints https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth
#   wget -P checkpoints https://download.openmmlab.com/mmclassification/v0/resnet/resnet152_8xb32_in1k_20210901-4d7582fa.pth
# or give another file (or an http(s) URL, downloaded by MMEngine) with
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# A torchvision file (resnet152-*.pth: the same parameter names without
# the `backbone.` prefix) also needs model.backbone.init_cfg.prefix=None.
backbones = {
    name: dict(
        type='ResNet',
        depth=depth,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        init_cfg=None if weights is None else dict(
            type='Pretrained',
            checkpoint=f'checkpoints/{weights}',
            prefix='backbone.'))
    for name, depth, weights in (
        ('resnet50', 50, None),
        ('resnet50_in1k', 50, 'resnet50_8xb32_in1k_20210831-ea4938fc.pth'),
        ('resnet152_in1k', 152, 'resnet152_8xb32_in1k_20210901-4d7582fa.pth'),
    )
}
