"""Which records a command prints, and the exit codes every command shares."""

from __future__ import annotations

from capture.model import Record, has_identity

EXIT_OK = 0
EXIT_IDENTITY = 1
"""An identity was seen and ``--fail-on-identity`` asked for it."""
EXIT_FAILED = 1
"""A dashboard failed: an error in it or in its capture thread (what Python gives a
program an error ends; only dashboards return it, where ``--fail-on-identity`` has no
part)."""
EXIT_USAGE = 2
"""Bad input: a missing or foreign file, a bad option, a failed capture."""
EXIT_INTERRUPTED = 130
"""A scan stopped by Ctrl-C (128 + SIGINT, as the shell reports it)."""


class Selection:
    """Which records a command prints (all, or only those carrying an identity with
    ``--only-identity``), counting those that carry one (for ``--fail-on-identity``)."""

    def __init__(self, only_identity: bool = False) -> None:
        self.only_identity = only_identity
        self.identities = 0
        """Records seen that carry an identity."""

    def keep(self, record: Record) -> bool:
        """Whether to print ``record`` (and count it if it carries an identity)."""
        if record.findings and has_identity(record.findings):
            self.identities += 1
            return True
        return not self.only_identity

    def exit_code(self, fail_on_identity: bool, counted: int = 0) -> int:
        """1 if an identity was seen and ``--fail-on-identity`` asks so, else 0.
        ``counted``: the requests with an identity the pipeline counted, which may
        exceed those written: a reflector's echo that came after its request was let
        go at a bound (its summary said "1 identity", its status said none)."""
        seen = self.identities or counted
        return EXIT_IDENTITY if fail_on_identity and seen else EXIT_OK
