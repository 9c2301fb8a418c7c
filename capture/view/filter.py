"""View filters: mitmproxy's expression language over store entries.

Grammar (the one mitmproxy users already type; docs/filters.md)::

    expr   := and ('|' and)*
    and    := not (['&'] not)*          two terms side by side mean '&'
    not    := '!' not | atom
    atom   := '(' expr ')' | '~op' [argument] | argument      a bare argument means '~u argument'

Arguments are regexes in RE2's syntax (:mod:`capture.view.regex`: linear time
whatever the text), searched case-insensitively (``(?-i:...)`` turns that off). An
argument holding spaces, parentheses, ``~`` or quotes is quoted with ``"..."`` or
``'...'``; inside quotes a backslash before the quote character
escapes it and every other backslash is kept, so regex escapes such as ``\\d``
work as written. Unquoted arguments may contain ``&`` and ``|`` (``~h
msisdn|imsi`` is one regex, as in mitmproxy), except at their end: ``~d a|~d b``
reads as ``~d a | ~d b``. The operators are the entries of :data:`OPERATORS`;
the grammar and every operator are described in docs/filters.md.

Compiling does all the work once (parse, regex compilation, operator lookup)
and yields a tree of closures; matching an entry allocates nothing once the
entry's search texts are built (kept in the entry's ``text_*`` slots), so
re-filtering 100,000 entries costs a few tens of milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from capture.http.urls import endpoint, request_url
from capture.model import IDENTITY_KINDS, INFO_KINDS, Header, Record
from capture.text import printable
from capture.view.regex import Regex, RegexError
from capture.view.store import SEARCH_TEXT_FIELDS, Entry

Match = Callable[[Entry], bool]

_IDENTITY = frozenset(IDENTITY_KINDS)
_KNOWN_KINDS = IDENTITY_KINDS + INFO_KINDS
_WORD_STOP = frozenset("()~'\"")
_SPACE = frozenset(" \t\r\n\f\v")


class FilterError(ValueError):
    """An expression that cannot be compiled; ``str()`` is one line for the user."""

    def __init__(self, message: str, position: int) -> None:
        # The message may quote the expression (a regex's error quotes the pattern),
        # and an expression may hold a newline or a control character: escaped, so
        # that what is said stays one line.
        message = printable(message)
        super().__init__(f"{message} at {position}")
        self.message = message
        """What is wrong, without the position."""
        self.position = position
        """Character offset in the expression where the problem is."""


class Filter:
    """A compiled filter expression; call it on an :class:`~capture.view.store.Entry`."""

    __slots__ = ("expr", "match", "matches_all")

    def __init__(self, expr: str, match: Match, matches_all: bool) -> None:
        self.expr = expr
        """The expression as given."""
        self.match = match
        """The bare predicate (what :meth:`__call__` calls), for tight loops."""
        self.matches_all = matches_all
        """True when the expression accepts every entry (empty, ``~all``): skip filtering."""

    def __call__(self, entry: Entry) -> bool:
        return self.match(entry)

    def __repr__(self) -> str:
        return f"Filter({self.expr!r})"


def _true(entry: Entry) -> bool:
    return True


def compile_filter(expr: str) -> Filter:
    """Compile ``expr``; the empty (or blank) expression matches everything.

    Raises :class:`FilterError` with the offending position.
    """
    if not expr.strip():
        return Filter(expr, _true, True)
    match = _Parser(expr).parse()
    return Filter(expr, match, match is _true)


# --- search texts, built once per record (see capture.view.store.Entry) --------------
#
# Each searchable field has a builder (record -> original text, None when the field
# does not exist, e.g. response headers before the response). What is cached is the
# field's *search form*: lower-cased when the text is ASCII, else the original. See
# _Rex for why lower-case (a literal pattern is searched with ``in``), and why ASCII only.


def _header_block(headers: tuple[Header, ...]) -> str:
    # One "name: value" line per header; str.join over the (name, value) pairs is
    # twice as fast as formatting each line.
    return "\n".join(map(": ".join, headers))


def _first_value(headers: tuple[Header, ...], lname: str) -> str:
    for name, value in headers:
        if name.lower() == lname:
            return value
    return ""


def _b_request_headers(record: Record) -> str | None:
    # As sent and, when a reflector echoed it, as received: a request matches if
    # either block does (what the carrier added is what users look for).
    moved = record.transit
    sent = _header_block(record.request.headers)
    return sent if moved is None else sent + "\n" + _header_block(moved.received)


def _b_response_headers(record: Record) -> str | None:
    response = record.response
    return None if response is None else _header_block(response.headers)


def _b_header_names(record: Record) -> str | None:
    moved = record.transit
    headers = record.request.headers if moved is None else record.request.headers + moved.received
    return "\n".join([name for name, _ in headers])


def _b_url(record: Record) -> str | None:
    return request_url(record.request)


def _b_destination(record: Record) -> str | None:
    return record.request.destination


def _b_src(record: Record) -> str | None:
    return endpoint(record.request.src, record.request.sport)


def _b_dst(record: Record) -> str | None:
    return endpoint(record.request.dst, record.request.dport)


def _b_app(record: Record) -> str | None:
    return record.request.app or None  # unknown: no app matches


def _b_content_type(record: Record) -> str | None:
    return _first_value(record.request.headers, "content-type")


def _b_response_content_type(record: Record) -> str | None:
    response = record.response
    return None if response is None else _first_value(response.headers, "content-type")


Getter = Callable[[Entry], "str | None"]


def _cached(slot: str, build: Callable[[Record], str | None]) -> Getter:
    """A getter of the search form of one field, cached in the entry's text slots."""

    def get(entry: Entry) -> str | None:
        record = entry.record
        built_for = entry.text_record
        if built_for is not record:
            if built_for is not None:
                # The record was replaced (a response arrived): drop stale texts.
                for name in SEARCH_TEXT_FIELDS:
                    setattr(entry, name, None)
            entry.text_record = record
        value: str | None = getattr(entry, slot, None)
        if value is None:
            original = build(record)
            if original is None:
                return None  # the field is absent (no response yet): not cached
            value = original.lower() if original.isascii() else original
            setattr(entry, slot, value)
        return value

    return get


