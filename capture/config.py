"""The user's configuration file: TOML, in the user config directory or given with ``--config``.

::

    [identity]
    region = "GB"                       # national phone numbers are read in this region
    msisdn = ["07700 900123"]           # canaries: the test phone's number(s) ...
    imei = "490154203237518"            # ... its IMEI, IMSI, and any other value
    imsi = []
    canary = ["alice@example.com"]
    disabled = ["via", "device-id-name"]   # catalog header names or detector names

    [identity.headers]
    "x-acme-subscriber" = { kind = "subscriber_id", severity = "high" }

Only ``[identity]`` is interpreted here. Every other top-level table (``[keys]``
for the dashboard, ``[live]``, ...) is kept as a read-only mapping in
:attr:`Config.sections` for the code that owns it, so new sections need no
change here beyond their entry in :data:`TABLES`. The code that owns a table
registers its check there (:func:`register_check`), and every load of the file runs
it: a bad ``[keys]`` is refused by ``scan`` too, not only once a dashboard starts.
Errors are one line naming the file and what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import platformdirs

from capture.identity import canary
from capture.identity.catalog import CatalogError, load_catalog, make_entry
from capture.identity.detector import DETECTORS, HeaderRule, IdentityConfig
from capture.identity.names import normalize_name
from capture.identity.phone import is_region
from capture.text import printable

APP_NAME = "headerwatch"
CONFIG_FILE = "config.toml"
MAX_CONFIG_BYTES = 16 << 20
"""A config file larger than this is refused: 20,000 canaries take under 1 MB."""
MAX_DEPTH = 16
"""Tables and arrays nested deeper than this are refused (the format needs 3)."""


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything read from the configuration file."""

    identity: IdentityConfig = field(default_factory=IdentityConfig)
    sections: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Other top-level tables, read-only (nested tables as mappings, arrays as tuples)."""
    path: Path | None = None
    """The file this came from; ``None`` when there was none."""

    def section(self, name: str) -> Mapping[str, Any]:
        """The top-level table ``name`` (empty when absent).

        Raises :class:`ConfigError` when ``name`` is there but is not a table.
        """
        value = self.sections.get(name, MappingProxyType({}))
        if not isinstance(value, Mapping):
            where = str(self.path) if self.path is not None else "<config>"
            raise ConfigError(f"{where}: {name} must be a table ([{name}]), not a value")
        return value


def default_config_path() -> Path:
    """Where the configuration lives when ``--config`` is not given (XDG on Linux)."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_FILE


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value


_IDENTITY_KEYS = frozenset({"region", "msisdn", "imei", "imsi", "canary", "disabled", "headers"})

TableCheck = Callable[[Mapping[str, Any]], object]
"""Raises ``ValueError`` whose message (``[keys] ...``) says what is wrong with a table."""


@dataclass(frozen=True, slots=True)
class ConfigTable:
    """A top-level table a config file may hold."""

    reader: str
    """What it is for, and the module that reads it."""
    check: TableCheck | None = None
    """The reader's check, run on every load of a file holding the table (None: the
    table is parsed here, or its reader has not registered one)."""


TABLES: dict[str, ConfigTable] = {
    "identity": ConfigTable("identity detection: this module"),
    "files": ConfigTable("output files' mode: tui/common.py"),
    "echo": ConfigTable("the echo key (--echo-key): tui/common.py"),
    "live": ConfigTable("live capture's spool: tui/cmd_live.py"),
    "keys": ConfigTable("the dashboard's keys: tui/keys.py"),
    "ui": ConfigTable("the dashboard's confirmations: tui/keys.py"),
}
"""The top-level tables a config file may hold, who reads each and how it is checked:
any other name is a typo (``[identty]``), refused rather than ignored in silence."""


def register_check(name: str, check: TableCheck) -> None:
    """Check the table ``name`` with ``check`` whenever a config file is loaded.

    For the tables read outside this package (``tui/``, which this package never
    imports): a command that loads the file refuses a table it does not read itself,
    rather than passing it in silence until the command that reads it fails.
    """
    TABLES[name] = replace(TABLES[name], check=check)


