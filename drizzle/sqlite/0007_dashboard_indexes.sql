CREATE INDEX `tasks_queue_id_idx` ON `tasks` (`queue`,`id`);--> statement-breakpoint
CREATE INDEX `tasks_queue_status_idx` ON `tasks` (`queue`,`status`);--> statement-breakpoint
CREATE INDEX `tasks_finished_status_idx` ON `tasks` (`finished_at`,`status`);