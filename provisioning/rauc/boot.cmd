# U-Boot boot script for the booth's A/B slots; the image's stage makes boot.scr of it (pi-gen 02-run.sh, mkimage).
# RAUC's uboot backend sets BOOT_ORDER and BOOT_<slot>_LEFT through fw_setenv; this script spends
# one attempt per boot and falls back to the other slot when a slot has none left.
# The Pi's firmware reads config.txt (kernel=u-boot.bin) and cmdline.txt; U-Boot gets the firmware's
# device tree, whose /chosen/bootargs hold cmdline.txt: start from them, so what the image put
# there (console, consoleblank=0) stays.
fdt addr ${fdt_addr} && fdt get value bootargs /chosen bootargs
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3

setenv bootpart
for BOOT_SLOT in "${BOOT_ORDER}"; do
  if test "x${bootpart}" = "x" && test "x${BOOT_SLOT}" = "xA" && test ${BOOT_A_LEFT} -gt 0; then
    setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1
    setenv bootpart 2
    setenv raucslot A
  fi
  if test "x${bootpart}" = "x" && test "x${BOOT_SLOT}" = "xB" && test ${BOOT_B_LEFT} -gt 0; then
    setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1
    setenv bootpart 3
    setenv raucslot B
  fi
done

if test -n "${bootpart}"; then
  saveenv
else
  echo "No slot has boot attempts left: resetting both and trying again"
  setenv BOOT_A_LEFT 3
  setenv BOOT_B_LEFT 3
  saveenv
  reset
fi

# The last root= wins: cmdline.txt's names slot A.
setenv bootargs "${bootargs} root=/dev/mmcblk0p${bootpart} rauc.slot=${raucslot} rootwait"
# Each slot carries its own kernel (uncompressed: booti) and initramfs (overlayroot lives there:
# without it the root would not be read-only); the image's stage puts them there (02-run.sh).
load mmc 0:${bootpart} ${kernel_addr_r} /boot/Image
load mmc 0:${bootpart} ${ramdisk_addr_r} /boot/initrd.img
booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr}
