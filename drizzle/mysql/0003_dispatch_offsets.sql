ALTER TABLE `tasks` ADD `dispatch_partition` int;--> statement-breakpoint
ALTER TABLE `tasks` ADD `dispatch_offset` bigint;