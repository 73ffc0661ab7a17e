# The xERM student over a tau-norm teacher (xerm-balanced_bbn-resnet32.py):
# the teacher is the XE network under a TauNormHead, written out as a model
# dict so that the tau chosen by tools/analysis_tools/choose_tau_norm.py is
# set with --cfg-options model.teacher.config.head.tau=TAU. A recipe adds
# the XE checkpoint (model.teacher.checkpoint), the teacher's
# data_preprocessor (the dataset's) and the weight decay.
_base_ = ['./xerm-balanced_bbn-resnet32.py']

model = dict(
    teacher=dict(
        config=dict(
            type='ImageClassifier',
            backbone=_base_.model.backbone,
            neck=_base_.model.neck,
            head=dict(type='xerm_mm.TauNormHead',
                      num_classes=100,
                      in_channels=128,
                      tau=1.0))))
