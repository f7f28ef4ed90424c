ALTER TABLE "runs" ADD COLUMN "owner" TEXT;
ALTER TABLE "runs" ADD COLUMN "heartbeat_at" TEXT;
