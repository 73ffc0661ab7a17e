# RIDE (Wang et al., ICLR 2021) with 2 experts, as the xERM authors' release
# trains it (github.com/BeierZhu/xERM, xERM.RIDE.public; docs/methods.md,
# RIDE): the multi-expert CIFAR ResNet-32 (shared stem and stage 1, stages 2
# and 3 of widths 24 / 48 per expert), one cosine classifier (scale 30) per
# expert, logits averaged; trained with the sum over the experts of an LDAM
# cross-entropy (RIDELoss). It predicts with PC on the averaged logits,
# subtracting the log training prior twice (tau=2) as the authors' RIDE-PC.
# The training class counts (PC and the LDAM margins) come from the dataset
# (SetTrainClassCountsHook) and are saved in checkpoints.
num_experts = 2
model = dict(
    type='ImageClassifier',
    backbone=dict(type='xerm_mm.RIDEResNet32', num_experts=num_experts),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='xerm_mm.RIDEHead',
        num_classes=100,
        in_channels=num_experts * 48,
        num_experts=num_experts,
        scale=30.0,
        tau=2.0,
        predict_view='balanced',
        loss=dict(type='xerm_mm.RIDELoss', max_margin=0.5, scale=30.0),
    ))
custom_hooks = [dict(type='xerm_mm.SetTrainClassCountsHook')]
