"""headerwatch's core: capture, reassembly, HTTP, identity detection and the formats,
free of any user interface."""

from capture.dataclass_code import install as _install

# Before any module of the package makes its dataclasses (see capture.dataclass_code).
_install()
