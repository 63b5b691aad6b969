CREATE TABLE `workflow_steps` (
	`task_id` varchar(26) NOT NULL,
	`workflow_id` varchar(26) NOT NULL,
	`step_key` varchar(200) NOT NULL,
	`position` int NOT NULL,
	`depends_on` json NOT NULL,
	`dependants` json NOT NULL,
	`deps_remaining` int NOT NULL,
	CONSTRAINT `workflow_steps_task_id` PRIMARY KEY(`task_id`),
	CONSTRAINT `workflow_steps_key_uq` UNIQUE(`workflow_id`,`step_key`)
);
--> statement-breakpoint
CREATE TABLE `workflows` (
	`id` varchar(26) NOT NULL,
	`name` varchar(255) NOT NULL,
	`status` varchar(16) NOT NULL,
	`on_failure` varchar(16) NOT NULL,
	`workflow_template_id` varchar(26),
	`scheduled_for` datetime(3),
	`steps_total` int NOT NULL,
	`steps_finished` int NOT NULL,
	`steps_completed` int NOT NULL,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	`finished_at` datetime(3),
	CONSTRAINT `workflows_id` PRIMARY KEY(`id`),
	CONSTRAINT `workflows_schedule_uq` UNIQUE(`workflow_template_id`,`scheduled_for`)
);
--> statement-breakpoint
ALTER TABLE `templates` ADD `workflow` json;--> statement-breakpoint
CREATE INDEX `workflow_steps_position_idx` ON `workflow_steps` (`workflow_id`,`position`);--> statement-breakpoint
CREATE INDEX `workflows_status_id_idx` ON `workflows` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `workflows_name_id_idx` ON `workflows` (`name`,`id`);