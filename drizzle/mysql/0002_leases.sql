CREATE TABLE `leases` (
	`name` varchar(64) NOT NULL,
	`owner` varchar(200) NOT NULL,
	`expires_at` datetime(3) NOT NULL,
	CONSTRAINT `leases_name` PRIMARY KEY(`name`)
);
