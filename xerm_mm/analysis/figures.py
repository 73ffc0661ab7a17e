"""A figure drawn off-screen and saved as PNG and PDF, with its numbers.

Figures are :class:`matplotlib.figure.Figure` objects, not pyplot ones: no
window, no global figure list, whatever backend the process has (the tools
also select Agg). Every file is written atomically.
"""
import os
import os.path as osp
from typing import Dict

from matplotlib.figure import Figure

from xerm_mm.evaluation.report import write_metrics_json
from xerm_mm.utils.atomic import atomic_write

#: The picture formats written: PNG for READMEs, PDF for papers.
FORMATS = ('png', 'pdf')
#: Dots per inch of the PNG: a 10-inch-wide figure is 1500 pixels wide.
PNG_DPI = 150


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` x ``height`` inches, laid out by
    matplotlib's constrained layout (labels do not overlap)."""
    return Figure(figsize=(width, height), layout='constrained')


def save_figure(fig: Figure, numbers: dict, out_dir: str,
                name: str) -> Dict[str, str]:
    """Write ``{out_dir}/{name}.png``, ``.pdf`` and ``.json`` (``numbers``).

    Args:
        fig (Figure): The figure.
        numbers (dict): The numbers plotted (JSON-serializable; numpy values
            are converted).
        out_dir (str): The folder, created if needed.
        name (str): The file name without extension.

    Returns:
        dict: ``{'png': path, 'pdf': path, 'json': path}``.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for fmt in FORMATS:
        paths[fmt] = osp.join(out_dir, f'{name}.{fmt}')
        with atomic_write(paths[fmt], 'wb') as f:
            fig.savefig(f, format=fmt, dpi=PNG_DPI)
    paths['json'] = osp.join(out_dir, f'{name}.json')
    write_metrics_json(numbers, paths['json'])
    return paths
