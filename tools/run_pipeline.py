"""Run an experiment: ``python tools/run_pipeline.py PIPELINE_CONFIG``.

The stages of a pipeline config (teachers, students, post-hoc choosers),
its evaluations and its report, run by Snakemake
(:mod:`xerm_mm.experiment`): a rerun does only what is not up to date,
``--dry-run`` shows what would run and why, ``--engine-options`` passes
Snakemake options, ``--slurm`` submits the steps as SLURM jobs. Options
and the work dir's layout: docs/methods.md ("The pipeline", "On Snakemake").
"""
import sys

from xerm_mm.experiment.run import main

if __name__ == '__main__':
    sys.exit(main())
