-- The role is shared by every database of the cluster: only this database's grants go.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rdv_app') THEN
        ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM rdv_app;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM rdv_app;
        REVOKE ALL ON ALL TABLES IN SCHEMA public FROM rdv_app;
        REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM rdv_app;
        REVOKE USAGE ON SCHEMA public FROM rdv_app;
        EXECUTE format('REVOKE ALL ON DATABASE %I FROM rdv_app', current_database());
    END IF;
END $$;
