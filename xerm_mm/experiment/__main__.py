"""``python -m xerm_mm.experiment PIPELINE_CONFIG``: see :mod:`.run`."""
from .run import main

main()
