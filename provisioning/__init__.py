"""Getting a booth from a blank SD card to an enrolled appliance: image recipe, install script,
first-boot enrolment (``videokiosk enrol``). See ``provisioning/README.md`` for technicians."""
