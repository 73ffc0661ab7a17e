# What every xERM student (docs/methods.md, xERM) shares: the classifier that
# trains against frozen teachers, the xERM loss on its head, the hooks, and
# the students' weight decay. The two forms build on it:
# xerm-pc_bbn-resnet32.py and xerm-tde_bbn-resnet32.py.
_base_ = ['./bbn-resnet32_linear.py']

model = dict(
    type='xerm_mm.XERMClassifier',
    # gamma 2 (paper, CIFAR100-LT); the authors' PC config used 1.5.
    head=dict(loss=dict(_delete_=True, type='xerm_mm.XERMLoss', gamma=2.0)))
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
# The paper's student weight decay (Zhu et al., AAAI 2022). A recipe applies
# it onto its schedule's optimizer:
#   optim_wrapper = dict(optimizer=dict(weight_decay=_base_.xerm_weight_decay))
xerm_weight_decay = 1e-4
