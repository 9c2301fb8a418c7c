"""Options and helpers shared by several commands."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from capture.config import (
    Config,
    ConfigError,
    bad_canary_line,
    load_config,
    merge_identity,
    only_keys,
    read_canary_file,
    register_check,
)
from capture.formats.private import share_files
from capture.formats.recorded import recorded_session
from capture.http.echo_key import EchoKeyError, make_key_file, read_key_file, set_echo_key
from capture.http.http1 import HEAD_LIMITS, MAX_HEAD, set_head_limit
from capture.identity.catalog import Catalog
from capture.identity.detector import (
    RECURRENCE,
    IdentityDetector,
    configured_catalog,
    locale_region,
    locale_setting,
)
from capture.identity.phone import is_region
from capture.sources.inputs import KINDS, inputs_help
from capture.text import counted, printable

# Imported for the checks it registers (every command that loads the config file then
# refuses a bad [keys] or [ui], not only the dashboard) and for dashboard_keys; it does
# not import Textual.
from tui import keys

if TYPE_CHECKING:
    from capture.formats.session import SessionInfo

DEMO_CAPTURE = "demo-o2-2012.pcap"
DEMO_REGION = "GB"
"""Where the bundled capture's subscriber is (O2 UK, January 2012): its region, not
the locale's, for every command that reads it without an input (``--region`` wins)."""
DASHBOARD_RECURRENCE = 3
"""Sites a token must reach to be a supercookie, in the dashboard (``--recurrence``)."""


def demo_capture_path() -> str:
    """Path of the capture bundled with the package (January 2012, O2 UK)."""
    # Imported here: importlib.resources brings tempfile, shutil, bz2, lzma and zipfile.
    from importlib import resources

    return str(resources.files("capture") / "data" / DEMO_CAPTURE)


def add_config_arg(parser: argparse._ActionsContainer) -> None:
    """``--config``: the config file, for every command that reads it (``rules`` reads
    nothing else: its catalog is what the file makes of the bundled one)."""
    parser.add_argument("--config", metavar="FILE", help="config file (default: user config dir)")


def add_identity_args(parser: argparse.ArgumentParser) -> None:
    """``--region``, ``--msisdn``, ``--imei``, ``--imsi``, ``--canary``,
    ``--canary-file``, ``--config``, ``--recurrence``: what the detector of a command
    that reads traffic is built from (:func:`build_detector`)."""
    group = parser.add_argument_group("identity detection")
    group.add_argument("--region", metavar="CC", help="region for national phone numbers (e.g. GB)")
    group.add_argument(
        "--msisdn",
        action="append",
        default=[],
        metavar="N",
        help="the test phone's number (repeatable)",
    )
    group.add_argument(
        "--imei",
        action="append",
        default=[],
        metavar="N",
        help="the test phone's IMEI (repeatable)",
    )
    group.add_argument(
        "--imsi",
        action="append",
        default=[],
        metavar="N",
        help="the test phone's IMSI (repeatable)",
    )
    group.add_argument(
        "--canary",
        action="append",
        default=[],
        metavar="VALUE",
        help="any other value that belongs to the test phone (repeatable)",
    )
    group.add_argument(
        "--canary-file",
        action="append",
        default=[],
        metavar="FILE",
        help="canaries from a file, one a line: 'msisdn +447700900123', 'imei ...', "
        "'imsi ...', or any other value as it is (repeatable; thousands are fine)",
    )
    add_config_arg(group)
    group.add_argument(
        "--recurrence",
        type=_sites,
        metavar="N",
        help="report an opaque token sent unchanged under one name to N or more sites "
        "(registrable domains) as a tracking ID, whatever its name: a supercookie "
        "no catalog lists; 0 turns it off (default: 3 in the dashboard, off in scan)",
    )


