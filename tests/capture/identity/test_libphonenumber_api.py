"""libphonenumber's API imported without the package's other modules: the same
findings, and the package whole for anyone who asks it for more."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from capture.identity.libphonenumber_api import _version_in

REPO = Path(__file__).resolve().parents[3]

# Every finding of the evaluation set's cases (positives and negatives, every place
# and wrapping), digested, in a fresh interpreter: with the package imported whole
# first ("whole") or as the detector imports it.
_FINDINGS = """
import hashlib, sys
if sys.argv[1] == "whole":
    import phonenumbers
from capture.identity.detector import IdentityConfig, IdentityDetector
from tests.capture.identity.test_evaluation import cases
detectors = {}
digest, count = hashlib.sha256(), 0
for case in cases():
    detector = detectors.get(case.region)
    if detector is None:
        config = IdentityConfig(region=case.region or "US")
        detector = detectors[case.region] = IdentityDetector(config)
    for finding in detector.detect(case.request):
        digest.update(repr(finding).encode())
        count += 1
print(count, digest.hexdigest(), "phonenumbers.asyoutypeformatter" in sys.modules)
"""


def _run(code: str, *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return done.stdout


def test_the_detector_finds_the_same_with_the_api_alone_as_with_the_whole_package() -> None:
    alone = _run(_FINDINGS, "alone").split()
    whole = _run(_FINDINGS, "whole").split()
    assert alone[2] == "False" and whole[2] == "True"  # the formatter: imported or not
    assert int(alone[0]) > 2000
    assert alone[:2] == whole[:2]


def test_the_package_is_completed_when_asked_for_a_name_the_api_alone_lacks() -> None:
    code = """
import sys
from capture.identity.phone import libphonenumber
api = libphonenumber()
package = sys.modules["phonenumbers"]
print(package.__version__, "AsYouTypeFormatter" in vars(package))
import phonenumbers
from phonenumbers import AsYouTypeFormatter, geocoder
number = phonenumbers.parse("+447911123456", None)
print(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
print(phonenumbers.parse is api.parse, AsYouTypeFormatter.__module__, geocoder.__name__)
print(phonenumbers.__version__ == package.__version__, "__getattr__" in vars(package))
"""
    lines = _run(code).splitlines()
    assert lines[0].endswith(" False")  # the version read before the package is whole
    assert lines[1:] == [
        "+447911123456",
        "True phonenumbers.asyoutypeformatter phonenumbers.geocoder",
        "True False",
    ]


def test_a_package_imported_whole_already_is_used_as_it_is() -> None:
    code = """
import sys
import phonenumbers
from capture.identity.phone import libphonenumber
api = libphonenumber()
print(api is sys.modules["phonenumbers.phonenumberutil"])
print(sys.modules["phonenumbers"] is phonenumbers)
"""
    assert _run(code).split() == ["True", "True"]


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ('"""doc"""\n__version__ = "9.0.43"\n', "9.0.43"),
        ("__version__='8.13.1'\n", "8.13.1"),
        ("version = '1'\n", None),
    ],
)
def test_the_version_is_read_from_the_package_s_init(
    tmp_path: Path, text: str, version: str | None
) -> None:
    path = tmp_path / "__init__.py"
    path.write_text(text)
    assert _version_in(str(path)) == version
    assert _version_in(str(tmp_path / "missing.py")) is None


def test_a_package_whose_api_needs_its_init_is_imported_as_it_is_shipped(
    tmp_path: Path,
) -> None:
    # A layout the API alone cannot be imported from (its module asks the package for
    # a name only the __init__ defines): the package is imported as usual.
    package = tmp_path / "phonenumbers"
    package.mkdir()
    (package / "__init__.py").write_text(
        '__version__ = "0.1"\nhelper = "from the init"\nfrom .phonenumberutil import parse\n'
    )
    (package / "phonenumberutil.py").write_text(
        "from . import helper\n\ndef parse():\n    return helper\n"
    )
    code = f"""
import sys
sys.path.insert(0, {str(tmp_path)!r})
from capture.identity.libphonenumber_api import load_api
api = load_api()
package = sys.modules["phonenumbers"]
print(api.parse(), "__getattr__" in vars(package), package.parse is api.parse)
"""
    assert _run(code).strip() == "from the init False True"


def test_a_thread_that_asks_while_another_completes_the_package_waits_for_it() -> None:
    # `from phonenumbers import X` in one thread while another's question ran the
    # __init__ failed with ImportError (an outside review, 5 runs of 5).
    code = """
import threading
from capture.identity.phone import libphonenumber
libphonenumber()
import phonenumbers
errors, done, go = [], threading.Event(), threading.Barrier(2)
def complete():
    go.wait()
    phonenumbers.AsYouTypeFormatter
    done.set()
def ask():
    go.wait()
    while True:
        try:
            from phonenumbers import PhoneNumberMatcher, is_valid_number
        except Exception as exc:
            errors.append(repr(exc))
        if done.is_set() or errors:
            break
threads = [threading.Thread(target=complete), threading.Thread(target=ask)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(errors)
"""
    for _ in range(3):
        assert _run(code, timeout=60).strip() == "[]"


def test_a_completion_stopped_half_way_is_run_again_at_the_next_question() -> None:
    code = """
import sys
from capture.identity.phone import libphonenumber
libphonenumber()
import phonenumbers
def stop(frame, event, arg):
    if event == "call" and frame.f_code.co_filename.endswith("asyoutypeformatter.py"):
        raise KeyboardInterrupt
sys.settrace(stop)
try:
    phonenumbers.PhoneNumberMatcher
except KeyboardInterrupt:
    print("stopped")
sys.settrace(None)
from phonenumbers import AsYouTypeFormatter
print(phonenumbers.PhoneNumberMatcher.__name__, phonenumbers.parse.__name__)
"""
    assert _run(code, timeout=60).split() == ["stopped", "PhoneNumberMatcher", "parse"]
