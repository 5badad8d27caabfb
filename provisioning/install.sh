#!/usr/bin/env bash
# Installs videokiosk onto a booth's root file system: OS packages, the two service users, the
# venv, the systemd units, the kiosk's Chromium policy, the hostname pattern, no screen blanking,
# and a read-only root (overlayroot) whose state partition stays writable.
#
# The image recipe (provisioning/pi-gen) calls it once per image; it also works on a running
# Raspberry Pi OS (--root /) and, for the tests, on any Debian root file system.
#
#   install.sh --root DIR [--source DIR] [--wheel FILE] [--skip-apt] [--skip-pip] [--no-deps]
#              [--hostname-prefix booth] [--writable-root] [--update-keyring office-ca.pem]
#
#   --root DIR           the target root file system (/ on a running booth)
#   --source DIR         the videokiosk source tree (default: the one this script is in)
#   --wheel FILE         install this wheel instead of building the source tree in the target
#   --skip-apt           the OS packages are installed already (the recipe's package list did it)
#   --skip-pip           do not create the venv (tests that only check files and units)
#   --no-deps            pip installs videokiosk alone, offline; the rest comes from the OS
#
# Python dependencies come from provisioning/requirements-booth.txt, a lock with hashes, installed
# with --require-hashes --no-deps: two image builds get the same bytes. numpy is not in it: the venv
# is made with --system-site-packages and uses the OS's python3-numpy (picamera2 is built against it).
#   --hostname-prefix P  booths are named P-<serial> (default: booth)
#   --writable-root      leave the root file system writable (a development booth)
#   --update-keyring F   the office's update CA (PEM): RAUC installs only bundles signed under it.
#                        Without it the booth has no keyring and refuses every update bundle.
set -euo pipefail

ROOT=""
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHEEL=""
SKIP_APT=0
SKIP_PIP=0
NO_DEPS=0
HOSTNAME_PREFIX=booth
READONLY_ROOT=1
UPDATE_KEYRING=""

die() { echo "install.sh: $*" >&2; exit 2; }
say() { echo "install.sh: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --source) SOURCE="${2:?--source needs a directory}"; shift 2 ;;
    --wheel) WHEEL="${2:?--wheel needs a file}"; shift 2 ;;
    --skip-apt) SKIP_APT=1; shift ;;
    --skip-pip) SKIP_PIP=1; shift ;;
    --no-deps) NO_DEPS=1; shift ;;
    --hostname-prefix) HOSTNAME_PREFIX="${2:?--hostname-prefix needs a value}"; shift 2 ;;
    --writable-root) READONLY_ROOT=0; shift ;;
    --update-keyring) UPDATE_KEYRING="${2:?--update-keyring needs a file}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[ -n "$ROOT" ] || die "--root is required (use --root / on a running booth)"
[ -d "$ROOT" ] || die "--root $ROOT is not a directory"
ROOT="$(cd "$ROOT" && pwd)"
[ "$(id -u)" -eq 0 ] || die "must run as root (it creates users and chowns files in $ROOT)"
[ -f "$SOURCE/systemd/videokiosk-booth.service" ] || die "--source $SOURCE is not a videokiosk source tree"
[[ "$HOSTNAME_PREFIX" =~ ^[a-z][a-z0-9-]{0,40}$ ]] || die "--hostname-prefix must be lower-case letters, digits, dashes"
[ -z "$WHEEL" ] || [ -f "$WHEEL" ] || die "--wheel $WHEEL does not exist"
[ -z "$UPDATE_KEYRING" ] || grep -q "BEGIN CERTIFICATE" "$UPDATE_KEYRING" 2>/dev/null \
  || die "--update-keyring $UPDATE_KEYRING is not a PEM certificate file"

PROV="$SOURCE/provisioning"
UNITS_DIR="$SOURCE/systemd"
PACKAGES="$PROV/pi-gen/stage-videokiosk/00-videokiosk/00-packages"
PREFIX=/opt/videokiosk
BOOTH_USER=videokiosk
ENABLED_UNITS=(videokiosk-booth.service videokiosk-kiosk.service videokiosk-purge.timer videokiosk-hostname.service
               videokiosk-maintenance.path videokiosk-mark-good.service videokiosk-keep-state.service)

# Run a command inside the target (directly when the target is this system).
in_root() {
  if [ "$ROOT" = / ]; then "$@"; else chroot "$ROOT" "$@"; fi
}

# Numeric id of a user or group as the target knows it (not the build machine).
target_id() {  # target_id passwd|group NAME
  awk -F: -v name="$2" '$1 == name { print $3 }' "$ROOT/etc/$1"
}

put() {  # put MODE SRC DEST: install one file into the target
  install -D -m "$1" "$2" "$ROOT$3"
}

