"""mmpretrain's UniversalVisualizer that makes its figure when it first draws."""
from mmpretrain.visualization import UniversalVisualizer

from xerm_mm.registry import VISUALIZERS


class _NoFigureYet:
    """Stands for the figure in ``Visualizer.__init__``, which reads its
    dpi."""

    def get_dpi(self):
        return self


class _Figure:
    """One of the figure's attributes (canvas, figure, axes, dpi), all made
    by MMEngine's ``_initialize_fig`` when one of them is first read."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, visualizer, owner=None):
        if visualizer is None:
            return self
        made = visualizer.__dict__
        if made.get(self.name) is None:
            canvas, figure, axes = UniversalVisualizer._initialize_fig(
                visualizer, visualizer.fig_save_cfg)
            made.update(fig_save_canvas=canvas, fig_save=figure,
                        ax_save=axes, dpi=figure.get_dpi())
        return made[self.name]

    def __set__(self, visualizer, value):
        if isinstance(value, _NoFigureYet) and self.name == 'dpi':
            # The last step of __init__'s figure set-up: nothing made yet.
            visualizer.__dict__.pop('fig_save', None)
            value = None
        visualizer.__dict__[self.name] = value


@VISUALIZERS.register_module()
class DeferredFigureVisualizer(UniversalVisualizer):
    """``UniversalVisualizer`` whose matplotlib figure is made when it first
    draws: a training or test that only logs scalars does not import
    matplotlib (0.25 s of each tool's start).

    Args: those of ``mmpretrain.visualization.UniversalVisualizer``.
    """

    fig_save_canvas = _Figure()
    fig_save = _Figure()
    ax_save = _Figure()
    dpi = _Figure()

    def _initialize_fig(self, fig_cfg) -> tuple:
        if fig_cfg is self.fig_save_cfg:  # made on first use
            return None, _NoFigureYet(), None
        return super()._initialize_fig(fig_cfg)
