# Profile for action plugins: like a detector; ownership changes are watched so every one is
# counted and visible in `vigil plugins show`. Capabilities (CAP_NET_ADMIN for a firewall
# action, ...) are declared in the manifest and kept as ambient capabilities.
allow @default @basic-io @file-system @io-event @network-io @pipes @process @signal @timer @sync @memory @scheduling
watch ioctl chown fchown fchownat lchown
kill @hard-deny
errno clone3 ENOSYS
runtime /usr /bin /sbin /lib /lib64 /etc/ld.so.cache /etc/localtime /etc/hosts /etc/resolv.conf /etc/nsswitch.conf
