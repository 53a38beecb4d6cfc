"""Fuzz target: metrics-scrape's Prometheus text parser and its mapping to events
(Plugins/metrics-scrape/prom_text.py, scrape_mapping.py).

`fuzz(data)` never raises for any input; an AssertionError is a real bug: a parse that reports
inconsistent counts, a sample that breaks the grammar's guarantees, or an event the daemon would
take as impersonation or a protocol violation (a reserved name or label, a non-finite value,
more than 32 labels).
"""
import importlib.util
import math
import os
import re
import sys

_PLUGIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "Plugins", "metrics-scrape")
sys.path.insert(0, os.path.abspath(_PLUGIN))
_spec = importlib.util.spec_from_file_location("metrics_scrape_prom_text", os.path.join(_PLUGIN, "prom_text.py"))
parser_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(parser_module)
sys.modules.setdefault("prom_text", parser_module)
import scrape_mapping  # noqa: E402
import scrape_settings  # noqa: E402

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_ERROR = re.compile(r"line [0-9]+: ")
_SETTINGS = scrape_settings.Settings({"max_series_total": 200, "targets": [{
    "url": "http://127.0.0.1:9/metrics", "max_series": 100, "labels": {"component": "fuzz"},
    "metrics": [{"match": "fps", "mode": "delta"}, {"match_regex": "go_.*", "mode": "rate", "scale": 1e12},
                {"match_regex": ".*", "rename_labels": {"a": "b"}}]}]})
assert _SETTINGS.targets, _SETTINGS.errors


def fuzz(data: bytes) -> None:
    samples = []
    report = parser_module.parse_bytes(data, samples.append, max_line_bytes=512, max_errors=50,
                                       max_samples=5000, max_families=100, errors_kept=10)
    assert len(samples) <= report.samples <= report.lines, (len(samples), report.samples, report.lines)
    assert report.bad_lines <= report.lines
    assert len(report.errors) <= 10 and len(report.errors) == min(10, report.bad_lines)
    for error in report.errors:
        assert _ERROR.match(error), error
    for sample in samples:
        assert _NAME.match(sample.name), sample.name
        keys = [k for k, _ in sample.labels]
        assert len(keys) == len(set(keys)), keys
        assert all(_LABEL.match(k) and k != "__name__" for k in keys), keys
        assert isinstance(sample.value, float)
        assert sample.timestamp_ms is None or -(1 << 63) <= sample.timestamp_ms < (1 << 63)
    book = scrape_mapping.SeriesBook(_SETTINGS.max_series_total)
    for now in (1.0, 2.0):
        scrape = scrape_mapping.Scrape(_SETTINGS.targets[0], book, now)
        for sample in samples:
            scrape.on_sample(sample)
        assert len(scrape.events) <= 100
        for event in scrape.events:
            assert not scrape_settings.reserved(event["name"]), event["name"]
            assert "plugin" not in event["labels"] and "source" not in event["labels"], event["labels"]
            assert len(event["labels"]) <= 32
            assert all(len(v.encode("utf-8")) <= 512 for v in event["labels"].values())
            assert math.isfinite(event["value"]), event
    assert len(book.known) <= 200


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            fuzz(f.read())
