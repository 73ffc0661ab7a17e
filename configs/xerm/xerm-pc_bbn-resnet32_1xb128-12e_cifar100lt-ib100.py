# xERM-PC (reference.md section 2) on CIFAR100-LT IB 100: the XE network
# (linear classifier) trained as a student with the xERM loss from ONE frozen
# PC teacher network, whose plain logits are the imbalanced view and whose
# post-compensated logits (logits - log prior_train) the balanced view. The
# student predicts with its plain output on every test set.
# Short schedule (12 epochs, for CPU runs, not paper numbers) of
# xerm-pc_bbn-resnet32_1xb128-200e_cifar100lt-ib100.py.
# The PC teacher needs no training of its own: its checkpoint is the XE one.
#   tools/train.py configs/xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py
#   tools/train.py THIS_CONFIG [--cfg-options model.teacher.checkpoint=PATH]
# (XERMTeacherHook sets the teacher's training class counts from the
# dataset when the checkpoint has none.)
_base_ = ['../xe/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py']

teacher_config = 'xerm_mm::pc/pc_bbn-resnet32_1xb128-12e_cifar100lt-ib100.py'
teacher_checkpoint = ('work_dirs/xe_bbn-resnet32_1xb128-12e_cifar100lt-ib100'
                      '/epoch_12.pth')

model = dict(
    type='XERMClassifier',
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
    # The authors start the xERM-PC student from the teacher's weights.
    init_student_from_teacher=True,
    # gamma 2 (paper, CIFAR100-LT); the authors' PC config used 1.5.
    head=dict(loss=dict(_delete_=True, type='XERMLoss', gamma=2.0)))
# xERM student: weight decay 1e-4 (reference.md section 6).
optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))
custom_hooks = [
    # Loads and checks the teachers, logs their val accuracy.
    dict(type='XERMTeacherHook'),
    # Per-epoch mean / min / max of the xERM weights.
    dict(type='XERMWeightStatsHook'),
]
