# Decoupling's cRT: a new linear classifier, on the frozen XE
# network (bbn-resnet32_decoupled.py), trained with class-balanced sampling.
_base_ = ['./bbn-resnet32_decoupled.py']

model = dict(head=dict(type='xerm_mm.CRTHead'))