def _original(build: Callable[[Record], str | None]) -> Getter:
    """A getter of the original text (not cached: only case-sensitive patterns need it)."""

    def get(entry: Entry) -> str | None:
        return build(entry.record)

    return get


class _Field:
    """One searchable field: its cached search form and its original text."""

    __slots__ = ("original", "search")

    def __init__(self, slot: str, build: Callable[[Record], str | None]) -> None:
        self.search = _cached(slot, build)
        self.original = _original(build)


_REQUEST_HEADERS = _Field("text_request_headers", _b_request_headers)
_RESPONSE_HEADERS = _Field("text_response_headers", _b_response_headers)
_HEADER_NAMES = _Field("text_header_names", _b_header_names)
_URL = _Field("text_url", _b_url)
_DESTINATION = _Field("text_destination", _b_destination)
_SRC = _Field("text_src", _b_src)
_DST = _Field("text_dst", _b_dst)
_APP = _Field("text_app", _b_app)
_CONTENT_TYPE = _Field("text_content_type", _b_content_type)
_RESPONSE_CONTENT_TYPE = _Field("text_response_content_type", _b_response_content_type)


# --- regexes ------------------------------------------------------------------

# "(?-i:...)" or "(?i-s)": a group that may switch case sensitivity back on.
_FLAG_OFF = re.compile(r"\(\?[imsU]*-")
_META = frozenset(".^$*+?{}[]|()")


def _literal(source: str) -> str | None:
    """The lower-cased text ``source`` stands for when it is plain ASCII text (letters,
    digits, escaped punctuation such as ``\\.``), else None.

    ``in`` on the lower-cased text beats any regex engine's search, and most
    filters typed are such words: ``bbc``, ``x-up-calling-line-id``.
    """
    if not source.isascii():
        return None
    out: list[str] = []
    escaped = False
    for char in source:
        if escaped:
            if char.isalnum():
                return None  # \d, \b, \x41: a class, an assertion or a letter spelled
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _META:
            return None
        else:
            out.append(char.lower())
    return "".join(out) if out and not escaped else None


class _Rex:
    """A user's regex, with the fastest search that gives the same answer."""

    __slots__ = ("exact", "literal", "needs_original")

    def __init__(self, source: str, multiline: bool) -> None:
        self.exact = Regex(source, multiline)
        """The regex as the user wrote it (case-insensitive); compiling it validates the input."""
        self.needs_original = _FLAG_OFF.search(source) is not None
        """Part of the pattern is case-sensitive: search the original text, not its search form."""
        self.literal = None if self.needs_original else _literal(source)
        """The lower-cased literal when the pattern is one (``in`` beats any regex)."""


