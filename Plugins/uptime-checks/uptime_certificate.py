"""The expiry (notAfter) of an X.509 certificate in DER, read with strict bounds: the server sends
the certificate, so every length is checked against what is left and nothing else is decoded.
Used whether or not the certificate was verified (with `tls_verify: false` Python gives no parsed
certificate, only DER)."""
import calendar

MAX_CERTIFICATE = 64 * 1024


class CertificateError(ValueError):
    """The bytes are not a certificate whose validity can be read."""


def _tlv(data, offset, end):
    """(tag, start of the value, end of the value) of the element at `offset`, within `end`."""
    if offset + 2 > end:
        raise CertificateError("truncated element at byte %d" % offset)
    tag = data[offset]
    first = data[offset + 1]
    offset += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise CertificateError("unsupported length form at byte %d" % (offset - 1))
        if offset + count > end:
            raise CertificateError("truncated length at byte %d" % offset)
        length = int.from_bytes(data[offset:offset + count], "big")
        offset += count
    if length > end - offset:
        raise CertificateError("element at byte %d runs past its container" % offset)
    return tag, offset, offset + length


def _time(tag, raw):
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CertificateError("a validity time is not ASCII")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        if len(text) != 13 or not text[:12].isdigit() or text[12] != "Z":
            raise CertificateError("bad UTCTime %r" % text[:20])
        year = int(text[0:2])
        year += 1900 if year >= 50 else 2000
        rest = text[2:12]
    elif tag == 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        if len(text) != 15 or not text[:14].isdigit() or text[14] != "Z":
            raise CertificateError("bad GeneralizedTime %r" % text[:20])
        year = int(text[0:4])
        rest = text[4:14]
    else:
        raise CertificateError("a validity time has tag 0x%02x" % tag)
    month, day, hour, minute, second = (int(rest[i:i + 2]) for i in range(0, 10, 2))
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1] and hour < 24
            and minute < 60 and second < 61):
        raise CertificateError("a validity time is not a date: %r" % text)
    return calendar.timegm((year, month, day, hour, minute, min(second, 59), 0, 0, 0))


def not_after(der):
    """Seconds since the epoch at which the certificate stops being valid."""
    if not isinstance(der, (bytes, bytearray)) or not der:
        raise CertificateError("no certificate")
    if len(der) > MAX_CERTIFICATE:
        raise CertificateError("certificate larger than 64 KiB")
    data = bytes(der)
    tag, start, end = _tlv(data, 0, len(data))
    if tag != 0x30:
        raise CertificateError("not a SEQUENCE")
    tag, start, end = _tlv(data, start, end)  # tbsCertificate
    if tag != 0x30:
        raise CertificateError("no tbsCertificate")
    offset = start
    tag, _, after = _tlv(data, offset, end)
    if tag == 0xA0:  # [0] version
        offset = after
    for expected in (0x02, 0x30, 0x30):  # serialNumber, signature, issuer
        tag, _, after = _tlv(data, offset, end)
        if tag != expected:
            raise CertificateError("unexpected tag 0x%02x in tbsCertificate" % tag)
        offset = after
    tag, vstart, vend = _tlv(data, offset, end)  # validity
    if tag != 0x30:
        raise CertificateError("no validity")
    tag, s, e = _tlv(data, vstart, vend)  # notBefore
    _time(tag, data[s:e])
    tag, s, e = _tlv(data, e, vend)  # notAfter
    return _time(tag, data[s:e])


def days_left(der, now):
    """Days (fractional) from `now` (epoch seconds) until the certificate expires; negative once expired."""
    return (not_after(der) - now) / 86400.0
