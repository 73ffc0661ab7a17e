from xerm_mm.report import build_report, write_report
from .experiment import Experiment
from .launch import find_tools
from .process import Interrupted
from .validate import ExperimentError

__all__ = [
    'Experiment', 'ExperimentError', 'Interrupted', 'build_report',
    'find_tools',
    'write_report'
]