def _on_field(rex: _Rex, field: _Field) -> Match:
    """A matcher that searches one field with ``rex``; an absent field never matches."""
    exact = rex.exact.search
    if rex.needs_original:
        get = field.original

        def match_original(entry: Entry) -> bool:
            text = get(entry)
            return text is not None and exact(text)

        return match_original
    search_form = field.search
    literal = rex.literal
    if literal is not None:

        def match_literal(entry: Entry) -> bool:
            text = search_form(entry)
            if text is None:
                return False
            # ASCII texts are cached lower-cased; others as they were (see _cached).
            return literal in text if text.isascii() else exact(text)

        return match_literal

    def match_exact(entry: Entry) -> bool:
        # Case-insensitive: the same answer on the lower-cased form as on the original.
        text = search_form(entry)
        return text is not None and exact(text)

    return match_exact


# --- operators ----------------------------------------------------------------


def _field_op(field: _Field) -> Callable[[_Rex], Match]:
    def build(rex: _Rex) -> Match:
        return _on_field(rex, field)

    return build


def _op_h(rex: _Rex) -> Match:
    return _or(_on_field(rex, _REQUEST_HEADERS), _on_field(rex, _RESPONSE_HEADERS))


def _op_m(rex: _Rex) -> Match:
    search = rex.exact.search

    def match(entry: Entry) -> bool:
        return search(entry.record.request.method)

    return match


def _op_b(rex: _Rex) -> Match:
    search = rex.exact.search

    def match(entry: Entry) -> bool:
        body = entry.record.request.body
        # As in mitmproxy, a request without a body never matches (not even ~b .*).
        # Latin-1 maps every byte to one character, so any body is searchable.
        return bool(body) and search(body.decode("latin-1"))

    return match


def _op_comment(rex: _Rex) -> Match:
    search = rex.exact.search

    def match(entry: Entry) -> bool:
        return search(entry.comment)

    return match


def _op_marked(entry: Entry) -> bool:
    return entry.marked


def _injected_names(entry: Entry) -> list[str]:
    moved = entry.record.transit
    if moved is None:
        return []
    return [n for n, _ in moved.injected] + [n for n, _, _ in moved.changed]


def _removed_names(entry: Entry) -> list[str]:
    moved = entry.record.transit
    return [] if moved is None else [n for n, _ in moved.removed]


def _anomalies(entry: Entry) -> tuple[str, ...]:
    return entry.record.anomalies


def _names_op(names: Callable[[Entry], Sequence[str]]) -> Compile:
    """An operator over a record's texts (header names, anomaly notes), each searched
    on its own, with an optional regex: without it, any text."""

    def compile_(parser: _Parser, start: int) -> Match:
        op = parser.text[start : parser.pos]
        arg = None if parser._peek() == "!" else parser._argument()
        if arg is None:
            return lambda entry: bool(names(entry))
        search = parser._regex(arg[0], op, arg[1]).exact.search
        return lambda entry: any(search(name) for name in names(entry))

    return compile_


def _op_q(entry: Entry) -> bool:
    return entry.record.response is None


def _op_s(entry: Entry) -> bool:
    return entry.record.response is not None


def _has_identity(entry: Entry) -> bool:
    # A plain loop, not any(<generator>): no generator object per entry.
    for finding in entry.record.findings:  # noqa: SIM110
        if finding.kind in _IDENTITY:
            return True
    return False


def _op_id_kinds(rex: Regex) -> Match:
    fullmatch = rex.fullmatch
    # Kinds are few: decide each once. Kinds a future detector adds are decided
    # when first seen (the cache stays as small as the set of kinds).
    decided: dict[str, bool] = {k: fullmatch(k) for k in _KNOWN_KINDS}

    def match(entry: Entry) -> bool:
        for finding in entry.record.findings:
            kind = finding.kind
            hit = decided.get(kind)
            if hit is None:
                hit = decided[kind] = fullmatch(kind)
            if hit:
                return True
        return False

    return match


def _op_c(code: int) -> Match:
    def match(entry: Entry) -> bool:
        response = entry.record.response
        return response is not None and response.status == code

    return match


