#!/bin/bash -e
# The A/B card (provisioning/README.md §9, provisioning/rauc/): the Pi's firmware starts U-Boot,
# U-Boot runs boot.scr (made from provisioning/rauc/boot.cmd), which picks slot A or B and boots the
# kernel and initramfs that slot carries. Slot B (partition 3) and the state partition (4) are made
# by the booth's first boot (videokiosk-make-state). U-Boot 2023.01 (bookworm's u-boot-rpi) knows
# the Pi 3 and 4, not the Pi 5.
FIRMWARE="${ROOTFS_DIR}/boot/firmware"
install -m 0644 "${ROOTFS_DIR}/usr/lib/u-boot/rpi_arm64/u-boot.bin" "${FIRMWARE}/u-boot.bin"
if ! grep -q '^kernel=u-boot.bin' "${FIRMWARE}/config.txt"; then
	printf '\n[all]\n# videokiosk: U-Boot chooses the root slot (boot.scr)\narm_64bit=1\nkernel=u-boot.bin\n' \
		>>"${FIRMWARE}/config.txt"
fi

on_chroot <<'CHROOT'
set -e
mkimage -A arm64 -O linux -T script -C none -n videokiosk-ab \
	-d /opt/videokiosk/src/provisioning/rauc/boot.cmd /boot/firmware/boot.scr
# The Pi 4's kernel (-v8; the -2712 one is the Pi 5's). pi-gen builds no initramfs before its
# export stage: make it now, with overlayroot's hook in it.
version="$(ls /lib/modules | grep -e '-v8$' | sort -V | tail -n 1)"
[ -n "$version" ] || { echo "videokiosk: no -v8 kernel in the image" >&2; exit 1; }
[ -f "/boot/initrd.img-$version" ] || update-initramfs -c -k "$version"
# booti takes an uncompressed Image; Debian-style arm64 kernels are gzip.
if gzip -t "/boot/vmlinuz-$version" 2>/dev/null; then
	zcat "/boot/vmlinuz-$version" >/boot/Image
else
	cp "/boot/vmlinuz-$version" /boot/Image
fi
cp "/boot/initrd.img-$version" /boot/initrd.img
CHROOT
