-- CreateEnum
CREATE TYPE "ScheduleCatchUp" AS ENUM ('one', 'none');

-- AlterTable
ALTER TABLE "hosts" ADD COLUMN     "group_id" UUID,
ADD COLUMN     "paused_at" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "host_groups" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "paths" TEXT[],
    "excludes" TEXT[],
    "paused_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "host_groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "schedules" (
    "id" UUID NOT NULL,
    "host_id" UUID,
    "group_id" UUID,
    "cron" TEXT NOT NULL,
    "time_zone" TEXT NOT NULL,
    "window_start" INTEGER,
    "window_end" INTEGER,
    "spread_seconds" INTEGER NOT NULL DEFAULT 0,
    "catch_up" "ScheduleCatchUp" NOT NULL DEFAULT 'one',
    "last_tick_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "schedules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "schedule_ticks" (
    "id" BIGSERIAL NOT NULL,
    "schedule_id" UUID NOT NULL,
    "fired_at" TIMESTAMP(3) NOT NULL,
    "catch_up" BOOLEAN NOT NULL DEFAULT false,
    "runs_queued" INTEGER NOT NULL,
    "skipped" JSONB NOT NULL DEFAULT '[]',

    CONSTRAINT "schedule_ticks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "host_groups_name_key" ON "host_groups"("name");

-- CreateIndex
CREATE UNIQUE INDEX "schedules_host_id_key" ON "schedules"("host_id");

-- CreateIndex
CREATE UNIQUE INDEX "schedules_group_id_key" ON "schedules"("group_id");

-- CreateIndex
CREATE INDEX "schedule_ticks_schedule_id_fired_at_idx" ON "schedule_ticks"("schedule_id", "fired_at");

-- CreateIndex
CREATE INDEX "hosts_group_id_idx" ON "hosts"("group_id");

-- AddForeignKey
ALTER TABLE "hosts" ADD CONSTRAINT "hosts_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "host_groups"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_host_id_fkey" FOREIGN KEY ("host_id") REFERENCES "hosts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "host_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedule_ticks" ADD CONSTRAINT "schedule_ticks_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "schedules"("id") ON DELETE CASCADE ON UPDATE CASCADE;