def _op_t(rex: _Rex) -> Match:
    # As in mitmproxy: the request's or the response's Content-Type.
    return _or(_on_field(rex, _CONTENT_TYPE), _on_field(rex, _RESPONSE_CONTENT_TYPE))


Compile = Callable[["_Parser", int], Match]
"""Reads an operator's argument (if any) from the parser and builds its matcher;
the int is where the operator starts, for error messages."""


def _with_regex(build: Callable[[_Rex], Match], block: bool = False) -> Compile:
    """An operator that takes a regex. ``block``: it searches a header block, one
    ``name: value`` line per header, where ^ and $ anchor at each line ('.' still
    stops at the line end)."""

    def compile_(parser: _Parser, start: int) -> Match:
        name = parser.text[start : parser.pos]
        arg = parser._argument()
        if arg is None:
            if parser._peek() == "(":
                # "~d (?=bbc)": the parenthesis groups filter terms, so a regex that
                # starts with one must be quoted; say so rather than only "needs".
                raise FilterError(
                    f"{name} needs an argument (quote a regex that starts with '(': "
                    f'{name} "(...)")',
                    parser.pos,
                )
            raise FilterError(f"{name} needs an argument", parser.pos)
        return build(parser._regex(arg[0], name, arg[1], block))

    return compile_


def _bare(match: Match) -> Compile:
    """An operator without an argument."""
    return lambda parser, start: match


def _compile_identity(parser: _Parser, start: int) -> Match:
    # The kind is optional: '!' after ~id starts the next (negated) term.
    arg = None if parser._peek() == "!" else parser._argument()
    if arg is None:
        return _has_identity
    rex = parser._regex(arg[0], "~id", arg[1]).exact
    if not any(rex.fullmatch(kind) for kind in _KNOWN_KINDS):
        raise FilterError(f"~id {arg[0]} matches no finding kind {_nearly(rex)}", arg[1])
    return _op_id_kinds(rex)


def _nearly(rex: Regex) -> str:
    """For a kind that matched none fully: the kinds it matches part of ("tracking":
    did you mean tracking_id?), else all of them."""
    near = [kind for kind in _KNOWN_KINDS if rex.search(kind)]
    if near:
        return f"fully (did you mean {', '.join(near[:-1])}{' or ' if near[1:] else ''}{near[-1]}?)"
    return f"(kinds: {', '.join(_KNOWN_KINDS)})"


def _compile_status(parser: _Parser, start: int) -> Match:
    arg = None if parser._peek() == "!" else parser._argument()
    if arg is None:
        raise FilterError("~c needs a status code", parser.pos)
    if not arg[0].isdigit() or not arg[0].isascii() or len(arg[0]) > 3:
        raise FilterError(f"~c needs a status code, not {arg[0][:20]!r}", arg[1])
    return _op_c(int(arg[0]))


@dataclass(frozen=True, slots=True)
class Operator:
    """One filter operator: the single entry the parser, the dispatch and the help
    text are all made from."""

    name: str
    """As typed after ``~``."""
    argument: str
    """How its argument reads in help: ``rex``, ``[kind]``, ``code``, or empty."""
    meaning: str
    """One line for help screens and docs."""
    compile: Compile

    @property
    def syntax(self) -> str:
        """``~name argument``, as help screens show it."""
        return f"~{self.name} {self.argument}".rstrip()


