"""inotify through ctypes on the C library, and a strict parser of its event buffer.

The kernel writes `struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }`
records back to back; `len` counts the NUL padding. The parser trusts none of it: a record whose
header or name runs past the buffer, a name longer than NAME_MAX or one holding a `/` ends the
parse with `InotifyBufferError`, and the caller answers with a full rescan (the same answer as
an overflow), so a malformed buffer can cost a rescan, never a wrong path or a crash.
"""
import ctypes
import ctypes.util
import errno
import os
import struct

IN_ACCESS = 0x00000001
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

# What a watched folder reports: every way an entry's content, metadata or name can change,
# and the folder itself going away (then the kernel drops the watch: IN_IGNORED).
DIRECTORY_MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE
                  | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)

# What a watched file reports (a root that is a file is watched itself besides its folder).
FILE_MASK = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF

HEADER = struct.Struct("=iIII")
NAME_MAX = 255
# One record's name field: NAME_MAX bytes, its NUL, and the kernel's padding to 16 bytes.
MAX_NAME_FIELD = 272
READ_SIZE = 65536


class InotifyBufferError(ValueError):
    """The event buffer does not parse; `events` holds the records read before the fault."""

    def __init__(self, message, events):
        super().__init__(message)
        self.events = events


class InotifyEvent:
    __slots__ = ("wd", "mask", "cookie", "name")

    def __init__(self, wd, mask, cookie, name):
        self.wd = wd
        self.mask = mask
        self.cookie = cookie
        self.name = name  # bytes, b"" when the event is about the watched folder itself

    def __repr__(self):
        return "InotifyEvent(wd=%d, mask=%#x, cookie=%d, name=%r)" % (self.wd, self.mask, self.cookie, self.name)


def parse_events(buffer):
    """The events in `buffer` (bytes from one read of an inotify fd), in order."""
    events = []
    view = memoryview(buffer)
    offset, size = 0, len(view)
    while offset < size:
        if size - offset < HEADER.size:
            raise InotifyBufferError("a record header is cut short at byte %d of %d" % (offset, size), events)
        wd, mask, cookie, length = HEADER.unpack_from(view, offset)
        offset += HEADER.size
        if length > MAX_NAME_FIELD:
            raise InotifyBufferError("a record's name field is %d bytes (at most %d)" % (length, MAX_NAME_FIELD), events)
        if length > size - offset:
            raise InotifyBufferError("a record's name runs %d bytes past the buffer" % (length - (size - offset)), events)
        raw = bytes(view[offset:offset + length])
        offset += length
        name = raw.split(b"\0", 1)[0]
        if len(name) > NAME_MAX:
            raise InotifyBufferError("a name is %d bytes (at most %d)" % (len(name), NAME_MAX), events)
        if b"/" in name or name in (b".", b".."):
            raise InotifyBufferError("a name is not a single path component: %r" % name[:64], events)
        if wd < 0 and not mask & IN_Q_OVERFLOW:
            raise InotifyBufferError("a record has watch descriptor %d" % wd, events)
        events.append(InotifyEvent(wd, mask, cookie, name))
    return events


_libc = None


def _c():
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        lib.inotify_init1.argtypes = [ctypes.c_int]
        lib.inotify_init1.restype = ctypes.c_int
        lib.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        lib.inotify_add_watch.restype = ctypes.c_int
        lib.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.inotify_rm_watch.restype = ctypes.c_int
        _libc = lib
    return _libc


class Inotify:
    """One inotify instance (non-blocking, close-on-exec)."""

    def __init__(self):
        fd = _c().inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, "inotify_init1: " + os.strerror(code))
        self.fd = fd

    def fileno(self):
        return self.fd

    def add_watch(self, path, mask):
        """The watch descriptor of `path` (str or bytes); OSError with the errno on failure."""
        raw = os.fsencode(path)
        wd = _c().inotify_add_watch(self.fd, raw, ctypes.c_uint32(mask))
        if wd < 0:
            code = ctypes.get_errno()
            raise OSError(code, "inotify_add_watch: " + os.strerror(code), os.fsdecode(raw))
        return wd

    def add_watch_fd(self, dir_fd, mask):
        """Watches the folder open as `dir_fd` (an O_PATH or O_RDONLY descriptor) through
        /proc/self/fd, so the watch lands on exactly that inode whatever happens to its path."""
        return self.add_watch("/proc/self/fd/%d" % dir_fd, mask)

    def remove_watch(self, wd):
        _c().inotify_rm_watch(self.fd, wd)

    def read(self):
        """The events ready now ([] when none); InotifyBufferError when the buffer is malformed."""
        try:
            data = os.read(self.fd, READ_SIZE)
        except BlockingIOError:
            return []
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EINTR):
                return []
            raise
        return parse_events(data)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