def _strings(table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"[identity] {key} must be a string or a list of strings")
    return tuple(value)


def _header_rules(table: Any) -> tuple[HeaderRule, ...]:
    if not isinstance(table, dict):
        raise ValueError(
            "[identity.headers] must be a table of name = {kind = ..., severity = ...}"
        )
    rules = []
    for name, spec in table.items():
        shown = printable(name)  # the error is one line, whatever the name holds
        if not isinstance(spec, dict):
            raise ValueError(f"[identity.headers] {shown} must be {{kind = ..., severity = ...}}")
        unknown = set(spec) - {"kind", "severity"}
        if unknown:
            raise ValueError(f"[identity.headers] {shown}: unknown key {sorted(unknown)[0]!r}")
        kind = spec.get("kind")
        severity = spec.get("severity", "high")
        if not isinstance(kind, str) or not isinstance(severity, str):
            raise ValueError(f"[identity.headers] {shown}: kind and severity must be strings")
        try:
            make_entry(name, kind, severity)
        except CatalogError as exc:
            raise ValueError(f"[identity.headers] {exc}") from None
        rules.append(HeaderRule(name, kind, severity))
    return tuple(rules)


def only_keys(table: Mapping[str, Any], name: str, allowed: Collection[str]) -> None:
    """Raise ``ValueError`` naming the first key of the ``[name]`` table that is not
    one of ``allowed``: a typo would otherwise leave its setting as it was, in silence."""
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in [{name}]")


# Codes people write for a region that ISO 3166's alpha-2 spells otherwise.
_REGION_SPELLINGS = {"UK": "GB", "EL": "GR", "EN": "GB"}


def not_a_region(region: str) -> str:
    """Why ``region`` is not a region code, in the words of an error's end: what it is
    spelled as, where the user meant one (``UK`` is GB; ``44`` is the calling code of GB)."""
    said = f"{region!r} is not a region code such as GB or US"
    text = region.strip().upper().removeprefix("+")
    if text in _REGION_SPELLINGS:
        return f"{said} (the code for {text} is {_REGION_SPELLINGS[text]})"
    if text.isdigit() and len(text) <= 3:
        from capture.identity.phone import libphonenumber  # only for this error

        named = libphonenumber().region_code_for_country_code(int(text))
        if named != "ZZ":
            return f"{said} (+{text} is the calling code of {named})"
    return said


def parse_identity(table: Any) -> IdentityConfig:
    """An :class:`IdentityConfig` from the ``[identity]`` table; raises ``ValueError``."""
    if not isinstance(table, dict):
        raise ValueError("[identity] must be a table")
    only_keys(table, "identity", _IDENTITY_KEYS)
    region = table.get("region")
    if region is not None:
        if not isinstance(region, str) or not is_region(region.upper()):
            raise ValueError(f"[identity] region {not_a_region(str(region))}")
        region = region.upper()
    # Numbers in the file are read in the file's region, now: a later --region must not
    # change what "07700 900123" in the file meant.
    given = _strings(table, "msisdn")  # (its own error names the key already)
    with _as_key("msisdn"):
        msisdns = tuple(canary.msisdn_canary(v, region).canonical for v in given)
    identity = IdentityConfig(
        region=region,
        msisdns=msisdns,
        imeis=_strings(table, "imei"),
        imsis=_strings(table, "imsi"),
        canaries=_strings(table, "canary"),
        headers=_header_rules(table.get("headers", {})),
        disabled=_strings(table, "disabled"),
    )
    _check_disabled(identity)
    for key, values, check in (
        ("imei", identity.imeis, canary.imei_canary),
        ("imsi", identity.imsis, canary.imsi_canary),
        ("canary", identity.canaries, canary.value_canary),
    ):
        with _as_key(key):
            for value in values:
                check(value)
    return identity


