CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`topic` text NOT NULL,
	`key` text NOT NULL,
	`payload` text NOT NULL,
	`created_at` integer NOT NULL,
	`sent_at` integer
);
--> statement-breakpoint
CREATE INDEX `outbox_sent_at_idx` ON `outbox` (`sent_at`);--> statement-breakpoint
CREATE TABLE `task_events` (
	`id` integer PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`type` text NOT NULL,
	`at` integer NOT NULL,
	`worker_id` text,
	`data` text
);
--> statement-breakpoint
CREATE INDEX `task_events_task_id_idx` ON `task_events` (`task_id`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`template_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`queue` text DEFAULT 'default' NOT NULL,
	`params` text,
	`status` text NOT NULL,
	`result` text,
	`error` text,
	`attempt` integer NOT NULL,
	`max_attempts` integer NOT NULL,
	`backoff` text,
	`run_at` integer,
	`next_attempt_at` integer,
	`timeout_ms` integer NOT NULL,
	`idempotency_key` text,
	`trigger` text NOT NULL,
	`scheduled_for` integer,
	`worker_id` text,
	`created_at` integer NOT NULL,
	`queued_at` integer,
	`started_at` integer,
	`finished_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_idempotency_key_uq` ON `tasks` (`idempotency_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_schedule_uq` ON `tasks` (`template_id`,`scheduled_for`);--> statement-breakpoint
CREATE INDEX `tasks_template_id_idx` ON `tasks` (`template_id`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_status_id_idx` ON `tasks` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_created_at_idx` ON `tasks` (`created_at`);--> statement-breakpoint
CREATE INDEX `tasks_pending_run_at_idx` ON `tasks` (`run_at`) WHERE status = 'PENDING';--> statement-breakpoint
CREATE INDEX `tasks_retrying_next_attempt_idx` ON `tasks` (`next_attempt_at`) WHERE status = 'RETRYING';--> statement-breakpoint
CREATE INDEX `tasks_queued_at_idx` ON `tasks` (`queued_at`) WHERE status = 'QUEUED';--> statement-breakpoint
CREATE INDEX `tasks_running_started_at_idx` ON `tasks` (`started_at`) WHERE status = 'RUNNING';--> statement-breakpoint
CREATE INDEX `tasks_active_template_idx` ON `tasks` (`template_id`) WHERE status IN ('PENDING', 'QUEUED', 'RUNNING', 'RETRYING');--> statement-breakpoint
CREATE TABLE `templates` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`name_key` text,
	`description` text,
	`executor` text NOT NULL,
	`queue` text DEFAULT 'default' NOT NULL,
	`param_schema` text,
	`result_schema` text,
	`default_params` text,
	`cron_expression` text,
	`cron_timezone` text,
	`enabled` integer NOT NULL,
	`max_attempts` integer NOT NULL,
	`backoff` text NOT NULL,
	`timeout_ms` integer NOT NULL,
	`missed_fire_policy` text NOT NULL,
	`overlap_policy` text NOT NULL,
	`deleted_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `templates_name_key_uq` ON `templates` (`name_key`);--> statement-breakpoint
CREATE INDEX `templates_updated_at_idx` ON `templates` (`updated_at`);--> statement-breakpoint
CREATE TABLE `workers` (
	`id` text PRIMARY KEY NOT NULL,
	`host` text NOT NULL,
	`pid` integer NOT NULL,
	`queues` text NOT NULL,
	`executors` text NOT NULL,
	`concurrency` integer NOT NULL,
	`running` integer NOT NULL,
	`version` text NOT NULL,
	`started_at` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`stopped_at` integer
);
