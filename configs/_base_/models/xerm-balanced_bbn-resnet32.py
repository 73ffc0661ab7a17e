# The xERM student over a balanced teacher trained on its own (logit
# adjustment, Balanced Softmax, LADE, ...): the student of xERM-PC (the XE
# network with the xERM loss and hooks, xerm-pc_bbn-resnet32.py) trained
# from ONE frozen teacher network whose head gives both views (views():
# imbalanced and balanced logits). It predicts with its plain output on every
# test set. It starts fresh: the teacher's weights give balanced, not plain,
# logits.
# A recipe adds the teacher (model.teacher) and the weight decay.
_base_ = ['./xerm-pc_bbn-resnet32.py']

model = dict(init_student_from_teacher=False)