OPERATORS: tuple[Operator, ...] = (
    Operator(
        "id",
        "[kind]",
        "an identity finding; with a kind (a regex matching it fully), any finding of that "
        "kind: ~id msisdn, ~id tracking_id",
        _compile_identity,
    ),
    Operator(
        "h",
        "rex",
        "a request (as sent or as received) or response header line, 'name: value'",
        _with_regex(_op_h, block=True),
    ),
    Operator(
        "hq",
        "rex",
        "a request header line, as sent or as received",
        _with_regex(_field_op(_REQUEST_HEADERS), block=True),
    ),
    Operator(
        "hs", "rex", "a response header line", _with_regex(_field_op(_RESPONSE_HEADERS), block=True)
    ),
    Operator(
        "hn",
        "rex",
        "a request header name, as sent or as received",
        _with_regex(_field_op(_HEADER_NAMES), block=True),
    ),
    Operator(
        "inj",
        "[rex]",
        "a header added or changed in transit (a reflector's echo "
        "showed it); with a regex, one whose name matches: ~inj x-up-",
        _names_op(_injected_names),
    ),
    Operator(
        "rm",
        "[rex]",
        "a header removed in transit; with a regex, one whose name matches",
        _names_op(_removed_names),
    ),
    Operator(
        "anomaly",
        "[rex]",
        "an anomaly noted on the request or its response (a capture gap, a head cut, TCP "
        "evasion, a reflector's refusal); with a regex, one that matches: ~anomaly reset",
        _names_op(_anomalies),
    ),
    Operator(
        "d",
        "rex",
        "the host (Host header, else CONNECT target or server address)",
        _with_regex(_field_op(_DESTINATION)),
    ),
    Operator("m", "rex", "the method", _with_regex(_op_m)),
    Operator(
        "u",
        "rex",
        "the URL, http://host/target (a bare word means ~u)",
        _with_regex(_field_op(_URL)),
    ),
    Operator("src", "rex", "the client, address:port", _with_regex(_field_op(_SRC))),
    Operator("dst", "rex", "the server, address:port", _with_regex(_field_op(_DST))),
    Operator(
        "app", "rex", "the app that sent it (PCAPdroid captures)", _with_regex(_field_op(_APP))
    ),
    Operator("t", "rex", "the request or response Content-Type", _with_regex(_op_t)),
    Operator("tq", "rex", "the request Content-Type", _with_regex(_field_op(_CONTENT_TYPE))),
    Operator(
        "ts", "rex", "the response Content-Type", _with_regex(_field_op(_RESPONSE_CONTENT_TYPE))
    ),
    Operator(
        "b",
        "rex",
        "the request body (bytes as Latin-1; response bodies are not kept)",
        _with_regex(_op_b),
    ),
    Operator("bq", "rex", "the request body", _with_regex(_op_b)),
    Operator("c", "code", "the response status code", _compile_status),
    Operator("q", "", "no response seen", _bare(_op_q)),
    Operator("s", "", "a response seen", _bare(_op_s)),
    Operator("marked", "", "marked by you", _bare(_op_marked)),
    Operator("comment", "rex", "your comment", _with_regex(_op_comment)),
    Operator("all", "", "everything", _bare(_true)),
)
"""Every operator. Adding one is one entry here (see docs/extending.md)."""

COMBINATORS = ("! & | ( )", "not, and (also: side by side), or, grouping; ! before & before |")
"""The syntax that is not an operator, for help screens."""

_BY_NAME = {op.name: op for op in OPERATORS}


def help_rows() -> list[tuple[str, str]]:
    """(syntax, meaning) of every operator and the combinators, for help screens."""
    return [(op.syntax, op.meaning) for op in OPERATORS] + [COMBINATORS]


# mitmproxy operators we know and cannot honour: say why instead of "unknown".
_UNSUPPORTED = {
    "bs": "response bodies are not kept",
    "a": "response bodies are not kept",
    "e": "errors are not recorded per request",
    "tcp": "only HTTP requests are listed",
    "udp": "only HTTP requests are listed",
    "dns": "only HTTP requests are listed",
    "websocket": "only HTTP requests are listed",
    "http": "every entry is HTTP: use ~all",
    "replay": "there is no replay",
    "replayq": "there is no replay",
    "replays": "there is no replay",
    "meta": "entries carry no metadata",
    "marker": "use ~marked",
}


def _and(a: Match, b: Match) -> Match:
    if a is _true:
        return b
    if b is _true:
        return a

    def match(entry: Entry) -> bool:
        return a(entry) and b(entry)

    return match


def _or(a: Match, b: Match) -> Match:
    if a is _true or b is _true:
        return _true

    def match(entry: Entry) -> bool:
        return a(entry) or b(entry)

    return match


def _not(a: Match) -> Match:
    def match(entry: Entry) -> bool:
        return not a(entry)

    return match


# --- parser -------------------------------------------------------------------


