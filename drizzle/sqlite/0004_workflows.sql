CREATE TABLE `workflow_steps` (
	`task_id` text PRIMARY KEY NOT NULL,
	`workflow_id` text NOT NULL,
	`step_key` text NOT NULL,
	`position` integer NOT NULL,
	`depends_on` text NOT NULL,
	`dependants` text NOT NULL,
	`deps_remaining` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `workflow_steps_key_uq` ON `workflow_steps` (`workflow_id`,`step_key`);--> statement-breakpoint
CREATE INDEX `workflow_steps_position_idx` ON `workflow_steps` (`workflow_id`,`position`);--> statement-breakpoint
CREATE TABLE `workflows` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`on_failure` text NOT NULL,
	`workflow_template_id` text,
	`scheduled_for` integer,
	`steps_total` integer NOT NULL,
	`steps_finished` integer NOT NULL,
	`steps_completed` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `workflows_schedule_uq` ON `workflows` (`workflow_template_id`,`scheduled_for`);--> statement-breakpoint
CREATE INDEX `workflows_status_id_idx` ON `workflows` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `workflows_name_id_idx` ON `workflows` (`name`,`id`);--> statement-breakpoint
ALTER TABLE `templates` ADD `workflow` text;