"""Base class of the heads with an imbalanced and a balanced view."""
from typing import Any, Dict, List, Optional, Tuple

import torch
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

VIEWS = ('imbalanced', 'balanced')


def check_view(view: str) -> str:
    """Return ``view`` if it is one of :data:`VIEWS`, else raise ValueError."""
    if view not in VIEWS:
        raise ValueError(f'predict_view must be one of {VIEWS}, got {view!r}')
    return view


class TwoViewClsHead(ClsHead):
    """A classification head that scores every sample in two views.

    ``imbalanced`` (what ``forward`` and the loss use) and ``balanced``, from
    one feature pass: subclasses override :meth:`pre_views`,
    :meth:`imbalanced_logits` and :meth:`balanced_logits`.

    Args:
        *args: Positional arguments of the next base class.
        predict_view (str): View used by :meth:`predict`, ``'imbalanced'`` or
            ``'balanced'``. Defaults to ``'balanced'``.
        **kwargs: Arguments of the next base class (``ClsHead``:
            ``loss``, ``topk``, ``cal_acc``, ``init_cfg``).
    """

    def __init__(self, *args, predict_view: str = 'balanced', **kwargs):
        super().__init__(*args, **kwargs)
        self.predict_view = predict_view

    @property
    def predict_view(self) -> str:
        """The view :meth:`predict` returns: 'imbalanced' or 'balanced'."""
        return self._predict_view

    @predict_view.setter
    def predict_view(self, view: str) -> None:
        self._predict_view = check_view(view)

    def pre_views(self, feats: Tuple[torch.Tensor]) -> Any:
        """The one pass over ``feats`` that both views are computed from."""
        raise NotImplementedError

    def imbalanced_logits(self, pre: Any) -> torch.Tensor:
        """``(N, C)`` imbalanced-view logits from :meth:`pre_views`."""
        raise NotImplementedError

    def balanced_logits(self, pre: Any) -> torch.Tensor:
        """``(N, C)`` balanced-view logits from :meth:`pre_views`."""
        raise NotImplementedError

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Training logits: the imbalanced view."""
        return self.imbalanced_logits(self.pre_views(feats))

    def views(self, feats: Tuple[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``{'imbalanced': ..., 'balanced': ...}`` from one pass."""
        pre = self.pre_views(feats)
        return dict(imbalanced=self.imbalanced_logits(pre),
                    balanced=self.balanced_logits(pre))

    def predict(
        self,
        feats: Tuple[torch.Tensor],
        data_samples: Optional[List[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """Predict with the view named by ``predict_view``."""
        pre = self.pre_views(feats)
        if self.predict_view == 'imbalanced':
            cls_score = self.imbalanced_logits(pre)
        else:
            cls_score = self.balanced_logits(pre)
        return self._get_predictions(cls_score, data_samples)
