-- The application connects as a role of its own, `rdv_app`, that may read and write the data
-- but not change the schema, and may only add to the audit log: no update, no delete. The
-- migrations run as the owner. The setup script (scripts/db.sh) gives the role its login; an
-- owner that may not create roles leaves that to the operator.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rdv_app') THEN
        BEGIN
            CREATE ROLE rdv_app NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'cannot create role rdv_app; create it, then run the migrations again';
            RETURN;
        END;
    END IF;
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO rdv_app', current_database());
    GRANT USAGE ON SCHEMA public TO rdv_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rdv_app;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO rdv_app;
    -- The audit log is append-only for the application.
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM rdv_app;
    -- Start-up checks that the schema is current; only the owner migrates.
    REVOKE INSERT, UPDATE, DELETE ON __diesel_schema_migrations FROM rdv_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO rdv_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO rdv_app;
END $$;
