"""Run the whole method: ``python tools/run_pipeline.py PIPELINE_CONFIG``.

Trains every stage of the pipeline config (teachers, then xERM students),
evaluates the methods on the balanced and the imbalanced test sets, and
writes ``report.json`` and ``report.md`` (the paper's Tables 1 and 4) in the
work dir. Run it again after an interruption: finished stages and
evaluations are kept, an interrupted stage resumes.
"""
import argparse
import sys

from xerm_mm.apis import Pipeline, PipelineError


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='pipeline config file')
    parser.add_argument(
        '--work-dir', help='root of the stages (default work_dirs/NAME)')
    parser.add_argument(
        '--data-root',
        help='folder of the dataset, passed to every training and test')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value overrides for every training and test config')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        pipeline = Pipeline(
            args.config,
            work_dir=args.work_dir,
            data_root=args.data_root,
            cfg_options=args.cfg_options)
        pipeline.run()
    except (PipelineError, FileNotFoundError) as e:
        sys.exit(f'run_pipeline: {e}')
    with open(f'{pipeline.work_dir}/report.md') as f:
        print(f.read())


if __name__ == '__main__':
    main()
