# The xERM-RIDE pipeline (tools/run_pipeline.py) for any RIDE recipe: stage 1
# trains the RIDE teacher, stage 2 the xERM-RIDE student from its final
# checkpoint; then RIDE (the teacher's plain averaged logits), RIDE-PC and
# xERM-RIDE-PC are tested on the balanced and the imbalanced test sets.
# `{}` stands for the recipe; a pipeline config fills it in:
#   recipe = 'ride2-resnet32_1xb128-12e_cifar100lt-ib100'
#   stages = [dict(s, config=s.config.format(recipe)) for s in _base_.stages]
stages = [
    dict(name='ride', config='xerm_mm::ride/ride-pc_{}.py'),
    dict(
        name='xerm_ride',
        config='xerm_mm::ride/xerm-ride-pc_{}.py',
        teacher='ride'),
]
evaluations = [
    dict(
        name='RIDE',
        stage='ride',
        cfg_options={'model.head.predict_view': 'imbalanced'}),
    dict(name='RIDE-PC', stage='ride'),
    dict(name='xERM-RIDE-PC', stage='xerm_ride'),
]
balanced_set = 'balanced'
# The report's summary compares the models with RIDE's plain averaged logits
# (its imbalanced view), the head-biased model of this pipeline.
report = dict(baseline='RIDE')
