CREATE TABLE `outbox` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`topic` varchar(255) NOT NULL,
	`key` varchar(255) NOT NULL,
	`payload` mediumtext NOT NULL,
	`created_at` datetime(3) NOT NULL,
	`sent_at` datetime(3),
	CONSTRAINT `outbox_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `task_events` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`task_id` varchar(26) NOT NULL,
	`attempt` int NOT NULL,
	`type` varchar(32) NOT NULL,
	`at` datetime(3) NOT NULL,
	`worker_id` varchar(255),
	`data` json,
	CONSTRAINT `task_events_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` varchar(26) NOT NULL,
	`template_id` varchar(26) NOT NULL,
	`name` varchar(255) NOT NULL,
	`description` text,
	`queue` varchar(255) NOT NULL DEFAULT 'default',
	`params` json,
	`status` varchar(16) NOT NULL,
	`result` json,
	`error` json,
	`attempt` int NOT NULL,
	`max_attempts` int NOT NULL,
	`backoff` json,
	`run_at` datetime(3),
	`next_attempt_at` datetime(3),
	`timeout_ms` bigint NOT NULL,
	`idempotency_key` varchar(255),
	`trigger` varchar(8) NOT NULL,
	`scheduled_for` datetime(3),
	`worker_id` varchar(255),
	`created_at` datetime(3) NOT NULL,
	`queued_at` datetime(3),
	`started_at` datetime(3),
	`finished_at` datetime(3),
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `tasks_id` PRIMARY KEY(`id`),
	CONSTRAINT `tasks_idempotency_key_uq` UNIQUE(`idempotency_key`),
	CONSTRAINT `tasks_schedule_uq` UNIQUE(`template_id`,`scheduled_for`)
);
--> statement-breakpoint
CREATE TABLE `templates` (
	`id` varchar(26) NOT NULL,
	`name` varchar(255) NOT NULL,
	`name_key` varchar(255),
	`description` text,
	`executor` varchar(255) NOT NULL,
	`queue` varchar(255) NOT NULL DEFAULT 'default',
	`param_schema` json,
	`result_schema` json,
	`default_params` json,
	`cron_expression` varchar(255),
	`cron_timezone` varchar(64),
	`enabled` boolean NOT NULL,
	`max_attempts` int NOT NULL,
	`backoff` json NOT NULL,
	`timeout_ms` bigint NOT NULL,
	`missed_fire_policy` varchar(16) NOT NULL,
	`overlap_policy` varchar(16) NOT NULL,
	`deleted_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `templates_id` PRIMARY KEY(`id`),
	CONSTRAINT `templates_name_key_uq` UNIQUE(`name_key`)
);
--> statement-breakpoint
CREATE TABLE `workers` (
	`id` varchar(255) NOT NULL,
	`host` varchar(255) NOT NULL,
	`pid` int NOT NULL,
	`queues` json NOT NULL,
	`executors` json NOT NULL,
	`concurrency` int NOT NULL,
	`running` int NOT NULL,
	`version` varchar(64) NOT NULL,
	`started_at` datetime(3) NOT NULL,
	`last_seen` datetime(3) NOT NULL,
	`stopped_at` datetime(3),
	CONSTRAINT `workers_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE INDEX `outbox_sent_at_idx` ON `outbox` (`sent_at`,`id`);--> statement-breakpoint
CREATE INDEX `task_events_task_id_idx` ON `task_events` (`task_id`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_template_id_idx` ON `tasks` (`template_id`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_template_status_idx` ON `tasks` (`template_id`,`status`);--> statement-breakpoint
CREATE INDEX `tasks_status_id_idx` ON `tasks` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_created_at_idx` ON `tasks` (`created_at`);--> statement-breakpoint
CREATE INDEX `tasks_status_run_at_idx` ON `tasks` (`status`,`run_at`);--> statement-breakpoint
CREATE INDEX `tasks_status_next_attempt_idx` ON `tasks` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `tasks_status_queued_at_idx` ON `tasks` (`status`,`queued_at`);--> statement-breakpoint
CREATE INDEX `tasks_status_started_at_idx` ON `tasks` (`status`,`started_at`);--> statement-breakpoint
CREATE INDEX `templates_updated_at_idx` ON `templates` (`updated_at`);