"""Fuzz target: uptime-checks' reader of a certificate's notAfter (Plugins/uptime-checks/
uptime_certificate.py) on the DER a hostile server sends.

`fuzz(data)` never raises; an AssertionError is a real bug: anything but a CertificateError or a
whole number of seconds within the years DER can write."""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                                "Plugins", "uptime-checks")))
import uptime_certificate  # noqa: E402


def fuzz(data: bytes) -> None:
    try:
        seconds = uptime_certificate.not_after(data)
    except uptime_certificate.CertificateError:
        return
    assert isinstance(seconds, int)
    assert -62135596800 <= seconds <= 253402300799, seconds  # years 1 to 9999
