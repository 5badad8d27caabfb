"""The harness-bootloader of the A/B VM test (tests/vm/uboot.py): U-Boot's environment format and
provisioning/rauc/boot.cmd's slot choice, read from the script itself. Fast: part of make test."""

from __future__ import annotations

import struct
import zlib

import pytest

from .uboot import BOOT_CMD, ENV_SIZE, BadEnvironment, BootScript, choose, parse, serialize

SCRIPT = BootScript.from_boot_cmd()


def test_the_environment_is_a_crc32_then_nul_separated_pairs_padded_to_its_size():
    raw = serialize({"BOOT_ORDER": "B A", "BOOT_B_LEFT": "3"})
    assert len(raw) == ENV_SIZE
    assert raw[4:].startswith(b"BOOT_ORDER=B A\0BOOT_B_LEFT=3\0\0")
    assert struct.unpack("<I", raw[:4])[0] == zlib.crc32(raw[4:])
    assert parse(raw) == {"BOOT_ORDER": "B A", "BOOT_B_LEFT": "3"}
    with pytest.raises(BadEnvironment, match="CRC"):
        parse(raw[:10] + b"X" + raw[11:])


def test_boot_cmd_names_the_pis_partitions_and_three_attempts():
    assert SCRIPT == BootScript({"A": 2, "B": 3}, 3)


def test_a_new_slot_that_is_never_marked_good_runs_out_of_attempts_and_the_old_one_boots():
    env, slot = choose({}, SCRIPT)  # a fresh card: U-Boot's defaults
    assert slot == "A" and env["BOOT_A_LEFT"] == "2"
    env.update(BOOT_ORDER="B A", BOOT_B_LEFT="3")  # what RAUC's uboot backend sets on install
    booted = []
    for _ in range(4):
        env, slot = choose(env, SCRIPT)
        booted.append(slot)
    assert booted == ["B", "B", "B", "A"]
    assert env["BOOT_B_LEFT"] == "0" and env["BOOT_A_LEFT"] == "1"


def test_no_attempts_left_anywhere_resets_both():
    env, slot = choose({"BOOT_ORDER": "A B", "BOOT_A_LEFT": "0", "BOOT_B_LEFT": "0"}, SCRIPT)
    assert slot is None and env["BOOT_A_LEFT"] == env["BOOT_B_LEFT"] == "3"
    assert choose(env, SCRIPT)[1] == "A"


def test_a_boot_script_that_no_longer_counts_attempts_is_not_played_silently():
    never_counts = BOOT_CMD.read_text().replace("setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1\n", "")
    with pytest.raises(BadEnvironment, match="no longer reads as an A/B script"):
        BootScript.from_boot_cmd(never_counts)
