DROP TABLE IF EXISTS outbox_messages;
