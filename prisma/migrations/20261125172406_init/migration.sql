-- CreateEnum
CREATE TYPE "HostStatus" AS ENUM ('pending', 'online', 'offline');

-- CreateEnum
CREATE TYPE "RunKind" AS ENUM ('backup', 'restore');

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('queued', 'running', 'succeeded', 'partial', 'failed', 'canceled');

-- CreateTable
CREATE TABLE "hosts" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "paths" TEXT[],
    "excludes" TEXT[],
    "status" "HostStatus" NOT NULL DEFAULT 'pending',
    "last_seen_at" TIMESTAMP(3),
    "enrollment_secret_hash" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "hosts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_credentials" (
    "id" UUID NOT NULL,
    "host_id" UUID NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "agent_credentials_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "runs" (
    "id" UUID NOT NULL,
    "host_id" UUID NOT NULL,
    "kind" "RunKind" NOT NULL,
    "status" "RunStatus" NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),
    "files_total" BIGINT NOT NULL DEFAULT 0,
    "files_done" BIGINT NOT NULL DEFAULT 0,
    "bytes_total" BIGINT NOT NULL DEFAULT 0,
    "bytes_done" BIGINT NOT NULL DEFAULT 0,
    "bytes_sent" BIGINT NOT NULL DEFAULT 0,
    "bytes_stored" BIGINT NOT NULL DEFAULT 0,
    "files_skipped" BIGINT NOT NULL DEFAULT 0,
    "file_error_count" BIGINT NOT NULL DEFAULT 0,
    "error" TEXT,
    "checkpoint" TEXT,
    "restore_snapshot_id" UUID,
    "restore_target_dir" TEXT,
    "restore_sub_path" TEXT,

    CONSTRAINT "runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "file_errors" (
    "id" BIGSERIAL NOT NULL,
    "run_id" UUID NOT NULL,
    "path" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "file_errors_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "snapshots" (
    "id" UUID NOT NULL,
    "host_id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "root_tree" TEXT NOT NULL,
    "files" BIGINT NOT NULL DEFAULT 0,
    "dirs" BIGINT NOT NULL DEFAULT 0,
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "bytes_sent" BIGINT NOT NULL DEFAULT 0,
    "bytes_stored" BIGINT NOT NULL DEFAULT 0,
    "published_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "hosts_name_key" ON "hosts"("name");

-- CreateIndex
CREATE UNIQUE INDEX "hosts_enrollment_secret_hash_key" ON "hosts"("enrollment_secret_hash");

-- CreateIndex
CREATE UNIQUE INDEX "agent_credentials_secret_hash_key" ON "agent_credentials"("secret_hash");

-- CreateIndex
CREATE INDEX "agent_credentials_host_id_idx" ON "agent_credentials"("host_id");

-- CreateIndex
CREATE INDEX "runs_host_id_created_at_idx" ON "runs"("host_id", "created_at");

-- CreateIndex
CREATE INDEX "runs_status_idx" ON "runs"("status");

-- CreateIndex
CREATE INDEX "file_errors_run_id_id_idx" ON "file_errors"("run_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "snapshots_run_id_key" ON "snapshots"("run_id");

-- CreateIndex
CREATE INDEX "snapshots_host_id_published_at_idx" ON "snapshots"("host_id", "published_at");

-- AddForeignKey
ALTER TABLE "agent_credentials" ADD CONSTRAINT "agent_credentials_host_id_fkey" FOREIGN KEY ("host_id") REFERENCES "hosts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_host_id_fkey" FOREIGN KEY ("host_id") REFERENCES "hosts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "runs" ADD CONSTRAINT "runs_restore_snapshot_id_fkey" FOREIGN KEY ("restore_snapshot_id") REFERENCES "snapshots"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "file_errors" ADD CONSTRAINT "file_errors_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_host_id_fkey" FOREIGN KEY ("host_id") REFERENCES "hosts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
