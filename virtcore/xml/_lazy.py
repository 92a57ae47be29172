"""The :mod:`virtcore.xml.elements` module, imported on first use.

Deferring it keeps its twenty-odd attrs classes out of ``import virtcore.xml``
(about a sixth of that import, which a cold ``test:///`` open pays).
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any


@functools.cache
def _el() -> Any:
    """The :mod:`virtcore.xml.elements` module (typed as Any: it is imported lazily)."""
    from virtcore.xml import elements

    module: ModuleType = elements
    return module
