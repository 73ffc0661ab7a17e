# The xERM-RIDE student (2 experts): the RIDE network trained from ONE frozen
# RIDE teacher with the authors' per-expert xERM loss (RIDEXERMLoss, gamma 1:
# the LDAM cross-entropy of every expert and its distillation from the same
# teacher expert's PC distribution, weighted by the teacher's two averaged
# views' cross-entropies). It starts from the teacher's weights (as the
# authors' trainer) and predicts with its plain averaged logits.
# A recipe adds the teacher (model.teacher) and the schedule.
_base_ = ['./ride2-resnet32_pc.py', './xerm_student.py']

model = dict(
    type='xerm_mm.RIDEXERMClassifier',
    init_student_from_teacher=True,
    head=dict(
        predict_view='imbalanced',
        loss=dict(
            type='xerm_mm.RIDEXERMLoss',
            gamma=1.0,
            max_margin=0.5,
            scale=30.0,
            _delete_=True)))
# The class counts first: the check forward of XERMTeacherHook runs the
# student's loss, whose LDAM margins need them.
custom_hooks = [*_base_.custom_hooks, *_base_.xerm_hooks]
