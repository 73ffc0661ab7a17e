"""Load and check the xERM teachers before the first training step."""
import random
from contextlib import contextmanager
from typing import Optional

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.hooks import Hook

from xerm_mm.evaluation.metrics.long_tail import LongTailMetric
from xerm_mm.models.heads import VIEWS
from xerm_mm.registry import HOOKS
from xerm_mm.utils.model import unwrap_model

_TDE_NOT_TRAINED = ("the TDE teacher's moving average was never updated: is "
                    'the checkpoint a trained TDE model?')


@contextmanager
def _rng_kept():
    """Restore the python / numpy / torch RNGs (random transforms)."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def _val_loader(runner):
    return None if runner.val_loop is None else runner.val_loop.dataloader


def _long_tail_metric(runner) -> Optional[LongTailMetric]:
    if runner.val_loop is None:
        return None
    metrics = getattr(runner.val_loop.evaluator, 'metrics', [])
    return next((m for m in metrics if isinstance(m, LongTailMetric)), None)


@HOOKS.register_module()
class XERMTeacherHook(Hook):
    """Load the teachers of an ``XERMClassifier``; check them before training.

    ``before_train`` (after ``load_or_resume``) loads them, checks their
    classes, normalisation and balanced view, runs one batch, logs their
    accuracy on the val set and, on a fresh start, applies
    ``init_student_from_teacher`` (docs/methods.md, "xERM").

    Args:
        log_teacher_accuracy (bool): Evaluate and log the teacher views on
            the val set before training. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self, log_teacher_accuracy: bool = True) -> None:
        self.log_teacher_accuracy = log_teacher_accuracy
        self.checkpoint_loaded = False

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Note that the runner loaded or resumed the student's weights."""
        self.checkpoint_loaded = True

    def before_train(self, runner) -> None:
        model = unwrap_model(runner)
        if not hasattr(model, 'load_teachers'):
            raise TypeError('XERMTeacherHook needs an XERMClassifier, got '
                            f'{type(model).__name__}')
        model.load_teachers()
        self._check_teachers(runner, model)
        self._check_forward(runner, model)
        if self.log_teacher_accuracy and _val_loader(runner) is not None:
            self._log_accuracy(runner, model)
        if model.init_student_from_teacher:
            self._init_student(runner, model)

    # --- checks --------------------------------------------------------
    def _check_teachers(self, runner, model) -> None:
        metainfo = runner.train_dataloader.dataset.metainfo
        num_classes = len(metainfo['classes'])
        student = getattr(model.head, 'num_classes', None)
        if student is not None and student != num_classes:
            raise ValueError(
                f'the student head has {student} classes, the training '
                f'dataset {num_classes} (set model.head.num_classes)')
        for role, teacher in model.teachers.items():
            n = getattr(teacher.head, 'num_classes', None)
            if n is not None and n != num_classes:
                raise ValueError(
                    f'{role} has {n} classes, the training dataset '
                    f'{num_classes}: model.{role}.config '
                    f'{model.teacher_specs[role]["config"]!r} is a teacher '
                    'for another dataset')
            self._check_preprocessing(model, teacher, role)
        for role, teacher in model.view_teachers().items():
            head = teacher.head
            if hasattr(head, 'has_class_counts') and not head.has_class_counts:
                counts = metainfo.get('train_class_counts')
                if counts is None:
                    raise KeyError(
                        f'{role}: its {type(head).__name__} has no training '
                        'class counts and the training dataset has no '
                        "metainfo['train_class_counts']")
                head.set_class_counts(counts)
                runner.logger.info(f'{role}: training class counts set from '
                                   f'the training dataset ({sum(counts)} '
                                   'images)')
            if hasattr(head, 'num_updates') and int(head.num_updates) == 0:
                path = model.teacher_specs[role]['checkpoint']
                raise RuntimeError(f'{role}: {_TDE_NOT_TRAINED} ({path!r}; '
                                   f'override model.{role}.checkpoint)')

    @staticmethod
    def _check_preprocessing(model, teacher, role: str) -> None:
        ours = model.data_preprocessor
        theirs = getattr(teacher, 'data_preprocessor', None)
        for name in ('mean', 'std'):
            a, b = getattr(ours, name, None), getattr(theirs, name, None)
            if a is None or b is None:
                continue
            if a.shape != b.shape or not torch.allclose(
                    a.detach().cpu().float(), b.detach().cpu().float()):
                raise ValueError(
                    f'{role} normalises its inputs with {name} '
                    f'{b.flatten().tolist()}, the student with '
                    f'{a.flatten().tolist()}; the teachers see the '
                    "student's preprocessed batch, so they must match")

    def _check_forward(self, runner, model) -> None:
        loader = _val_loader(runner)
        with _rng_kept():
            if loader is not None:
                batch = next(iter(loader))
            else:
                batch = pseudo_collate([runner.train_dataloader.dataset[0]])
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                data = model.data_preprocessor(batch, False)
                inputs, samples = data['inputs'], data['data_samples']
                scores = model.teacher_scores(inputs)
                num_classes = len(
                    runner.train_dataloader.dataset.metainfo['classes'])
                for view, score in scores.items():
                    if tuple(score.shape) != (inputs.size(0), num_classes):
                        raise ValueError(
                            f'the {view} teacher score has shape '
                            f'{tuple(score.shape)}, expected '
                            f'({inputs.size(0)}, {num_classes})')
                model.loss(inputs, samples)
        except Exception as error:
            raise RuntimeError('XERMTeacherHook: the check forward of the '
                               f'teachers and the student failed: {error}'
                               ) from error
        finally:
            model.train(was_training)

    # --- teacher accuracy ----------------------------------------------
    def _log_accuracy(self, runner, model) -> None:
        loader = _val_loader(runner)
        dataset = loader.dataset
        metric = _long_tail_metric(runner)
        counts = (metric.train_class_counts if metric is not None
                  and metric.train_class_counts else
                  dataset.metainfo.get('train_class_counts'))
        if counts is None:
            runner.logger.warning(
                'XERMTeacherHook: the val dataset has no '
                "metainfo['train_class_counts']; teacher accuracy not logged")
            return
        kwargs = {}
        if metric is not None:
            kwargs = dict(many_thr=metric.many_thr, few_thr=metric.few_thr)
        evaluators = {
            view: Evaluator(
                LongTailMetric(train_class_counts=counts,
                               prefix=f'teacher_{view}',
                               **kwargs))
            for view in VIEWS
        }
        with torch.no_grad():
            for batch in loader:
                data = model.data_preprocessor(batch, False)
                scores = model.teacher_scores(data['inputs'])
                for view, evaluator in evaluators.items():
                    evaluator.process([
                        dict(pred_label=pred, gt_label=sample.gt_label)
                        for pred, sample in zip(scores[view].argmax(dim=1),
                                                data['data_samples'])
                    ])
        for view, evaluator in evaluators.items():
            r = evaluator.evaluate(len(dataset))
            r = {k.split('/', 1)[1]: v for k, v in r.items()}
            runner.logger.info(
                f'xERM teacher {view} view on the val set ({len(dataset)} '
                f'images): top1 {r["top1"]:.2f}, many / medium / few recall '
                f'{r["many_recall"]:.2f} / {r["medium_recall"]:.2f} / '
                f'{r["few_recall"]:.2f}')

    # --- student initialisation ----------------------------------------
    def _init_student(self, runner, model) -> None:
        if runner.iter != 0 or self.checkpoint_loaded:
            runner.logger.info(
                'init_student_from_teacher: skipped, the student weights '
                'were resumed or loaded')
            return
        copied = model.init_from_teacher()
        total = sum(1 for name in model.state_dict()
                    if name.startswith(('backbone.', 'neck.', 'head.')))
        runner.logger.info(f'init_student_from_teacher: copied {copied} of '
                           f'{total} student tensors from the teacher')
