"""Type checks of ``--cfg-options`` against the config they override."""
from numbers import Number
from typing import Any, Mapping

_MISSING = object()


def _lookup(cfg: Mapping, key: str) -> Any:
    """The value at dotted ``key`` (list indices as numbers), or _MISSING."""
    node: Any = cfg
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and \
                int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, 'keys') and part in node:  # dict, Config
            node = node[part]
        else:
            return _MISSING
    return node


def _is_number(value: Any) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


def _has_text(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(isinstance(item, str) for item in value)
    return isinstance(value, str)


def check_option_types(cfg: Mapping, options: Mapping) -> None:
    """Refuse text (``lr=abc``), or a list (``lr=[0.1,0.2]``), where the
    config holds a number.

    MMEngine's ``DictAction`` keeps a value it cannot read as a number as a
    string, which then fails far away (a comparison inside the optimizer).

    Args:
        cfg (Mapping | Config): The config before the options are merged.
        options (Mapping): ``{dotted key: value}`` of ``--cfg-options``.

    Raises:
        ValueError: Naming the key, the value given and the config's value.
    """
    for key, value in options.items():
        old = _lookup(cfg, key)
        if old is _MISSING:
            continue
        numbers = _is_number(old) or (isinstance(old, (list, tuple))
                                      and bool(old) and all(
                                          _is_number(item) for item in old))
        # a list for a number: DictAction reads lr=[0.1,0.2] as a list
        wrong = _has_text(value) or (_is_number(old) and isinstance(
            value, (list, tuple, dict)))
        if numbers and wrong:
            kind = 'a number' if _is_number(old) else 'a list of numbers'
            raise ValueError(f'--cfg-options {key}={value!r}: {key} must be '
                             f'{kind} (the config has {old!r})')
