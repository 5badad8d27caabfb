-- When each guest pass was issued: a link keeps only its newest passes (hub/guest_passes.py,
-- MAX_PASSES_PER_PARTICIPANT), so opening it again and again fills no table. Passes from before
-- count as the oldest.
ALTER TABLE guest_passes ADD COLUMN issued_at TEXT;
UPDATE guest_passes SET issued_at = '';
