-- CreateEnum
CREATE TYPE "RunAttemptOutcome" AS ENUM ('succeeded', 'partial', 'failed', 'abandoned');

-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "run_attempts" (
    "id" BIGSERIAL NOT NULL,
    "run_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "started_at" TIMESTAMP(3) NOT NULL,
    "last_report_at" TIMESTAMP(3) NOT NULL,
    "ended_at" TIMESTAMP(3),
    "resumed_from" TEXT,
    "bytes_sent" BIGINT NOT NULL DEFAULT 0,
    "bytes_resent" BIGINT,
    "outcome" "RunAttemptOutcome",
    "end_reason" TEXT,

    CONSTRAINT "run_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "run_attempts_run_id_number_key" ON "run_attempts"("run_id", "number");

-- AddForeignKey
ALTER TABLE "run_attempts" ADD CONSTRAINT "run_attempts_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
