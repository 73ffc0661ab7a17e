"""xERM classifier: a student trained against frozen teacher networks
(docs/methods.md, "xERM").
"""
import os.path as osp
from collections.abc import Mapping
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import DefaultScope
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample

from xerm_mm.registry import MODELS
from xerm_mm.utils.checkpoint_checks import (UNSET_BUFFERS,
                                             CheckpointFileError,
                                             check_finite, read_checkpoint)
from xerm_mm.utils.config import resolve_config_path
from xerm_mm.utils.weights_only import install_weights_only_loaders

# The models' init_cfg Pretrained (MMEngine's loaders), weights-only.
install_weights_only_loaders()

SINGLE = 'teacher'
IMBALANCED = 'imbalanced_teacher'
BALANCED = 'balanced_teacher'
# Buffers a teacher checkpoint may lack: the hook fills them before training
# (PCHead's training prior, absent from an XE checkpoint).
OPTIONAL_TEACHER_BUFFERS = UNSET_BUFFERS


def _float32_head(head: Callable, feats: Tuple[torch.Tensor]):
    """``head(feats)`` in float32, autocast off: under bf16 / fp16 autocast
    the backbone runs in low precision, but the scores that set the xERM
    weights are float32 logits of float32 features."""
    single = isinstance(feats, torch.Tensor)
    device = (feats if single else feats[-1]).device.type
    with torch.autocast(device_type=device, enabled=False):
        return head(feats.float() if single else tuple(f.float()
                                                       for f in feats))


def _model_cfg(config: Union[str, dict], role: str) -> dict:
    if isinstance(config, str):
        cfg = Config.fromfile(resolve_config_path(config))
        if 'model' not in cfg:
            raise KeyError(f'model.{role}.config {config!r} has no `model`')
        model = cfg.model
        # As MMEngine's Runner does: a top-level data_preprocessor is the
        # model's unless the model sets its own.
        if cfg.get('data_preprocessor') is not None:
            model.setdefault('data_preprocessor', cfg.data_preprocessor)
        return model
    if isinstance(config, dict):
        return config
    raise TypeError(f'model.{role}.config must be a config file path or a '
                    f'model config dict, got {type(config).__name__}')


def _check_spec(spec, role: str) -> dict:
    if not isinstance(spec, dict):
        raise TypeError(f'model.{role} must be dict(config=..., '
                        f'checkpoint=...), got {type(spec).__name__}')
    unknown = set(spec) - {'config', 'checkpoint'}
    if unknown or 'config' not in spec:
        raise ValueError(f'model.{role} must be dict(config=PATH_OR_MODEL_'
                         f'DICT, checkpoint=PATH); got keys {sorted(spec)}')
    return dict(config=spec['config'], checkpoint=spec.get('checkpoint'))


def _teacher_specs(teacher, imbalanced_teacher, balanced_teacher) -> dict:
    """Check that exactly one of the two teacher forms is given."""
    pair = (imbalanced_teacher, balanced_teacher)
    if teacher is not None and any(t is not None for t in pair):
        raise ValueError(
            'XERMClassifier: give either teacher= (one network giving both '
            'views) or imbalanced_teacher= and balanced_teacher= (two '
            'networks), not both')
    if teacher is not None:
        return {SINGLE: _check_spec(teacher, SINGLE)}
    if all(t is None for t in pair):
        raise ValueError(
            'XERMClassifier needs teachers: teacher=dict(config=..., '
            'checkpoint=...) or imbalanced_teacher= and balanced_teacher=')
    if any(t is None for t in pair):
        missing = IMBALANCED if imbalanced_teacher is None else BALANCED
        raise ValueError(f'XERMClassifier: {missing}= is missing; the '
                         'two-network form needs both imbalanced_teacher= '
                         'and balanced_teacher=')
    return {
        IMBALANCED: _check_spec(imbalanced_teacher, IMBALANCED),
        BALANCED: _check_spec(balanced_teacher, BALANCED)
    }


def _build_teacher(spec: dict, role: str) -> nn.Module:
    with DefaultScope.overwrite_default_scope('xerm_mm'):
        model = MODELS.build(_model_cfg(spec['config'], role))
    for name in ('extract_feat', 'head'):
        if getattr(model, name, None) is None:
            raise TypeError(f'model.{role}: {type(model).__name__} has no '
                            f'`{name}`; a teacher must be a classifier with '
                            'extract_feat() and a head')
    model.requires_grad_(False)
    return model.eval()


