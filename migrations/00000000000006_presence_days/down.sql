DROP TABLE IF EXISTS presence_days;
