from .pipeline import Pipeline, PipelineError, build_report, write_report

__all__ = ['Pipeline', 'PipelineError', 'build_report', 'write_report']
