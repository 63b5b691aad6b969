DROP INDEX `tasks_created_at_idx` ON `tasks`;--> statement-breakpoint
DROP INDEX `tasks_queue_status_idx` ON `tasks`;--> statement-breakpoint
DROP INDEX `tasks_status_finished_at_idx` ON `tasks`;