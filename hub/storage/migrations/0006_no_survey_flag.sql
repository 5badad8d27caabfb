-- Whether a home call's survey was answered is no longer kept beside the call: with the pass it
-- named the person who answered (hub/guest_surveys.py keeps the allowance in memory instead).
ALTER TABLE guest_pass_calls DROP COLUMN surveyed;
