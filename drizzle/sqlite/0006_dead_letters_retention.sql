CREATE TABLE `dead_letters` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`topic` text NOT NULL,
	`partition` integer NOT NULL,
	`offset` integer NOT NULL,
	`time` integer NOT NULL,
	`indexed_at` integer NOT NULL,
	`reason` text,
	`source_topic` text,
	`source_partition` integer,
	`source_offset` integer,
	`key` text,
	`headers` text NOT NULL,
	`value` text,
	`value_bytes` integer NOT NULL,
	`truncated` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `dead_letters_coordinates_uq` ON `dead_letters` (`topic`,`partition`,`offset`);--> statement-breakpoint
CREATE INDEX `dead_letters_topic_idx` ON `dead_letters` (`topic`,`id`);--> statement-breakpoint
CREATE INDEX `dead_letters_source_topic_idx` ON `dead_letters` (`source_topic`,`id`);--> statement-breakpoint
CREATE INDEX `dead_letters_indexed_at_idx` ON `dead_letters` (`indexed_at`);--> statement-breakpoint
CREATE TABLE `dlq_replays` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`dead_letter_id` integer NOT NULL,
	`at` integer NOT NULL,
	`by` text,
	`target_topic` text NOT NULL,
	`edited` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dlq_replays_dead_letter_idx` ON `dlq_replays` (`dead_letter_id`);--> statement-breakpoint
ALTER TABLE `templates` ADD `retention_days` integer;--> statement-breakpoint
CREATE INDEX `tasks_finished_at_idx` ON `tasks` (`finished_at`) WHERE status IN ('COMPLETED', 'FAILED', 'TIMED_OUT', 'CANCELED');