def add_files_arg(parser: argparse.ArgumentParser) -> None:
    """``--shared-files``, for the commands that write files (sessions, exports,
    recordings, reports, a reflector's log): not for those that only print."""
    files = parser.add_argument_group("output files")
    files.add_argument(
        "--shared-files",
        action="store_true",
        help="create sessions, exports and recordings with the umask's mode instead of "
        "0600 (shared lab machines; or [files] shared = true in the config file)",
    )


def add_head_arg(parser: argparse.ArgumentParser) -> None:
    """``--max-head``, for the commands that parse traffic (scan, open, live, demo)."""
    parser.add_argument(
        "--max-head",
        type=head_size,
        metavar="SIZE",
        help="largest request or response head read, e.g. 256k (default 64k); a longer "
        "one is cut there, flagged, and still scanned for identities up to the cut",
    )


def add_echo_key_arg(parser: argparse.ArgumentParser, signs: bool = False) -> None:
    """``--echo-key FILE``: the key a reflector's echoes are signed with
    (:mod:`capture.http.echo_key`); ``signs``: the command is the reflector, which
    makes the file where there is none (:func:`build_detector` reads it)."""
    if signs:
        parser.set_defaults(echo_key_made_here=True)
        help_text = (
            "sign every echo with the key in FILE (made, 0600, where there is none): "
            "give the capture side the same file, and it believes only this reflector"
        )
    else:
        help_text = (
            "believe only reflector echoes signed with the key in FILE (the file "
            "`reflect --echo-key` made): others are counted and ignored, as any "
            "server can write one"
        )
    parser.add_argument("--echo-key", metavar="FILE", help=help_text)


def add_input_arg(parser: argparse.ArgumentParser) -> None:
    """``--input KIND``: what the files are (choices from ``INPUTS``), for ``scan``
    and ``open``; without it each file is recognised from its first bytes."""
    parser.add_argument("--input", choices=list(KINDS), metavar="KIND", help=inputs_help())


def add_redact_arg(parser: argparse.ArgumentParser, what: str, keyed: str = "file") -> None:
    """``--redact``: identity values masked, client addresses pseudonymous, in ``what``,
    with a key made for each ``keyed`` (an output file; ``reflect``'s, a run)."""
    parser.add_argument(
        "--redact",
        action="store_true",
        help=f"mask identity values in {what}: kind, last two digits and a hash keyed "
        f"per {keyed}, so one number is recognisable within a {keyed} and nowhere else; client "
        "addresses become pseudonym addresses (198.18.0.0/15, 2001:db8::/32) keyed the "
        "same way; ports and server addresses are kept",
    )


REDACTED_FROM_THEN_ON = (
    "headerwatch: note: --redact masks each value from the request it is first found in "
    "on; lines written before that keep it (scan --redact on the finished output masks "
    "it in all of them)"
)
"""What a stream redacted as it is written (``reflect``, ``live --format``) says when it
starts: what it wrote cannot be masked again."""


RECORDED_AS_IT_CAME = (
    "note: {file} records the capture as it came, identities included: --redact masks "
    "only what is printed and exported (scan --redact {file} masks a copy of it)"
)
"""What ``live -w FILE --redact`` says when it starts: the recording is not redacted."""


def not_redacted(path: str) -> str:
    """What a file kept as it came says under ``--redact`` (a capture or requests kept
    when a signal ended the dashboard): ``--redact`` masked the screen, not it."""
    return f"; it is not redacted (scan --redact {path} masks a copy)"


_BYTES = re.compile(r"(\d+)\s*([kmg]?)i?b?", re.IGNORECASE)


def byte_size(text: str) -> int:
    """A byte count: ``65536``, ``64k``, ``1M``, ``2GiB`` (``reflect``'s limits,
    ``live``'s buffer and spool)."""
    match = _BYTES.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 32k, 1M)")
    return int(match[1]) << {"": 0, "k": 10, "m": 20, "g": 30}[match[2].lower()]


