-- AlterTable
ALTER TABLE "run_attempts" ADD COLUMN     "phases" JSONB NOT NULL DEFAULT '[]';
