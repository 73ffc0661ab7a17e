# What every xERM student (docs/methods.md, xERM) shares: the classifier that
# trains against frozen teachers, the xERM loss on its head, the hooks, and
# the students' weight decay on CIFAR. A student model base merges it onto
# its network (xerm-pc_bbn-resnet32.py, xerm-tde_bbn-resnet32.py,
# xerm-pc_resnext50.py, ...):
#   _base_ = [NETWORK, './xerm_student.py']
#   model = dict(type=_base_.xerm_classifier,
#                head=dict(loss=dict(_base_.xerm_loss, _delete_=True)))
xerm_classifier = 'xerm_mm.XERMClassifier'
# gamma 2 (paper, CIFAR100-LT); the authors' PC config used 1.5. A dataset
# with another gamma overrides it: dict(_base_.xerm_loss, gamma=..., ...).
xerm_loss = dict(type='xerm_mm.XERMLoss', gamma=2.0)
xerm_hooks = [
    # Loads and checks the teachers, logs their val accuracy.
    dict(type='xerm_mm.XERMTeacherHook'),
]
# The loss logs the mean xERM weights w_imba, w_ba of every iteration;
# LogProcessor adds their mean / min / max over the epoch's iterations so far
# (the epoch's last iteration is always logged: default_runtime.py).
log_processor = dict(custom_cfg=[
    dict(data_src=weight, log_name=f'{weight}_epoch_{stat}',
         method_name=stat, window_size='epoch')
    for weight in ('w_imba', 'w_ba') for stat in ('mean', 'min', 'max')
])
# The paper's student weight decay on CIFAR (Zhu et al., AAAI 2022). A CIFAR
# recipe applies it onto its schedule's optimizer:
#   optim_wrapper = dict(optimizer=dict(weight_decay=_base_.xerm_weight_decay))
# The large benchmarks' students, and the 200-epoch CIFAR xERM-TDE ones (the
# authors' xERM-TDE code), keep their teacher's weight decay.
xerm_weight_decay = 1e-4
