"""Grad-CAM (Selvaraju et al., ICCV 2017) on a classifier's last stage.

The activations are the last feature map of ``model.backbone`` (its last
stage: for BBN-ResNet-32 the two concatenated branches, ``(N, 128, 8, 8)``
on CIFAR), read by a forward hook; the score is the logit of the target
class in the view the model predicts with (``head.views(feats)
[head.predict_view]`` for a PC / TDE head, the plain logits otherwise). Per
image: channel weights = the score's gradient averaged over the map, CAM =
ReLU(sum of weighted channels), resized (bilinear) to the input image and
scaled to [0, 1].

Written here rather than taken from ``grad-cam`` (pytorch-grad-cam, which
mmpretrain's ``vis_cam`` uses): its releases require
``opencv-python-headless``, which would sit next to the pinned
``opencv-python`` (two distributions writing one ``cv2`` module); see
docs/analysis.md.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

#: Added to the CAM's range before dividing by it (an all-zero CAM stays 0).
EPS = 1e-7


def predicted_logits(model: nn.Module, feats) -> torch.Tensor:
    """``(N, C)`` logits of the view the model's head predicts with."""
    head = model.head
    if hasattr(head, 'views'):
        return head.views(feats)[head.predict_view]
    return head(feats)


def _last_map(output) -> torch.Tensor:
    return output[-1] if isinstance(output, (tuple, list)) else output


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
    store = {}

    def keep_map(module, args, output):
        store['map'] = _last_map(output)

    handle = model.backbone.register_forward_hook(keep_map)
    try:
        with torch.enable_grad():
            # The input needs a gradient when the backbone's weights do not.
            logits = predicted_logits(
                model, model.extract_feat(inputs.detach().requires_grad_()))
            if targets is None:
                targets = logits.argmax(dim=1)
            score = logits.gather(1, targets.view(-1, 1)).sum()
            maps = store['map']
            grads, = torch.autograd.grad(score, maps)
    finally:
        handle.remove()
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cams = F.relu((weights * maps).sum(dim=1)).detach()
    cams = F.interpolate(cams[:, None].float(), size=inputs.shape[-2:],
                         mode='bilinear', align_corners=False)[:, 0]
    cams = cams - cams.amin(dim=(1, 2), keepdim=True)
    cams = cams / (cams.amax(dim=(1, 2), keepdim=True) + EPS)
    return cams, logits.detach()