# --- 1. OS packages ---------------------------------------------------------------------------
if [ "$SKIP_APT" -eq 0 ]; then
  mapfile -t pkgs < <(grep -v '^\s*\(#\|$\)' "$PACKAGES")
  say "installing OS packages: ${pkgs[*]}"
  in_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi

# --- 2. users ---------------------------------------------------------------------------------
put 0644 "$PROV/sysusers.d/videokiosk.conf" /usr/lib/sysusers.d/videokiosk.conf
systemd-sysusers --root="$ROOT" "$ROOT/usr/lib/sysusers.d/videokiosk.conf"
booth_uid="$(target_id passwd "$BOOTH_USER")"
booth_gid="$(target_id group "$BOOTH_USER")"
[ -n "$booth_uid" ] && [ -n "$booth_gid" ] || die "user $BOOTH_USER was not created in $ROOT"
say "users: $BOOTH_USER ($booth_uid), vkkiosk ($(target_id passwd vkkiosk))"

# --- 3. videokiosk into a venv that sees the OS's picamera2 and lgpio -------------------------
if [ "$SKIP_PIP" -eq 0 ]; then
  in_root python3 -m venv --system-site-packages "$PREFIX/venv"
  pip_args=(--disable-pip-version-check --no-cache-dir --quiet)
  [ "$NO_DEPS" -eq 0 ] || pip_args+=(--no-deps --no-index)
  if [ -n "$WHEEL" ]; then
    mkdir -p "$ROOT$PREFIX/dist"
    cp "$WHEEL" "$ROOT$PREFIX/dist/"
    target="$PREFIX/dist/$(basename "$WHEEL")"
  else
    mkdir -p "$ROOT$PREFIX/src"
    tar -C "$SOURCE" --exclude=.git --exclude='.venv*' --exclude='*.egg-info' --exclude=__pycache__ \
        --exclude=tests --exclude=bench -cf - . | tar -C "$ROOT$PREFIX/src" -xf -
    target="$PREFIX/src"
  fi
  if [ "$NO_DEPS" -eq 0 ]; then
    put 0644 "$PROV/requirements-booth.txt" "$PREFIX/requirements-booth.txt"
    say "pip install --require-hashes -r $PREFIX/requirements-booth.txt"
    in_root "$PREFIX/venv/bin/pip" install "${pip_args[@]}" --require-hashes --no-deps \
      -r "$PREFIX/requirements-booth.txt"
    pip_args+=(--no-deps)  # the lock above is the whole dependency set
  fi
  say "pip install $target"
  in_root "$PREFIX/venv/bin/pip" install "${pip_args[@]}" "$target"
  in_root "$PREFIX/venv/bin/videokiosk" --version
fi

# --- 4. units, launcher, Chromium policy, PAM, config -----------------------------------------
for unit in "$UNITS_DIR"/videokiosk-*.service "$UNITS_DIR"/videokiosk-*.timer "$UNITS_DIR"/videokiosk-*.path; do
  put 0644 "$unit" "/etc/systemd/system/$(basename "$unit")"
done
put 0755 "$UNITS_DIR/videokiosk-kiosk-session" "$PREFIX/libexec/videokiosk-kiosk-session"
put 0755 "$UNITS_DIR/videokiosk-set-hostname" "$PREFIX/libexec/videokiosk-set-hostname"
put 0755 "$UNITS_DIR/videokiosk-make-state" "$PREFIX/libexec/videokiosk-make-state"
put 0755 "$UNITS_DIR/videokiosk-keep-state" "$PREFIX/libexec/videokiosk-keep-state"
put 0644 "$PROV/journald-videokiosk.conf" /etc/systemd/journald.conf.d/videokiosk.conf
put 0644 "$PROV/chromium-policy.json" /etc/chromium/policies/managed/videokiosk.json
put 0644 "$PROV/pam-videokiosk-kiosk" /etc/pam.d/videokiosk-kiosk
# Updates (provisioning/README.md, section 9): RAUC's slots and U-Boot's environment; the keyring
# only when given, so an image never trusts a key its office did not choose.
put 0644 "$PROV/rauc/system.conf" /etc/rauc/system.conf
put 0644 "$PROV/rauc/fw_env.config" /etc/fw_env.config
if [ -n "$UPDATE_KEYRING" ]; then
  put 0644 "$UPDATE_KEYRING" /etc/rauc/keyring.pem
else
  say "no --update-keyring: this booth refuses every update bundle until /etc/rauc/keyring.pem exists"
fi
# Technicians type `videokiosk selftest`, `videokiosk enrol`, ...
install -d "$ROOT/usr/local/bin"
ln -sfn "$PREFIX/venv/bin/videokiosk" "$ROOT/usr/local/bin/videokiosk"

