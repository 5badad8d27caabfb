# U-Boot boot script for the booth's A/B slots (mkimage -A arm -T script -C none -d boot.cmd boot.scr).
# RAUC's uboot backend sets BOOT_ORDER and BOOT_<slot>_LEFT through fw_setenv; this script spends
# one attempt per boot and falls back to the other slot when a slot has none left.
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

setenv bootargs "${bootargs} root=/dev/mmcblk0p${bootpart} rauc.slot=${raucslot} rootwait"
load mmc 0:${bootpart} ${kernel_addr_r} /boot/Image
booti ${kernel_addr_r} - ${fdt_addr}
