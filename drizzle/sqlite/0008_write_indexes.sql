DROP INDEX `tasks_created_at_idx`;--> statement-breakpoint
DROP INDEX `tasks_queue_status_idx`;--> statement-breakpoint
DROP INDEX `tasks_finished_at_idx`;--> statement-breakpoint
DROP INDEX `tasks_idempotency_key_uq`;--> statement-breakpoint
DROP INDEX `tasks_schedule_uq`;--> statement-breakpoint
DROP INDEX `tasks_finished_status_idx`;--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_idempotency_key_uq` ON `tasks` (`idempotency_key`) WHERE idempotency_key IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_schedule_uq` ON `tasks` (`template_id`,`scheduled_for`) WHERE scheduled_for IS NOT NULL;--> statement-breakpoint
CREATE INDEX `tasks_finished_status_idx` ON `tasks` (`finished_at`,`status`) WHERE finished_at IS NOT NULL;