def head_size(text: str) -> int:
    """``--max-head``: a byte count (:func:`byte_size`) within the head limits."""
    size = byte_size(text)
    low, high = HEAD_LIMITS
    if not low <= size <= high:
        raise argparse.ArgumentTypeError(f"{text!r}: must be between {low:,} and {high:,} bytes")
    return size


SPOOL_MIN = 1 << 20
"""Smallest --spool-max other than 0."""


def spool_size(text: str) -> int:
    """``live --spool-max`` and ``[live] spool_max``: a byte count, 0 (no spool) or at
    least :data:`SPOOL_MIN`."""
    size = byte_size(text)
    if 0 < size < SPOOL_MIN:
        raise argparse.ArgumentTypeError(f"{text!r}: at least 1M (or 0 for no spool)")
    return size


def spool_max_of(table: Mapping[str, Any]) -> int | None:
    """``spool_max`` of the ``[live]`` table (None when absent); ``ValueError`` for any
    other key, or a value that is not a size. Here rather than in ``tui.cmd_live``,
    which reads it: every command checks the table when it loads the config file, and
    ``scan`` must not import live capture for that."""
    only_keys(table, "live", ("spool_max",))
    value = table.get("spool_max")
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise argparse.ArgumentTypeError('a size such as "4G" or a number of bytes')
        return spool_size(str(value))
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"[live] spool_max: {exc}") from None


register_check("live", spool_max_of)


class UsageError(Exception):
    """The options or the config file cannot be used; ``str()`` is one line for the
    user. :func:`tui.cli.main` prints it and exits with status 2."""


