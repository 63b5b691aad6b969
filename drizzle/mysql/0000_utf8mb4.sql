-- Custom migration: make every table created after this utf8mb4 with binary collation, whatever the
-- server default (MariaDB: latin1). Binary comparison matches SQLite: template names and
-- idempotency keys are case-sensitive, and unicode round-trips.
ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
