"""English lines for technicians, keyed like the booth's translation keys (``check.<name>.<why>``).

The booth screen translates the key through kiosk_ui/i18n; these texts are what `videokiosk
selftest` prints, so a technician on site knows what to do next.
"""

HINTS: dict[str, str] = {
    "check.camera.ok": "",
    "check.camera.unavailable": "Camera not found: check its cable (USB or ribbon), then hardware.camera_device.",
    "check.camera.no_frames": "Camera opened but sends no pictures: reconnect it; try another USB port.",
    "check.camera.frozen": "Camera picture does not change: the camera may hang; reconnect it.",
    "check.camera.unplugged": "Camera unplugged: plug it back in; the booth recovers by itself.",
    "check.camera.recovered": "",
    "check.microphone.ok": "",
    "check.microphone.unavailable": "Microphone not found: check the USB audio device and hardware.audio_capture.",
    "check.microphone.silent": "Microphone hears nothing: check it is not muted (alsamixer) and is connected.",
    "check.speaker.ok": "",
    "check.speaker.unavailable": "Speaker cannot play: check the audio device and hardware.audio_playback.",
    "check.speaker.not_heard": "Test tone not heard by the microphone: check speaker volume and cable.",
    "check.speaker.recovered": "",
    "check.button.ok": "",
    "check.button.no_press": "No button press seen: check the button wiring and hardware.button_pin.",
    "check.button.skipped": "Button not checked (run with --button to press it).",
    "check.button.unavailable": "Call button not usable (the booth runs touch-only): see the detail.",
    "check.disk.ok": "",
    "check.disk.low": "Disk almost full: free space; check for a stuck log or a full SD card.",
    "check.clock.ok": "",
    "check.clock.not_synced": "Clock not synchronised: check network access to the NTP server (timedatectl).",
    "check.clock.skipped": "Clock sync not checked: timedatectl is not available here.",
    "check.hub.ok": "",
    "check.hub.unreachable": "Hub unreachable: check network, hub.url and the firewall; is the hub running?",
    "check.hub.bad_status": "Hub answers but not healthy: ask the hub's operator to check its logs.",
    "check.hub.skipped": "Hub not checked (no hub URL).",
    "check.credential.ok": "",
    "check.credential.refused": "The hub does not accept this booth's credential: enrol again with a new code.",
    "check.credential.missing": "No device credential: enrol the booth (provisioning/README.md, step 4).",
    "check.credential.unreachable": "Credential not checked: the hub cannot be reached (see the hub line).",
}
HINTS.update(
    {
        "check.devices.unavailable": "A configured device could not be set up: see the detail, then [hardware] in the config.",
        "check.hotplug.unavailable": "Hot-plug events are not available: unplugged devices will not be noticed at once.",
    }
)
