"""Experiments (pipeline configs) planned as tool commands, run by Snakemake."""
from .plan import Plan, Step, make_plan

__all__ = ['Plan', 'Step', 'make_plan']