class _Parser:
    """Recursive descent over the expression text, building closures as it goes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.end = len(text)

    def parse(self) -> Match:
        match = self._or()
        self._skip()
        if self.pos < self.end:
            # _or() stops only at the end or at a ')' that nothing opened.
            raise FilterError("unbalanced parenthesis", self.pos)
        return match

    def _skip(self) -> None:
        text, pos, end = self.text, self.pos, self.end
        while pos < end and text[pos] in _SPACE:
            pos += 1
        self.pos = pos

    def _peek(self) -> str:
        self._skip()
        return self.text[self.pos] if self.pos < self.end else ""

    def _or(self) -> Match:
        match = self._and()
        while self._peek() == "|":
            self.pos += 1
            match = _or(match, self._and(after="|"))
        return match

    def _and(self, after: str = "") -> Match:
        match = self._not(after)
        while True:
            char = self._peek()
            if char == "&":
                self.pos += 1
                match = _and(match, self._not("&"))
            elif char and char not in "|)":
                match = _and(match, self._not())
            else:
                return match

    def _not(self, after: str = "") -> Match:
        if self._peek() == "!":
            self.pos += 1
            return _not(self._not("!"))
        return self._atom(after)

    def _atom(self, after: str) -> Match:
        char = self._peek()
        start = self.pos
        if char == "(":
            self.pos += 1
            if self._peek() == ")":
                raise FilterError("empty parentheses", start)
            match = self._or()
            if self._peek() != ")":
                raise FilterError("unbalanced parenthesis", start)
            self.pos += 1
            return match
        if char == "~":
            return self._operator()
        if char == "" or char in "&|)":
            where = f" after {after}" if after else ""
            found = "end of expression" if char == "" else f"'{char}'"
            raise FilterError(f"expected a filter term{where}, found {found}", start)
        word = self._argument()
        assert word is not None  # the characters checked above always start one
        return _on_field(self._regex(word[0], "a bare word", word[1]), _URL)

    def _operator(self) -> Match:
        text, start = self.text, self.pos
        pos = start + 1
        while pos < self.end and (text[pos].isalpha() or text[pos] == "_"):
            pos += 1
        name = text[start + 1 : pos]
        self.pos = pos
        if not name:
            raise FilterError("'~' must be followed by an operator name", start)
        operator = _BY_NAME.get(name)
        if operator is None:
            reason = _UNSUPPORTED.get(name)
            if reason is not None:
                raise FilterError(f"operator ~{name} is not supported ({reason})", start)
            raise FilterError(f"unknown operator ~{name}", start)
        return operator.compile(self, start)

    def _argument(self) -> tuple[str, int] | None:
        """The next argument and its position, or None when an operator or the end follows."""
        char = self._peek()
        start = self.pos
        if char in ("'", '"'):
            return self._quoted(char), start
        if char == "" or char in _WORD_STOP:
            return None
        text, pos, end = self.text, start, self.end
        while pos < end and text[pos] not in _SPACE and text[pos] not in _WORD_STOP:
            pos += 1
        # A trailing '&' or '|' is the operator that follows, not part of the
        # regex (an alternative that is empty would match everything anyway).
        stop = pos
        while stop > start and text[stop - 1] in "&|":
            stop -= 1
        if stop == start:
            return None
        self.pos = stop
        return text[start:stop], start

    def _quoted(self, quote: str) -> str:
        text, start, end = self.text, self.pos, self.end
        pos = start + 1
        out: list[str] = []
        while pos < end:
            char = text[pos]
            if char == "\\" and pos + 1 < end:
                nxt = text[pos + 1]
                # Only an escaped quote loses its backslash: regex escapes stay intact.
                out.append(nxt if nxt == quote else char + nxt)
                pos += 2
                continue
            if char == quote:
                self.pos = pos + 1
                return "".join(out)
            out.append(char)
            pos += 1
        raise FilterError("unterminated quote", start)

    @staticmethod
    def _regex(source: str, what: str, position: int, multiline: bool = False) -> _Rex:
        try:
            return _Rex(source, multiline)
        except RegexError as exc:
            raise FilterError(f"invalid regex in {what}: {exc}", position) from None


_PREPARED = (_REQUEST_HEADERS, _URL, _DESTINATION)


def prepare(entries: Iterable[Entry]) -> None:
    """Build the search texts most filters use (headers, URL, host) ahead of time.

    Optional: filters build what they need on first use. Calling this on each
    new batch (about 3 µs per entry) moves that cost off the first keystroke of
    a filter over a large store.
    """
    getters = [field.search for field in _PREPARED]
    for entry in entries:
        for get in getters:
            get(entry)


def matches(expr: str, record: Record) -> bool:
    """One-off convenience: does ``record`` match ``expr``? (Compiles every call.)"""
    return compile_filter(expr)(Entry(record))