def load_teacher_checkpoint(model: nn.Module, path: Optional[str],
                            role: str) -> None:
    """Load a teacher's weights (weights-only) into ``model``.

    Every key must match, except the buffers of
    :data:`OPTIONAL_TEACHER_BUFFERS` (filled before training by the hook),
    and every weight must be finite. Each error names the teacher's config
    key (``model.{role}.checkpoint``) and its file.

    Raises:
        FileNotFoundError: No file at ``path`` (or no path given).
        CheckpointFileError: The file is empty, truncated, not a
            checkpoint, or not a dict of weights.
        NonFiniteWeightsError: A weight holds NaN or inf (the teacher's
            training diverged).
        RuntimeError: The checkpoint does not fit the teacher network.
    """
    override = f'--cfg-options model.{role}.checkpoint=PATH'
    if not path or not osp.isfile(path):
        raise FileNotFoundError(
            f'{role} checkpoint {path!r} not found. Train the teacher first '
            f'(tools/train.py on model.{role}.config), or point at its '
            f'checkpoint with {override}')
    source = f'the {role} checkpoint (model.{role}.checkpoint)'
    try:
        ckpt = read_checkpoint(path)
    except CheckpointFileError as error:
        raise CheckpointFileError(
            f'{source}: {error} Point at another teacher checkpoint with '
            f'{override}.') from error
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if not isinstance(state, Mapping):
        raise CheckpointFileError(
            f'{source} {path!r} holds a {type(state).__name__}, not a dict '
            'of weights (a state_dict). Give a checkpoint written by '
            f'tools/train.py with {override}.')
    check_finite(
        state, f'{source} {path!r}',
        advice="The teacher's training diverged (not this one, which has "
        'not started): point at a checkpoint of the teacher from before '
        f'its divergence with {override}, or train the teacher again.')
    state = {(k[7:] if k.startswith('module.') else k): v
             for k, v in state.items()}
    hint = (f'{role} checkpoint {path!r} does not fit the network of '
            f'model.{role}.config (another number of classes or another '
            'architecture?)')
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as error:
        raise RuntimeError(f'{hint}: {error}') from error
    missing = [
        k for k in result.missing_keys
        if k.rsplit('.', 1)[-1] not in OPTIONAL_TEACHER_BUFFERS
    ]
    if missing or result.unexpected_keys:
        raise RuntimeError(f'{hint}: missing keys {missing}, unexpected keys '
                           f'{result.unexpected_keys}')


