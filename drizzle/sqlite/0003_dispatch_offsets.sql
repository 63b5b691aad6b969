ALTER TABLE `tasks` ADD `dispatch_partition` integer;--> statement-breakpoint
ALTER TABLE `tasks` ADD `dispatch_offset` integer;