def whole_number(wanted: str, allowed: Callable[[int], bool]) -> Callable[[str], int]:
    """An argparse type: an integer for which ``allowed`` holds; else the error says
    the value is not ``wanted`` (e.g. "a TCP port (1 to 65535)")."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not allowed(value):
            raise argparse.ArgumentTypeError(f"not {wanted}: {text!r}")
        return value

    return parse


# Each token counts its distinct sites up to the threshold (recurrence.MAX_SITES_COUNTED
# or N): a thousand is more than a study asks of a supercookie before it says so, and
# bounds what 16,384 tokens may hold; past it, a typo that turned the detector off.
_sites = whole_number("0 or a number of sites from 2 to 1000", lambda n: n == 0 or 2 <= n <= 1_000)
# The kernel would take port 70000 as 4464.
tcp_port = whole_number("a TCP port (1 to 65535)", lambda n: 1 <= n <= 65535)


MOST_SECONDS = 86_400
"""The longest deadline :func:`seconds` takes, a day: beyond what a socket's timeout
holds (``1e308`` was a traceback), and no exchange is meant to wait that long."""


def seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0 (a deadline of 0 fails every
    time), at most :data:`MOST_SECONDS`."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= MOST_SECONDS:
        raise argparse.ArgumentTypeError(
            f"not a number of seconds above 0 and at most {MOST_SECONDS}: {text!r}"
        )
    return value


def build_detector(
    args: argparse.Namespace, recurrence: int = 0, inputs: Sequence[str] = ()
) -> IdentityDetector:
    """The identity detector the options and the config file ask for.

    ``recurrence``: the command's default for ``--recurrence`` (3 for the dashboard).
    ``inputs``: the files the command reads; a session among them that records a region
    gives it when neither ``--region`` nor the config does (:func:`_region_of_inputs`).

    Raises :class:`UsageError` when the config file or an option is unusable.
    """
    config = None
    region = args.region
    try:
        config = config_of(args)
        # Each input looked at once, for the region and the canaries its session records.
        sessions = [(path, *seen) for path in inputs if (seen := recorded_session(path))]
        region = _region_of_inputs(region, config.identity.region, sessions)
        share_files(getattr(args, "shared_files", False) or _shared_in(config))
        max_head = getattr(args, "max_head", None)
        set_head_limit(max_head if max_head is not None else MAX_HEAD)
        _set_echo_key(args, _echo_key_in(config))
        listed: dict[str, list[str]] = {
            "msisdn": list(args.msisdn),
            "imei": list(args.imei),
            "imsi": list(args.imsi),
            "canary": list(args.canary),
        }
        for path in getattr(args, "canary_file", []):
            for kind, values in read_canary_file(path).items():
                listed[kind] += values
        identity = merge_identity(
            config.identity,
            region=region,
            msisdns=tuple(listed["msisdn"]),
            imeis=tuple(listed["imei"]),
            imsis=tuple(listed["imsi"]),
            canaries=tuple(listed["canary"]),
        )
        chosen = getattr(args, "recurrence", None)
        identity = replace(identity, recurrence=recurrence if chosen is None else chosen)
        if chosen:
            # Asked for on the command line: it overrides the config file's disabled
            # list, as every option overrides the file (it was dropped without a word).
            kept = tuple(d for d in identity.disabled if d.lower() != RECURRENCE)
            identity = replace(identity, disabled=kept)
        detector = IdentityDetector(identity)
    except (ConfigError, ValueError) as exc:
        # A canary from a file is named by its file and line, not as an option.
        files = getattr(args, "canary_file", [])
        region = region or (config.identity.region if config else None) or locale_region()
        found = bad_canary_line(files, region) if files else None
        raise UsageError(found or str(exc)) from None
    _canaries_of_inputs(detector, sessions)
    if detector.region is None:
        # Said, not guessed: a national number missed in silence looks like no number.
        setting = locale_setting()
        shown = "no LC_ALL, LC_TELEPHONE or LANG" if setting is None else "=".join(setting)
        _NOTES.append(
            f"{NO_REGION_NOTE} ({shown}): numbers written "
            "nationally (07700 900123) were not read; give one with --region "
            "(e.g. --region GB) or [identity] region"
        )
    return detector


_Session = tuple[str, "SessionInfo", bool]
"""An input that is a session: its path, its metadata, whether it is of frames
(:func:`~capture.formats.recorded.recorded_session`)."""


def _canaries_of_inputs(detector: IdentityDetector, sessions: Sequence[_Session]) -> None:
    """Leaves a note naming the pcapng sessions among ``sessions`` saved with canaries not
    given now: their findings are found again from the packets, and what only those
    canaries found went without a word (a report of the session lacked the hashed
    number the saved session had found)."""
    saved = [
        (path, info.canary_sha256)
        for path, info, frames in sessions
        if frames and info.canary_sha256
    ]
    if not saved:
        return
    from capture.formats.session import canary_digest  # hashlib: only for such a session

    given = {canary_digest(value) for value in detector.canary_values}
    lacking = [(path, len(missing)) for path, digests in saved if (missing := set(digests) - given)]
    if lacking:
        files = _listed([f"{path}: {counted(n, 'canary', 'canaries')}" for path, n in lacking])
        _NOTES.append(
            f"headerwatch: note: the session was saved with canaries not given now ({files}; "
            "its metadata keeps their digests): what only they found is not found again; "
            "give them with --msisdn, --imei, --imsi or --canary"
        )


def _region_of_inputs(
    given: str | None, configured: str | None, sessions: Sequence[_Session]
) -> str | None:
    """The region to read national numbers in: ``given`` (``--region``), else none
    here when the config has one (``configured``: it applies), else the one the
    ``sessions`` among the inputs record, so that reopening one reads its numbers as they
    were recorded, not in the locale's region. Leaves a note saying where it came from,
    or that a session recorded another; and, when it would have been used, a warning
    that a session records what is not a region code."""
    written = [(path, info.region) for path, info, _ in sessions if info.region]
    recorded = [(path, region.upper()) for path, region in written if is_region(region.upper())]
    chosen = given or configured
    if chosen is None and len(recorded) < len(written):
        # Damaged or hand-edited metadata: said, not passed over in silence.
        bad = [f"{p}: {_shown(r)}" for p, r in written if not is_region(r.upper())]
        _NOTES.append(
            "headerwatch: warning: the region recorded in the session's metadata is not a "
            f"region code such as GB or US, not used ({_listed(bad)})"
        )
    if not recorded:
        return given
    if chosen is not None:
        other = [f"{path}: {region}" for path, region in recorded if region != chosen.upper()]
        if other:
            where = "--region" if given else "[identity] region"
            _NOTES.append(
                f"headerwatch: note: region {chosen.upper()} from {where}, not the one "
                f"recorded in the session's metadata ({_listed(other)})"
            )
        return given
    first = recorded[0][1]
    if all(region == first for _, region in recorded):
        files = _listed([path for path, _ in recorded])
        _NOTES.append(
            f"headerwatch: note: region {first}, from the session's metadata ({files}); "
            "--region chooses another"
        )
    else:
        _NOTES.append(
            "headerwatch: note: the sessions record different regions "
            f"({_listed([f'{path}: {region}' for path, region in recorded])}): every input's "
            f"national numbers read in {first}, the first's; --region chooses another"
        )
    return first


def _shown(region: str, most: int = 16) -> str:
    """A region as a session's metadata wrote it, quoted for a terminal (its first
    ``most`` characters: the file may hold anything there)."""
    cut = "…" if len(region) > most else ""
    return f"'{printable(region[:most])}{cut}'"


def _listed(items: Sequence[str], most: int = 3) -> str:
    """``items`` joined by commas, the first ``most`` of them and how many more."""
    more = len(items) - most
    return ", ".join(items[:most]) + (f" and {more} more" if more > 0 else "")


def config_of(args: argparse.Namespace) -> Config:
    """The config file of this command (``--config``, else the default file), read
    once a command: the detector, the catalog, the dashboard's keys and the spool all
    take what one read found, even if the file is edited while the command starts.

    Raises :class:`~capture.config.ConfigError` when the file is unusable.
    """
    loaded: Config | None = vars(args).get("_config_read")
    if loaded is None:
        loaded = load_config(getattr(args, "config", None))
        args._config_read = loaded
    return loaded


def catalog_from_config(args: argparse.Namespace) -> Catalog:
    """The identity catalog the config file (``--config``) makes: headers added,
    headers disabled. No other option changes it.

    Raises :class:`UsageError` when the config file is unusable.
    """
    try:
        return configured_catalog(config_of(args).identity)
    except (ConfigError, ValueError) as exc:
        raise UsageError(str(exc)) from None


_NOTES: list[str] = []

NO_REGION_NOTE = "headerwatch: note: no region in the locale"
"""How the note on a missing region starts: a note on stderr, where every command
says it, and a warning on the dashboard's screen (:func:`tui.launch.set_up_notices`),
where a national number not read looks like no number."""


def pending_notes() -> list[str]:
    """The notes :func:`take_notes` will give, each once, left for it: the dashboard
    shows them on its screen too, where stderr is not seen until it exits."""
    return list(dict.fromkeys(_NOTES))


def note(line: str) -> None:
    """Leave ``line`` for stderr with the set-up's other notes (:func:`take_notes`)."""
    _NOTES.append(line)