@MODELS.register_module()
class XERMClassifier(ImageClassifier):
    """An image classifier trained with xERM from frozen teachers.

    Exactly one teacher form: ``teacher`` or ``imbalanced_teacher`` +
    ``balanced_teacher``, each ``dict(config=..., checkpoint=...)``
    (docs/methods.md, "xERM"). Teachers are kept out of the module tree (not in
    ``parameters()``, ``state_dict()`` or the optimizer; ``_apply`` moves
    them) and always run in eval mode without gradient.

    Args:
        backbone, neck, head, pretrained, train_cfg, data_preprocessor,
            init_cfg: As ``ImageClassifier`` (the student).
        teacher (dict, optional): Spec of the single two-view teacher.
        imbalanced_teacher (dict, optional): Spec of the imbalanced teacher.
        balanced_teacher (dict, optional): Spec of the balanced teacher.
        init_student_from_teacher (bool): Before training from scratch, copy
            the backbone / neck / head tensors of matching name and shape
            from the single (or imbalanced) teacher; done by
            ``XERMTeacherHook`` through :meth:`init_from_teacher`. Defaults
            to False.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 teacher: Optional[dict] = None,
                 imbalanced_teacher: Optional[dict] = None,
                 balanced_teacher: Optional[dict] = None,
                 init_student_from_teacher: bool = False,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        specs = _teacher_specs(teacher, imbalanced_teacher, balanced_teacher)
        super().__init__(
            backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        teachers = {role: _build_teacher(s, role) for role, s in specs.items()}
        if SINGLE in teachers and not hasattr(teachers[SINGLE].head, 'views'):
            raise ValueError(
                f'model.teacher: {type(teachers[SINGLE].head).__name__} has '
                'no views(); the one-network form needs a two-view head '
                '(PCHead, TDEHead). Use imbalanced_teacher= and '
                'balanced_teacher= for other networks.')
        # Plain dicts set past nn.Module.__setattr__: not submodules.
        object.__setattr__(self, '_teachers', teachers)
        object.__setattr__(self, '_teacher_specs', specs)
        self.init_student_from_teacher = bool(init_student_from_teacher)
        self.teachers_loaded = False

    # --- teachers ------------------------------------------------------
    @property
    def teachers(self) -> Dict[str, nn.Module]:
        """The teacher networks by config key (``teacher`` or the pair)."""
        return dict(self._teachers)

    @property
    def teacher_specs(self) -> Dict[str, dict]:
        """The teacher specs by config key."""
        return {role: dict(spec) for role, spec in self._teacher_specs.items()}

    @property
    def imbalanced_source(self) -> nn.Module:
        """The network giving the imbalanced view (and the student init)."""
        return self._teachers[SINGLE if SINGLE in self._teachers else
                              IMBALANCED]

    @property
    def balanced_source(self) -> nn.Module:
        """The network giving the balanced view."""
        return self._teachers[SINGLE if SINGLE in self._teachers else
                              BALANCED]

    def view_teachers(self) -> Dict[str, nn.Module]:
        """Teachers whose ``head.views`` is used (they need PC counts / a
        TDE moving average)."""
        return {
            role: t
            for role, t in self._teachers.items()
            if role != IMBALANCED and hasattr(t.head, 'views')
        }

    def load_teachers(self) -> None:
        """Load every teacher's checkpoint (weights only); see
        :func:`load_teacher_checkpoint`."""
        for role, model in self._teachers.items():
            path = self._teacher_specs[role]['checkpoint']
            load_teacher_checkpoint(model, path, role)
            model.requires_grad_(False)
            print_log(f'XERMClassifier: {role} loaded from {path}',
                      logger='current')
        self.teachers_loaded = True

    def _ready_teachers(self) -> None:
        """Check that the teachers are loaded; put them in eval mode."""
        if not self.teachers_loaded:
            raise RuntimeError(
                'XERMClassifier: the teachers are not loaded. Add '
                "dict(type='XERMTeacherHook') to custom_hooks (it loads them "
                'before training), or call model.load_teachers().')
        for model in self._teachers.values():
            if model.training:
                model.eval()

    @torch.no_grad()
    def teacher_scores(self, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Both teacher scores on preprocessed ``inputs``, in eval mode.

        Returns:
            dict: ``{'imbalanced': (N, C), 'balanced': (N, C)}`` float32
            logits, without gradient (the heads run in float32 under
            autocast; the backbones in the autocast dtype).

        Raises:
            RuntimeError: :meth:`load_teachers` was not called.
        """
        self._ready_teachers()
        if SINGLE in self._teachers:
            model = self._teachers[SINGLE]
            views = _float32_head(model.head.views, model.extract_feat(inputs))
            return dict(
                imbalanced=views['imbalanced'], balanced=views['balanced'])
        imba = self._teachers[IMBALANCED]
        ba = self._teachers[BALANCED]
        ba_head = (lambda f: ba.head.views(f)['balanced']) if hasattr(
            ba.head, 'views') else ba.head
        return dict(
            imbalanced=_float32_head(imba.head, imba.extract_feat(inputs)),
            balanced=_float32_head(ba_head, ba.extract_feat(inputs)))

    @torch.no_grad()
    def init_from_teacher(self) -> int:
        """Copy backbone / neck / head tensors of the same name and shape
        from :attr:`imbalanced_source` into the student.

        Returns:
            int: The number of tensors copied.
        """
        source = self.imbalanced_source.state_dict()
        copied = 0
        for name, tensor in self.state_dict().items():
            if not name.startswith(('backbone.', 'neck.', 'head.')):
                continue
            src = source.get(name)
            if src is not None and src.shape == tensor.shape:
                tensor.copy_(src)
                copied += 1
        return copied

    # --- nn.Module -----------------------------------------------------
    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for model in getattr(self, '_teachers', {}).values():
            model._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True):
        """Set the student's mode; the teachers stay in eval mode."""
        super().train(mode)
        for model in getattr(self, '_teachers', {}).values():
            model.eval()
        return self

    # --- training ------------------------------------------------------
    def loss_teacher_scores(self,
                            inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The teacher scores the head's loss gets (``imbalanced_score``,
        ``balanced_score``): :meth:`teacher_scores`; a subclass may give
        others (``RIDEXERMClassifier``: per expert)."""
        return self.teacher_scores(inputs)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        """xERM loss of the student on a batch.

        Returns:
            dict: ``loss`` from the head, plus ``w_imba`` and ``w_ba`` (batch
            means of the weights; logged, not summed, by MMEngine).
        """
        scores = self.loss_teacher_scores(inputs)
        feats = self.extract_feat(inputs)
        losses = self.head.loss(
            feats,
            data_samples,
            imbalanced_score=scores['imbalanced'],
            balanced_score=scores['balanced'])
        weights = getattr(self.head.loss_module, 'last_weights', None) or {}
        losses.update(weights)
        return losses
