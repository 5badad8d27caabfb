#!/bin/bash -e
# pi-gen runs this on the build host from this directory; 00-packages installed the OS packages.
# Everything else is provisioning/install.sh, the one script the tests run as well.
VIDEOKIOSK_SRC="${VIDEOKIOSK_SRC:-$(cd ../../../.. && pwd)}"
install -d "${ROOTFS_DIR}/opt/videokiosk/src"
tar -C "${VIDEOKIOSK_SRC}" --exclude=.git --exclude='.venv*' --exclude='*.egg-info' --exclude=__pycache__ \
	--exclude=tests --exclude=bench -cf - . | tar -C "${ROOTFS_DIR}/opt/videokiosk/src" -xf -

# The office's update CA, when the config names one (without it the booths refuse every bundle).
keyring_arg=""
if [ -n "${VIDEOKIOSK_UPDATE_KEYRING:-}" ]; then
	install -m 0644 "${VIDEOKIOSK_UPDATE_KEYRING}" "${ROOTFS_DIR}/opt/videokiosk/src/update-keyring.pem"
	keyring_arg="--update-keyring /opt/videokiosk/src/update-keyring.pem"
fi

# Inside the image's chroot (pi-gen mounts /proc, /sys and /dev there), so pip builds and installs
# for the image's architecture.
on_chroot <<CHROOT
/opt/videokiosk/src/provisioning/install.sh --root / --skip-apt --source /opt/videokiosk/src \
	--hostname-prefix "${VIDEOKIOSK_HOSTNAME_PREFIX:-booth}" ${keyring_arg}
CHROOT