@contextmanager
def _as_key(key: str) -> Iterator[None]:
    """Word a canary's ``ValueError`` (written for its option, ``--imei '…' must…``)
    for the ``[identity]`` key of the file it came from: no option was typed."""
    try:
        yield
    except ValueError as exc:
        raise ValueError(f"[identity] {key} {str(exc).removeprefix(f'--{key} ')}") from None


def _check_disabled(identity: IdentityConfig) -> None:
    """Raise ``ValueError`` for a ``disabled`` name that turns nothing off: neither a
    detector, nor a catalog header, nor one of ``[identity.headers]`` (a typo such as
    "recurence" left the detector on, and said nothing)."""
    catalog = load_catalog()
    added = {normalize_name(rule.name) for rule in identity.headers}
    for name in identity.disabled:
        key = normalize_name(name)
        if key not in DETECTORS and key not in added and catalog.lookup(key) is None:
            raise ValueError(
                f"[identity] disabled: {name!r} is neither a detector ({', '.join(DETECTORS)}) "
                "nor a catalog header (`headerwatch rules` lists them)"
            )


def check_canaries(identity: IdentityConfig) -> None:
    """Raise ``ValueError`` (naming the value) if a canary cannot be looked for."""
    for value in identity.msisdns:
        canary.msisdn_canary(value, identity.region)
    for value in identity.imeis:
        canary.imei_canary(value)
    for value in identity.imsis:
        canary.imsi_canary(value)
    for value in identity.canaries:
        canary.value_canary(value)


def _too_deep(data: Any) -> bool:
    """Whether ``data`` nests tables and arrays deeper than :data:`MAX_DEPTH`
    (walked without recursion: the point is not to run out of stack)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return False


def parse_config(text: str, path: Path | None = None) -> Config:
    """A :class:`Config` from TOML text; raises :class:`ConfigError` naming ``path``.

    Every problem is one line: bad TOML, nesting deep enough to exhaust the
    parser's stack, values of the wrong type, unusable canaries, and what the check
    registered for a table (:func:`register_check`) refuses.
    """
    where = str(path) if path is not None else "<config>"
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_CONFIG_BYTES >> 20} MB, not a config file")
    import tomllib  # here: most runs have no config file, and its import is not free

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(
            f"{where}: tables or arrays nested too deeply (more than {MAX_DEPTH} levels)"
        ) from None
    if _too_deep(data):
        raise ConfigError(
            f"{where}: tables or arrays nested too deeply (more than {MAX_DEPTH} levels)"
        )
    unknown = sorted(set(data) - set(TABLES))
    if unknown:
        known = ", ".join(f"[{name}]" for name in sorted(TABLES))
        what = (
            f"table [{unknown[0]}]" if isinstance(data[unknown[0]], dict) else f"key {unknown[0]!r}"
        )
        raise ConfigError(f"{where}: unknown {what} (a config file holds {known})")
    try:
        identity = parse_identity(data.pop("identity", {}))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    config = Config(identity, _freeze(data), path)
    for name in config.sections:
        check = TABLES[name].check
        if check is None:
            continue
        table = config.section(name)  # ConfigError (one line) when it is a value
        try:
            check(table)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return config


def _seen(target: Path) -> bool:
    """Whether ``target`` can be seen to exist (its directories can be searched)."""
    try:
        target.stat()
    except OSError:
        return False
    return True


def load_config(path: str | Path | None = None) -> Config:
    """The configuration from ``path``, or from the user config directory.

    An explicit ``path`` must exist; the default file is optional (no file gives
    the defaults).
    """
    explicit = path is not None
    target = Path(path) if path is not None else default_config_path()
    try:
        with target.open("rb") as f:
            # Bounded: a config given as /dev/zero or a huge file must not fill memory.
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{target}: no such file") from None
        return Config()
    except IsADirectoryError:
        raise ConfigError(f"{target}: is a directory, not a config file") from None
    except OSError as exc:
        if not explicit and isinstance(exc, PermissionError) and not _seen(target):
            # A directory on the way this user cannot search (a reflector dropped to
            # nobody, HOME still root's): no file it can be said to have, as absent.
            return Config()
        raise ConfigError(f"{target}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{target}: larger than {MAX_CONFIG_BYTES >> 20} MB, not a config file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{target}: not UTF-8 text (byte {exc.start})") from None
    return parse_config(text, target)


CANARY_KINDS = ("msisdn", "imei", "imsi", "canary")


def read_canary_file(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Canaries from a text file, one a line: ``KIND VALUE`` (KIND is msisdn, imei,
    imsi or canary) or a bare ``VALUE`` (a canary of any kind). Blank lines and
    lines starting with ``#`` are skipped. Returns the values by kind, for
    :func:`merge_identity`; raises :class:`ConfigError` (one line) when unreadable.
    """
    target = Path(path)
    try:
        with target.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"--canary-file {target}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"--canary-file {target}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"--canary-file {target}: larger than {MAX_CONFIG_BYTES >> 20} MB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"--canary-file {target}: not UTF-8 text (byte {exc.start})") from None
    values: dict[str, list[str]] = {kind: [] for kind in CANARY_KINDS}
    try:
        for _, kind, value in _canary_lines(text):
            values[kind].append(value)
    except ValueError as exc:
        raise ConfigError(f"--canary-file {target}:{exc}") from None
    return {kind: tuple(found) for kind, found in values.items()}


