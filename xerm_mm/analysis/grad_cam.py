"""Grad-CAM (Selvaraju et al., ICCV 2017) of our classifiers, by grad-cam.

The CAMs are computed by the ``grad-cam`` package (pytorch-grad-cam, the one
mmpretrain's ``tools/visualization/vis_cam.py`` uses; the optional extra
``xerm_mm[cam]``). This module shows it our models: the target layer is the
last feature map of ``model.backbone`` (for BBN-ResNet-32 the two
concatenated branches, ``(N, 128, 8, 8)`` on CIFAR), passed through an
identity layer by a forward hook, and the output is the logits of the view
the model predicts with (``head.views(feats)[head.predict_view]`` for a PC /
TDE head, the plain logits otherwise). Why that release: docs/analysis.md.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn

#: The grad-cam release we use: it needs ``opencv-python`` (ours), not
#: ``opencv-python-headless`` as 1.5 does, and it is the API mmpretrain
#: 1.2.0's vis_cam.py calls (``use_cuda``, dropped in 1.5).
GRAD_CAM_REQUIREMENT = 'grad-cam==1.4.8'


def import_grad_cam():
    """``pytorch_grad_cam``, or an ImportError saying how to install it."""
    try:
        import pytorch_grad_cam
    except ImportError as error:
        raise ImportError(
            'Grad-CAM needs the optional package grad-cam, which is not '
            f"installed: pip install '{GRAD_CAM_REQUIREMENT}' (or, in a "
            "checkout of xerm_mm, pip install -e '.[cam]').") from error
    return pytorch_grad_cam


def predicted_logits(model: nn.Module, feats) -> torch.Tensor:
    """``(N, C)`` logits of the view the model's head predicts with."""
    head = model.head
    if hasattr(head, 'views'):
        return head.views(feats)[head.predict_view]
    return head(feats)


class PredictingView(nn.Module):
    """A classifier as grad-cam sees it: images to the predicting view's
    logits, the backbone's last map passing through ``last_map``.

    Args:
        model (nn.Module): An ImageClassifier (``backbone``, ``neck``,
            ``head``).
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.last_map = nn.Identity()
        self.logits = None

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        handle = self.model.backbone.register_forward_hook(self._last_map)
        try:
            logits = predicted_logits(self.model,
                                      self.model.extract_feat(inputs))
        finally:
            handle.remove()
        self.logits = logits.detach()
        return logits

    def _last_map(self, module, args, output):
        if isinstance(output, (tuple, list)):
            return tuple(output[:-1]) + (self.last_map(output[-1]), )
        return self.last_map(output)


def grad_cam(model: nn.Module,
             inputs: torch.Tensor,
             targets: Optional[torch.Tensor] = None
             ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM of each image for its target class.

    Args:
        model (nn.Module): An ImageClassifier (``backbone``, ``neck``,
            ``head``), in eval mode.
        inputs (Tensor): ``(N, 3, H, W)`` preprocessed images.
        targets (Tensor, optional): ``(N,)`` class of each image's CAM;
            defaults to the predicted class.

    Returns:
        tuple: ``(cams, logits)``: ``(N, H, W)`` CAMs in [0, 1] and the
        ``(N, C)`` logits of the predicting view.
    """
    cam_lib = import_grad_cam()
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    view = PredictingView(model)
    cam = cam_lib.GradCAM(view, [view.last_map])
    try:
        if targets is not None:
            targets = [ClassifierOutputTarget(int(t)) for t in targets]
        # The input needs a gradient when the backbone's weights do not.
        cams = cam(inputs.detach().requires_grad_(), targets)
    finally:
        cam.activations_and_grads.release()
        model.zero_grad(set_to_none=True)  # grad-cam's backward filled them
    return torch.from_numpy(cams), view.logits
