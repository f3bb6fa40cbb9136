-- AlterEnum
ALTER TYPE "RunAttemptOutcome" ADD VALUE 'canceled';