def take_notes() -> list[str]:
    """The notes for stderr the command's set-up left (:func:`build_detector`'s missing
    region), each once. :func:`tui.cli.main` prints them when the command has run: a
    command refused with a one-line error says that line alone."""
    notes = list(dict.fromkeys(_NOTES))
    _NOTES.clear()
    return notes


def _set_echo_key(args: argparse.Namespace, configured: str | None = None) -> None:
    """The echo key of ``--echo-key`` (else ``configured``, the config file's ``[echo]
    key``) for the pipelines, probes and reflector made from now on
    (:func:`~capture.http.echo_key.set_echo_key`); ``ValueError`` for a file that
    cannot be read or made."""
    path = getattr(args, "echo_key", None) or configured
    if path is None or not hasattr(args, "echo_key"):
        # A command without the option (demo) reads no reflector's echo of its own.
        set_echo_key(None)
        return
    try:
        if getattr(args, "echo_key_made_here", False) and make_key_file(path):
            _NOTES.append(
                f"headerwatch: note: a new echo key in {path}: copy it to the capture side "
                f"and give it there as --echo-key (scan, live, open, report, probe)"
            )
        set_echo_key(read_key_file(path))
    except EchoKeyError as exc:
        raise ValueError(str(exc)) from None


def _shared_in(config: Config) -> bool:
    """``[files] shared`` of the config file (false when absent; loading the file
    checked it)."""
    return _shared_of(config.section("files"))


