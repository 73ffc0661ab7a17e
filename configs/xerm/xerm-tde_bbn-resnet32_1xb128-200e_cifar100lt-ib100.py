# xERM-TDE (reference.md section 2) on CIFAR100-LT IB 100: a causal-norm (TDE)
# student trained with the xERM loss from ONE frozen TDE teacher network, whose
# TE logits are the imbalanced view and whose counterfactual TDE logits the
# balanced view. The student predicts with its TE output (no effect removal) on
# every test set.
#   tools/train.py configs/tde/tde_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
_base_ = ['../tde/tde_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py']

teacher_config = (
    'xerm_mm::tde/tde_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py')
teacher_checkpoint = ('work_dirs/tde_bbn-resnet32_1xb128-200e_cifar100lt-ib100'
                      '/epoch_200.pth')

model = dict(
    type='XERMClassifier',
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
    # The authors' xERM-TDE student starts fresh.
    init_student_from_teacher=False,
    head=dict(
        predict_view='imbalanced',
        # gamma 2 (paper, CIFAR100-LT); the authors' PC config used 1.5.
        loss=dict(_delete_=True, type='XERMLoss', gamma=2.0)))
# xERM student: weight decay 1e-4 (reference.md section 6).
optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))
custom_hooks = [
    # Only acts with lr_dependent_momentum=True.
    dict(type='TDEMomentumHook'),
    # Loads and checks the teachers, logs their val accuracy.
    dict(type='XERMTeacherHook'),
    # Per-epoch mean / min / max of the xERM weights.
    dict(type='XERMWeightStatsHook'),
]
