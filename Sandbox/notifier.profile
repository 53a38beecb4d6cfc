# Profile for notifier plugins: like a detector, plus what an HTTP client needs to resolve names
# and check certificates. Network itself is declared in the manifest (network: outbound, ports).
allow @default @basic-io @file-system @io-event @network-io @pipes @process @signal @timer @sync @memory @scheduling
watch ioctl
kill @hard-deny
errno clone3 ENOSYS
runtime /usr /bin /sbin /lib /lib64 /etc/ld.so.cache /etc/localtime /etc/hosts /etc/resolv.conf /etc/nsswitch.conf /etc/ssl /etc/ca-certificates
