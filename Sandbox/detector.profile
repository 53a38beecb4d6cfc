# Profile for detector plugins: read the machine, send events on fd 3.
# Directives (one per line, items separated by spaces, @name = a group from groups/NAME.group):
#   allow ...         run without the daemon seeing them
#   watch ...         sent to the daemon, allowed and counted (syscall statistics, baselines)
#   kill ...          kill the plugin (SIGSYS) and record the syscall as a breach
#   errno NAME ERRNO  answer without running (clone3: libc falls back to clone, whose flags are checked)
#   runtime PATH ...  read-only paths the program needs to run (interpreter, libraries)
# Everything not listed is denied with EPERM and reported as a breach.
allow @default @basic-io @file-system @io-event @network-io @pipes @process @signal @timer @sync @memory @scheduling
watch ioctl
kill @hard-deny
errno clone3 ENOSYS
runtime /usr /bin /sbin /lib /lib64 /etc/ld.so.cache /etc/localtime
