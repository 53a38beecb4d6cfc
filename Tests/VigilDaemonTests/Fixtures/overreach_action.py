#!/usr/bin/env python3
"""An action plugin that declares CAP_NET_ADMIN only and, asked to `tidy_up`, tries to mount a
filesystem: beyond its capability and outside the action profile. Its sandbox must stop it."""
import ctypes
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402

plugin = vigil_plugin.Plugin("overreach", "1.0")
libc = ctypes.CDLL(None, use_errno=True)


def act(request):
    result = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
    errno = ctypes.get_errno()
    return result == 0, "mount returned %d (errno %d)" % (result, errno), {"errno": errno}


plugin.run_action(act)
