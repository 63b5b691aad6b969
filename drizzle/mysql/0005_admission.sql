CREATE TABLE `queues` (
	`name` varchar(255) NOT NULL,
	`max_in_flight` int,
	`paused` boolean NOT NULL DEFAULT false,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `queues_name` PRIMARY KEY(`name`)
);
--> statement-breakpoint
ALTER TABLE `tasks` ADD `priority` int DEFAULT 5 NOT NULL;--> statement-breakpoint
ALTER TABLE `tasks` ADD `concurrency_key` varchar(255);--> statement-breakpoint
ALTER TABLE `templates` ADD `priority` int DEFAULT 5 NOT NULL;--> statement-breakpoint
ALTER TABLE `templates` ADD `paused` boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `templates` ADD `concurrency_key` varchar(255);--> statement-breakpoint
ALTER TABLE `templates` ADD `concurrency_limit` int;--> statement-breakpoint
CREATE INDEX `tasks_admission_idx` ON `tasks` (`queue`,`status`,`concurrency_key`,`priority`,`id`);