# /etc/videokiosk: readable by the daemon's group, writable by root only (the daemon cannot
# change its own config). The device token written by `videokiosk enrol` is its own 0600 file.
install -d -m 0750 -o 0 -g "$booth_gid" "$ROOT/etc/videokiosk"
[ -e "$ROOT/etc/videokiosk/booth.toml" ] || install -m 0644 -o 0 -g 0 "$PROV/booth.toml" "$ROOT/etc/videokiosk/booth.toml"
echo "$HOSTNAME_PREFIX" > "$ROOT/etc/videokiosk/hostname-prefix"
# The state directory (StateDirectory= fixes ownership at start; the mount point exists now).
install -d -m 0700 -o "$booth_uid" -g "$booth_gid" "$ROOT/var/lib/videokiosk"

# --- 5. enable -------------------------------------------------------------------------------
systemctl --root="$ROOT" enable "${ENABLED_UNITS[@]}"
systemctl --root="$ROOT" set-default graphical.target
# e2scrub only serves LVM snapshots, which a booth has none of: its boot-time reaper cost minutes of
# a slow boot in the VM test.
systemctl --root="$ROOT" disable e2scrub_reap.service e2scrub_all.timer 2>/dev/null || true

# --- 6. hostname, screen blanking, read-only root --------------------------------------------
echo "$HOSTNAME_PREFIX" > "$ROOT/etc/hostname"

# No blanking: cage has no idle timeout of its own, and the kernel console must not blank either
# (it shows while the kiosk restarts).
CMDLINE="$ROOT/boot/firmware/cmdline.txt"
if [ -f "$CMDLINE" ]; then
  grep -qw 'consoleblank=0' "$CMDLINE" || sed -i '1 s/$/ consoleblank=0/' "$CMDLINE"
  # Raspberry Pi OS grows the root partition over the whole card at its first boot (pi-gen's
  # cmdline.txt ends in "resize", which its initramfs reads; older images start init=.../firstboot
  # or init_resize.sh). That free space is where the first boot makes the state partition
  # (videokiosk-make-state): a grown root would leave none, and every booth would need a technician
  # with parted. The booth never grows its root. (Old firstboot also made SSH host keys: the booth
  # makes its own, videokiosk-keep-state.)
  sed -i -e '1 s/ resize\( \|$\)/\1/' -e '1 s# init=/usr/lib/raspberrypi-sys-mods/firstboot\( \|$\)#\1#' \
    -e '1 s# init=/usr/lib/raspi-config/init_resize\.sh\( \|$\)#\1#' "$CMDLINE"
fi
mkdir -p "$ROOT/etc/X11/xorg.conf.d"  # a desktop session, should anyone start one, must not blank
cat > "$ROOT/etc/X11/xorg.conf.d/10-videokiosk-noblank.conf" <<'CONF'
Section "ServerFlags"
    Option "BlankTime" "0"
    Option "StandbyTime" "0"
    Option "SuspendTime" "0"
    Option "OffTime" "0"
EndSection
CONF

# The state partition (label vkstate) keeps the store across reboots. With overlayroot's
# recurse=0 only / is overlaid, so this mount stays a real, writable file system. The first boot
# makes it (videokiosk-make-state.service, pulled in by x-systemd.requires=); the device timeout
# leaves that time to partition and format a card.
FSTAB_LINE="LABEL=vkstate /var/lib/videokiosk ext4 defaults,noatime,nodev,nosuid,noexec,nofail,x-systemd.requires=videokiosk-make-state.service,x-systemd.device-timeout=3min 0 2"
touch "$ROOT/etc/fstab"
sed -i '/^LABEL=vkstate /d' "$ROOT/etc/fstab"  # a second run brings an older line up to date
echo "$FSTAB_LINE" >> "$ROOT/etc/fstab"
if [ "$READONLY_ROOT" -eq 1 ]; then
  # overlayroot: / becomes an overlay of the read-only card and a tmpfs; nothing a customer or a
  # crash does survives a reboot. Persistent changes: `sudo overlayroot-chroot`.
  echo 'overlayroot="tmpfs:swap=1,recurse=0"' > "$ROOT/etc/overlayroot.local.conf"
else
  rm -f "$ROOT/etc/overlayroot.local.conf"
fi

# What is per booth or must outlive the RAM overlay lives on the state partition
# (videokiosk-keep-state, every boot). An image carries no SSH host keys and no machine id (every
# card flashed from it would share them: systemd takes dbus's copy of the build's id when there is
# one) and no /var/log/journal (journald would fill the RAM overlay without a state partition); a
# running system (--root /) keeps its own.
if [ "$ROOT" != / ]; then
  rm -f "$ROOT"/etc/ssh/ssh_host_*_key "$ROOT"/etc/ssh/ssh_host_*_key.pub
  : > "$ROOT/etc/machine-id"
  if [ -d "$ROOT/var/lib/dbus" ]; then
    ln -sfn /etc/machine-id "$ROOT/var/lib/dbus/machine-id"
  fi
  rm -rf "$ROOT/var/log/journal"
fi

say "done: units enabled (${ENABLED_UNITS[*]}); next: first boot, then \`videokiosk enrol\`"
