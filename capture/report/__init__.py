"""Evidence reports: what a capture shows, for people who do not run headerwatch.

:mod:`capture.report.model` builds a :class:`~capture.report.model.Report` (plain
frozen data, every string already safe to show) from the pipeline's records;
:mod:`capture.report.html` and :mod:`capture.report.markdown` render it;
:mod:`capture.report.study` aggregates many probe or reflector results per
network; :mod:`capture.report.write` reads inputs and writes the file.
"""