def _shared_of(table: Mapping[str, Any]) -> bool:
    """``shared`` of the ``[files]`` table; ``ValueError`` for any other key, or a
    value that is not a boolean."""
    only_keys(table, "files", ("shared",))
    shared = table.get("shared", False)
    if not isinstance(shared, bool):
        raise ValueError("[files] shared must be true or false")
    return shared


register_check("files", _shared_of)


def _echo_key_in(config: Config) -> str | None:
    """``[echo] key`` of the config file, ``~`` expanded (None when absent; loading the
    file checked it)."""
    return _echo_of(config.section("echo"))


def _echo_of(table: Mapping[str, Any]) -> str | None:
    """``key`` of the ``[echo]`` table, the path of an echo key file; ``ValueError``
    for any other key, or a value that is not a path."""
    only_keys(table, "echo", ("key",))
    path = table.get("key")
    if path is None:
        return None
    if not isinstance(path, str) or not path or "\0" in path:
        raise ValueError('[echo] key must be the path of a key file, e.g. "~/echo.key"')
    return os.path.expanduser(path)


register_check("echo", _echo_of)


def output_failed(exc: OSError) -> str | None:
    """Stop writing to stdout after ``exc``; return the one-line error to print, or
    None when the reader (head, less, jq) went away, which is not an error."""
    # Later writes, and the interpreter's final flush, go nowhere instead of failing.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    if isinstance(exc, BrokenPipeError):
        return None
    from capture.formats.pcapng import describe_errno  # a rare path: pcapng brings platform

    reason = describe_errno(exc.errno, exc.strerror or str(exc))
    return f"headerwatch: error: cannot write the output: {reason}"


def output_width(chosen: int | None = None) -> int | None:
    """The width to lay a table out for, the same for every command that prints one:
    ``chosen`` (``scan --width``) if given (0: none), else the terminal's when stdout
    is one (a file or pipe gets fixed columns)."""
    if chosen is not None:
        return chosen or None
    if sys.stdout.isatty():
        import shutil  # only for a terminal: its import brings bz2 and lzma

        return shutil.get_terminal_size().columns
    return None


def tell(line: str) -> None:
    """Print ``line`` on stderr; nothing where the terminal has gone (a dashboard
    that SIGHUP stopped: what is said then is lost, what is done is not)."""
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr, flush=True)


def dashboard_keys(args: argparse.Namespace) -> tuple[dict[str, str], bool]:
    """The dashboard's key remapping and ``[ui] confirm_quit``, from the ``--config``
    file as the identities are (else the default file), read before capture starts.

    Raises :class:`UsageError` when that file is unusable.
    """
    try:
        config = config_of(args)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    return keys.dashboard_settings(config)


def no_terminal() -> str | None:
    """Why the dashboard cannot be drawn here, in words for an error line; None where it
    can. Without a terminal (a pipe, a file) it would wait, unseen, for keys that never
    come; on a dumb one (``TERM=dumb``: Emacs' shell, some consoles) Textual lays the
    screen out again and again and draws nothing, deaf to q and to SIGTERM."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return "the dashboard needs a terminal (stdin and stdout)"
    if os.environ.get("TERM", "").strip() == "dumb":
        return "the dashboard needs a terminal that can draw (TERM=dumb cannot)"
    return None
