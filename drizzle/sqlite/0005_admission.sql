CREATE TABLE `queues` (
	`name` text PRIMARY KEY NOT NULL,
	`max_in_flight` integer,
	`paused` integer DEFAULT false NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
DROP INDEX `tasks_active_template_idx`;--> statement-breakpoint
ALTER TABLE `tasks` ADD `priority` integer DEFAULT 5 NOT NULL;--> statement-breakpoint
ALTER TABLE `tasks` ADD `concurrency_key` text;--> statement-breakpoint
CREATE INDEX `tasks_admission_idx` ON `tasks` (`queue`,`status`,`concurrency_key`,`priority`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_active_template_idx` ON `tasks` (`template_id`) WHERE status IN ('PENDING', 'WAITING', 'QUEUED', 'RUNNING', 'RETRYING');--> statement-breakpoint
ALTER TABLE `templates` ADD `priority` integer DEFAULT 5 NOT NULL;--> statement-breakpoint
ALTER TABLE `templates` ADD `paused` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `templates` ADD `concurrency_key` text;--> statement-breakpoint
ALTER TABLE `templates` ADD `concurrency_limit` integer;