CREATE TABLE `dead_letters` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`topic` varchar(255) NOT NULL,
	`partition` int NOT NULL,
	`offset` bigint NOT NULL,
	`time` datetime(3) NOT NULL,
	`indexed_at` datetime(3) NOT NULL,
	`reason` text,
	`source_topic` varchar(255),
	`source_partition` int,
	`source_offset` bigint,
	`key` text,
	`headers` json NOT NULL,
	`value` mediumtext,
	`value_bytes` int NOT NULL,
	`truncated` boolean NOT NULL,
	CONSTRAINT `dead_letters_id` PRIMARY KEY(`id`),
	CONSTRAINT `dead_letters_coordinates_uq` UNIQUE(`topic`,`partition`,`offset`)
);
--> statement-breakpoint
CREATE TABLE `dlq_replays` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`dead_letter_id` bigint unsigned NOT NULL,
	`at` datetime(3) NOT NULL,
	`by` varchar(200),
	`target_topic` varchar(255) NOT NULL,
	`edited` boolean NOT NULL,
	CONSTRAINT `dlq_replays_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `templates` ADD `retention_days` int;--> statement-breakpoint
CREATE INDEX `dead_letters_topic_idx` ON `dead_letters` (`topic`,`id`);--> statement-breakpoint
CREATE INDEX `dead_letters_source_topic_idx` ON `dead_letters` (`source_topic`,`id`);--> statement-breakpoint
CREATE INDEX `dead_letters_indexed_at_idx` ON `dead_letters` (`indexed_at`);--> statement-breakpoint
CREATE INDEX `dlq_replays_dead_letter_idx` ON `dlq_replays` (`dead_letter_id`);--> statement-breakpoint
CREATE INDEX `tasks_status_finished_at_idx` ON `tasks` (`status`,`finished_at`);