"""Tiny xERM students and teachers (ResNet32 1/1/1 blocks, 5 classes) that
the classifier and teacher hook tests build and save."""
import torch
from mmpretrain.structures import DataSample

from xerm_mm.registry import MODELS

C, N = 5, 6
COUNTS = [40, 20, 10, 5, 2]
PRE = dict(num_classes=C, mean=[120., 120., 120.], std=[60., 60., 60.])
BACKBONE = dict(type='ResNet32', stage_blocks=(1, 1, 1))
GAP = dict(type='GlobalAveragePooling')
PREFIXES = ('backbone.', 'neck.', 'head.', 'data_preprocessor.')


def net(head_type, num_classes=C, **head):
    """A tiny classifier config (ResNet32 1/1/1 blocks, 64-d feature)."""
    return dict(
        type='ImageClassifier',
        backbone=BACKBONE,
        neck=GAP,
        head=dict(
            type=head_type, num_classes=num_classes, in_channels=64, **head),
        data_preprocessor=PRE)


TEACHERS = dict(
    tde=net('TDEHead'), pc=net('PCHead', class_counts=COUNTS),
    xe=net('LinearClsHead'))


def batch(n=N, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(
        inputs=[
            torch.randint(0, 256, (3, 16, 16), generator=g,
                          dtype=torch.uint8) for _ in range(n)
        ],
        data_samples=[DataSample().set_gt_label(i % C) for i in range(n)])


def save_teacher(cfg, path, seed=0, train_passes=2):
    """Build a teacher, run train-mode passes (BN stats, TDE average)."""
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    with torch.no_grad():
        for i in range(train_passes):
            data = model.data_preprocessor(batch(seed=10 + i), True)
            model(data['inputs'], mode='tensor')
    torch.save(dict(meta={}, state_dict=model.state_dict()), path)
    return path


def student_cfg(variant, ckpts, **kwargs):
    """Student config of a variant: 'tde', 'pc' (one teacher) or 'two'."""
    loss = dict(type='XERMLoss', gamma=2.0)
    if variant == 'tde':
        head = dict(type='TDEHead', predict_view='imbalanced')
        teachers = dict(teacher=dict(config=TEACHERS['tde'],
                                     checkpoint=ckpts['tde']))
    else:
        head = dict(type='LinearClsHead')
        if variant == 'pc':
            teachers = dict(teacher=dict(config=TEACHERS['pc'],
                                         checkpoint=ckpts['pc']))
        else:
            teachers = dict(
                imbalanced_teacher=dict(config=TEACHERS['xe'],
                                        checkpoint=ckpts['xe']),
                balanced_teacher=dict(config=TEACHERS['tde'],
                                      checkpoint=ckpts['tde']))
    head.update(num_classes=C, in_channels=64, loss=loss)
    cfg = dict(type='XERMClassifier', backbone=BACKBONE, neck=GAP,
               head=head, data_preprocessor=PRE, **teachers)
    cfg.update(kwargs)
    return cfg
