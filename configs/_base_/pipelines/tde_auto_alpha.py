# TDE with its alpha chosen from data, for the short-schedule pipelines
# (alpha 1.5 of the TDE configs is tuned for 200 epochs). Post-hoc stage
# `tde_alpha` runs tools/analysis_tools/choose_tde_alpha.py on the final
# checkpoint of stage `tde` (on a held-out balanced validation split where
# the dataset has one, else alpha = 1 / mean cos over the training images)
# and trains nothing; `xerm_tde_alpha` is xERM-TDE over that TDE with the
# chosen alpha (in its teacher config). Evaluated as TDE-auto-alpha and
# xERM-TDE-auto-alpha. A pipeline config adds these lists to the stages and
# evaluations of xerm_teachers_students.py (new names: the work dir's
# existing stages are kept), `{}` filled as there.
tde_auto_alpha_stages = [
    dict(name='tde_alpha', config='xerm_mm::tde/tde_{}.py', post_hoc='tde',
         chooser='tools/analysis_tools/choose_tde_alpha.py'),
    dict(name='xerm_tde_alpha', config='xerm_mm::xerm/xerm-tde_{}.py',
         teacher='tde_alpha'),
]
tde_auto_alpha_evaluations = [
    dict(name='TDE-auto-alpha', stage='tde_alpha'),
    dict(name='xERM-TDE-auto-alpha', stage='xerm_tde_alpha'),
]
