"""The xERM student over a RIDE teacher, trained per expert."""
from typing import Dict

import torch

from xerm_mm.registry import MODELS
from .xerm_classifier import SINGLE, XERMClassifier, _float32_head


@MODELS.register_module()
class RIDEXERMClassifier(XERMClassifier):
    """An :class:`XERMClassifier` whose loss gets the teacher's experts: the
    single teacher's ``head.expert_views`` give the per-expert xERM of
    :class:`~xerm_mm.models.losses.RIDEXERMLoss`.

    Args:
        **kwargs: Those of :class:`XERMClassifier`, with ``teacher=``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        teacher = self._teachers.get(SINGLE)
        if teacher is None or not hasattr(teacher.head, 'expert_views'):
            name = (type(teacher.head).__name__
                    if teacher is not None else 'no single teacher')
            raise ValueError(
                'RIDEXERMClassifier needs teacher=dict(config=..., '
                'checkpoint=...) whose head has expert_views() (RIDEHead); '
                f'got {name}. Use XERMClassifier for other teachers.')

    @torch.no_grad()
    def loss_teacher_scores(self,
                            inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``{'imbalanced': (N, K, C), 'balanced': (N, K, C)}`` float32."""
        self._ready_teachers()
        teacher = self._teachers[SINGLE]
        return _float32_head(teacher.head.expert_views,
                             teacher.extract_feat(inputs))