def _canary_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """``(line number, kind, value)`` of each canary in a canary file's text. A line
    that is a kind alone raises ValueError (``LINE: what is wrong``): its value was
    forgotten, and the word itself, looked for as a canary, would be found in every
    request that names the kind (``X-Auth-Method: msisdn``)."""
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, rest = line.partition(" ")
        if kind.lower() in CANARY_KINDS:
            if not rest.strip():
                raise ValueError(
                    f"{number}: {kind!r} with no value after it (a line is KIND VALUE, or a "
                    "value alone)"
                )
            yield number, kind.lower(), rest.strip()
        else:
            yield number, "canary", line


def bad_canary_line(paths: Iterable[str | Path], region: str | None) -> str | None:
    """``FILE:LINE: what is wrong`` for the first canary of the files ``paths`` that
    cannot be looked for (read in ``region``), or ``None``: what an error about a
    canary read from a file says, where it came from (the canaries are checked
    together, when the detector is built, so the error alone cannot say)."""
    build: dict[str, Callable[[str], object]] = {
        "msisdn": lambda value: canary.msisdn_canary(value, region),
        "imei": canary.imei_canary,
        "imsi": canary.imsi_canary,
        "canary": canary.value_canary,
    }
    for path in paths:
        try:
            text = Path(path).read_text("utf-8", errors="replace")
        except OSError:
            continue  # a file that cannot be read is the error, said by read_canary_file
        try:
            for number, kind, value in _canary_lines(text):
                try:
                    build[kind](value)
                except ValueError as exc:
                    return f"{path}:{number}: {str(exc).removeprefix('--')}"
        except ValueError as exc:  # a line _canary_lines cannot read
            return f"{path}:{exc}"
    return None


def merge_identity(
    base: IdentityConfig,
    *,
    region: str | None = None,
    msisdns: tuple[str, ...] = (),
    imeis: tuple[str, ...] = (),
    imsis: tuple[str, ...] = (),
    canaries: tuple[str, ...] = (),
) -> IdentityConfig:
    """``base`` with command-line values applied: ``--region`` wins, canaries add up.

    Raises :class:`ConfigError` when a value is unusable, so the CLI can exit 2.
    """
    merged = replace(
        base,
        # "" is a region given, and refused below (not taken for none given).
        region=region.upper() if region is not None else base.region,
        msisdns=base.msisdns + msisdns,
        imeis=base.imeis + imeis,
        imsis=base.imsis + imsis,
        canaries=base.canaries + canaries,
    )
    if merged.region is not None and not is_region(merged.region):
        raise ConfigError(f"--region {not_a_region(region or '')}")
    try:
        check_canaries(merged)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return merged
