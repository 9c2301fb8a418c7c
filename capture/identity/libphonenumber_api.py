"""libphonenumber's API module, ``phonenumbers.phonenumberutil``, imported without
what the package's ``__init__`` adds to it.

``import phonenumbers`` runs the package's ``__init__``, which only imports and
re-exports: the API from ``phonenumberutil`` (every name headerwatch calls), and
the as-you-type formatter, the number matcher (with its Unicode tables) and the
short-number module, which headerwatch never calls. Those three are a third of the
import: 31 M instructions, about 9 ms, of every detecting process (a scan of 20,000
requests without detection takes some 0.44 s of CPU: 2 points of detection's cost).

:func:`load_api` imports ``phonenumberutil`` into the package's module object
without running its ``__init__``; the package is completed, its ``__init__`` run
then, the first time anything asks it for a name it does not hold yet
(``phonenumbers.parse``: a module's ``__getattr__``, PEP 562), so any other code in
the process that imports the package gets it whole. The functions that run are the
package's own, whichever way it was imported: only what is imported differs. Where
the package is imported already, or its layout is not one this works with, it is
imported as usual.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
from types import ModuleType

PACKAGE = "phonenumbers"
API = "phonenumbers.phonenumberutil"

_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


_LOADING = threading.Lock()
"""Held while the package's module is made: threads that ask at once make one."""


def load_api() -> ModuleType:
    """``phonenumbers.phonenumberutil``, imported without the package's other modules
    where it can be (see the module's docstring)."""
    with _LOADING:
        return _load_api()


def _load_api() -> ModuleType:
    if PACKAGE not in sys.modules:
        spec = importlib.util.find_spec(PACKAGE)
        if spec is not None and spec.loader is not None and spec.submodule_search_locations:
            package = importlib.util.module_from_spec(spec)
            _complete_on_demand(package, spec.loader)
            # What a caller may ask before the package is complete (the version
            # decides which of phone.py's tables apply), read from the __init__'s
            # text as packaging tools read it: not found, it is left to completion.
            version = _version_in(spec.origin)
            if version is not None:
                package.__version__ = version  # type: ignore[attr-defined]
            sys.modules[PACKAGE] = package
            try:
                return importlib.import_module(API)
            except ImportError:
                # Not a layout this works with: the package as its authors ship it.
                for name in [
                    n for n in sys.modules if n == PACKAGE or n.startswith("phonenumbers.")
                ]:
                    del sys.modules[name]
    importlib.import_module(PACKAGE)
    return importlib.import_module(API)


def _complete_on_demand(package: ModuleType, loader: object) -> None:
    """Give ``package`` a ``__getattr__`` that runs its ``__init__`` (with ``loader``)
    the first time a name it lacks is asked for, and then answers from it.

    Other threads that ask meanwhile wait for it (a name not there yet is no answer:
    ``from phonenumbers import X`` would then fail); the running ``__init__``'s own
    questions, in its thread, are answered from what it has made so far, as a package
    being imported answers them. One stopped half way (Ctrl-C) is run again at the next
    question, as an import stopped half way is."""
    lock = threading.RLock()
    running = False

    def complete(name: str) -> object:
        nonlocal running
        with lock:
            if not running and "__getattr__" in package.__dict__:
                running = True
                try:
                    loader.exec_module(package)  # type: ignore[attr-defined]
                    del package.__dict__["__getattr__"]
                finally:
                    running = False
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None

    package.__getattr__ = complete  # type: ignore[method-assign]


def _version_in(path: str | None) -> str | None:
    """The ``__version__`` an ``__init__.py`` at ``path`` assigns, or None."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            found = _VERSION.search(handle.read())
    except (OSError, UnicodeDecodeError):
        return None
    return found[1] if found else None
