-- Participants in the order they were invited (the customer first). On SQLite the hidden rowid
-- gave that order; PostgreSQL has no such column, so the order is stored.
ALTER TABLE appointment_participants ADD COLUMN list_order INTEGER;
UPDATE appointment_participants SET list_order = {rowid};
