//! The diesel view of the tables created by the root `migrations/`.

diesel::table! {
    organizations (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        closed_at -> Nullable<Timestamptz>,
        closed_by -> Nullable<BigInt>,
        purge_after -> Nullable<Timestamptz>,
        purged_at -> Nullable<Timestamptz>,
        closure -> Jsonb,
        legal_name -> Nullable<Text>,
        address_line1 -> Nullable<Text>,
        address_line2 -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        country -> Nullable<Text>,
        siren -> Nullable<Text>,
        siret -> Nullable<Text>,
        vat_number -> Nullable<Text>,
        legal_mentions -> Nullable<Text>,
        payment_days -> Integer,
        late_penalty -> Text,
    }
}

diesel::table! {
    persons (id) {
        id -> BigInt,
        organization_id -> BigInt,
        civility -> Nullable<Text>,
        first_name -> Text,
        last_name -> Text,
        email -> Text,
        mobile_phone -> Nullable<Text>,
        landline_phone -> Nullable<Text>,
        company -> Nullable<Text>,
        job_title -> Nullable<Text>,
        address_line1 -> Nullable<Text>,
        address_line2 -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        country -> Nullable<Text>,
        preferred_language -> Text,
        optout_marketing_email_at -> Nullable<Timestamptz>,
        optout_sms_at -> Nullable<Timestamptz>,
        optout_phone_prospecting_at -> Nullable<Timestamptz>,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    user_accounts (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Text,
        disabled_at -> Nullable<Timestamptz>,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_login_at -> Nullable<Timestamptz>,
        inactivity_warned_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    memberships (id) {
        id -> BigInt,
        user_account_id -> BigInt,
        organization_id -> Nullable<BigInt>,
        role -> Text,
        person_id -> Nullable<BigInt>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        user_account_id -> BigInt,
        membership_id -> BigInt,
        token_sha256 -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        session_id -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        user_account_id -> BigInt,
        membership_id -> BigInt,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    login_throttle (subject_key) {
        subject_key -> Text,
        attempts -> Integer,
        window_started_at -> Timestamptz,
        blocked_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Jsonb,
        state -> Text,
        run_at -> Timestamptz,
        attempts -> Integer,
        max_attempts -> Integer,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        unique_key -> Nullable<Text>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        organization_id -> BigInt,
        slug -> Text,
        name -> Text,
        time_zone -> Text,
        venue -> Nullable<Text>,
        starts_on -> Date,
        ends_on -> Date,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        calendar_changed_at -> Timestamptz,
    }
}

diesel::table! {
    event_days (id) {
        id -> BigInt,
        event_id -> BigInt,
        day -> Date,
        starts_at -> Time,
        ends_at -> Time,
        slot_minutes -> Integer,
    }
}

diesel::table! {
    meeting_slots (id) {
        id -> BigInt,
        event_id -> BigInt,
        event_day_id -> BigInt,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        session_label -> Text,
    }
}

diesel::table! {
    meeting_tables (id) {
        id -> BigInt,
        event_id -> BigInt,
        number -> Integer,
        label -> Text,
    }
}

diesel::table! {
    registrations (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> BigInt,
        person_id -> BigInt,
        participant_type -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        company_description -> Nullable<Text>,
        offers -> Nullable<Text>,
        needs -> Nullable<Text>,
        sectors -> Array<Text>,
        languages -> Array<Text>,
        profile_visible -> Bool,
        meeting_quota -> Nullable<Integer>,
        stand -> Nullable<Text>,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    consent_records (id) {
        id -> BigInt,
        organization_id -> BigInt,
        person_id -> BigInt,
        purpose -> Text,
        text_version -> Text,
        granted -> Bool,
        method -> Text,
        client_address -> Nullable<Text>,
        recorded_at -> Timestamptz,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        organization_id -> Nullable<BigInt>,
        actor_user_id -> Nullable<BigInt>,
        action -> Text,
        subject_type -> Text,
        subject_ids -> Array<BigInt>,
        person_ids -> Array<BigInt>,
        field_names -> Array<Text>,
        client_address -> Nullable<Text>,
        occurred_at -> Timestamptz,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    search_outbox (id) {
        id -> BigInt,
        registration_id -> BigInt,
        event_id -> BigInt,
        enqueued_at -> Timestamptz,
        xid -> BigInt,
    }
}

diesel::table! {
    search_outbox_horizon (singleton) {
        singleton -> Bool,
        pruned_below_xid -> BigInt,
    }
}

diesel::table! {
    meeting_settings (event_id) {
        event_id -> BigInt,
        organization_id -> BigInt,
        allowed_pairs -> Array<Text>,
        acceptance -> Text,
        requests_open_at -> Nullable<Timestamptz>,
        requests_close_at -> Nullable<Timestamptz>,
        max_requests_per_participant -> Integer,
        default_quotas -> Jsonb,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    meeting_requests (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> BigInt,
        requester_id -> BigInt,
        recipient_id -> BigInt,
        message -> Nullable<Text>,
        priority -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    meeting_request_history (id) {
        id -> BigInt,
        request_id -> BigInt,
        actor_user_id -> Nullable<BigInt>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    unavailabilities (registration_id, slot_id) {
        registration_id -> BigInt,
        slot_id -> BigInt,
    }
}

diesel::table! {
    plan_runs (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> BigInt,
        status -> Text,
        options -> Jsonb,
        progress -> Jsonb,
        job_id -> Nullable<BigInt>,
        requested_by -> Nullable<BigInt>,
        calendar_as_of -> Nullable<Timestamptz>,
        requests_total -> Nullable<Integer>,
        scheduled -> Nullable<Integer>,
        weight -> Nullable<BigInt>,
        bound -> Nullable<Double>,
        gap -> Nullable<Double>,
        breaks -> Nullable<Integer>,
        error -> Nullable<Text>,
        cancel_requested -> Bool,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    plan_meetings (run_id, request_id) {
        run_id -> BigInt,
        request_id -> BigInt,
        slot_id -> BigInt,
        table_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    plan_unscheduled (run_id, request_id) {
        run_id -> BigInt,
        request_id -> BigInt,
        reason -> Text,
    }
}

diesel::table! {
    agenda_versions (id) {
        id -> BigInt,
        event_id -> BigInt,
        version -> Integer,
        run_id -> BigInt,
        published_by -> Nullable<BigInt>,
        published_at -> Timestamptz,
    }
}

diesel::table! {
    meetings (id) {
        id -> BigInt,
        event_id -> BigInt,
        request_id -> BigInt,
        slot_id -> BigInt,
        table_id -> Nullable<BigInt>,
        status -> Text,
        sequence -> Integer,
        created_in -> Integer,
        updated_in -> Integer,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    agenda_changes (id) {
        id -> BigInt,
        version_id -> BigInt,
        registration_id -> BigInt,
        meeting_id -> BigInt,
        change -> Text,
        old_slot_id -> Nullable<BigInt>,
        new_slot_id -> Nullable<BigInt>,
        old_table_id -> Nullable<BigInt>,
        new_table_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    agenda_feeds (registration_id) {
        registration_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    exports (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> Nullable<BigInt>,
        kind -> Text,
        status -> Text,
        requested_by -> Nullable<BigInt>,
        job_id -> Nullable<BigInt>,
        progress -> Jsonb,
        error -> Nullable<Text>,
        file_name -> Nullable<Text>,
        content_type -> Nullable<Text>,
        size_bytes -> Nullable<BigInt>,
        content -> Nullable<Bytea>,
        person_ids -> Array<BigInt>,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        options -> Jsonb,
    }
}

diesel::table! {
    imports (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> Nullable<BigInt>,
        kind -> Text,
        status -> Text,
        requested_by -> Nullable<BigInt>,
        job_id -> Nullable<BigInt>,
        file_name -> Text,
        size_bytes -> BigInt,
        content -> Bytea,
        detected -> Jsonb,
        headers -> Array<Text>,
        mapping -> Jsonb,
        options -> Jsonb,
        writes -> Bool,
        progress -> Jsonb,
        decisions -> Nullable<Text>,
        error -> Nullable<Text>,
        person_ids -> Array<BigInt>,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    import_problems (import_id, row_index, seq) {
        import_id -> BigInt,
        row_index -> Integer,
        line -> BigInt,
        decision -> Text,
        column_name -> Nullable<Text>,
        reason -> Text,
        seq -> Integer,
    }
}

diesel::table! {
    presence_days (registration_id, event_day_id) {
        registration_id -> BigInt,
        event_day_id -> BigInt,
    }
}

diesel::table! {
    outbox_messages (id) {
        id -> BigInt,
        organization_id -> Nullable<BigInt>,
        event_id -> Nullable<BigInt>,
        person_id -> Nullable<BigInt>,
        channel -> Text,
        template -> Text,
        data -> Jsonb,
        idempotency_key -> Text,
        not_before -> Timestamptz,
        status -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamptz>,
        recipient -> Nullable<Text>,
        message_id -> Nullable<Text>,
        provider_reply -> Nullable<Text>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        campaign_id -> Nullable<BigInt>,
        solicitation -> Bool,
        delivery_status -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        user_account_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    campaigns (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> BigInt,
        name -> Text,
        content -> Jsonb,
        segment -> Jsonb,
        status -> Text,
        send_at -> Nullable<Timestamptz>,
        per_minute -> Integer,
        per_domain_per_minute -> Integer,
        queued -> Integer,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    privacy_requests (id) {
        id -> BigInt,
        organization_id -> BigInt,
        person_id -> BigInt,
        kind -> Text,
        purpose -> Nullable<Text>,
        channel -> Text,
        details -> Nullable<Text>,
        state -> Text,
        received_at -> Timestamptz,
        due_at -> Timestamptz,
        recorded_by -> Nullable<BigInt>,
        handled_by -> Nullable<BigInt>,
        handled_at -> Nullable<Timestamptz>,
        outcome -> Jsonb,
        note -> Nullable<Text>,
        job_id -> Nullable<BigInt>,
        archive -> Nullable<Bytea>,
        archive_expires_at -> Nullable<Timestamptz>,
        scan_digest -> Nullable<Jsonb>,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    privacy_sweeps (id) {
        id -> BigInt,
        dry_run -> Bool,
        status -> Text,
        started_by -> Nullable<BigInt>,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        report -> Jsonb,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    consent_texts (id) {
        id -> BigInt,
        organization_id -> BigInt,
        purpose -> Text,
        version -> Text,
        text_fr -> Text,
        text_en -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    registration_forms (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> BigInt,
        participant_type -> Text,
        version -> Integer,
        definition -> Jsonb,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    registration_answers (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> BigInt,
        registration_id -> BigInt,
        person_id -> BigInt,
        form_id -> BigInt,
        answers -> Jsonb,
        submitted_at -> Timestamptz,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    products (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> BigInt,
        kind -> Text,
        participant_type -> Nullable<Text>,
        code -> Text,
        name -> Text,
        description -> Nullable<Text>,
        vat_rate_bp -> Integer,
        vat_exemption -> Nullable<Text>,
        capacity -> Nullable<Integer>,
        held -> Integer,
        sold -> Integer,
        meeting_quota -> Nullable<Integer>,
        max_per_order -> Integer,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    product_prices (id) {
        id -> BigInt,
        product_id -> BigInt,
        label -> Text,
        price_cents -> BigInt,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
    }
}

diesel::table! {
    vouchers (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> BigInt,
        code -> Text,
        percent_bp -> Nullable<Integer>,
        amount_cents -> Nullable<BigInt>,
        product_id -> Nullable<BigInt>,
        max_uses -> Nullable<Integer>,
        used -> Integer,
        valid_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> BigInt,
        person_id -> BigInt,
        registration_id -> Nullable<BigInt>,
        reference -> Text,
        idempotency_key -> Text,
        request_digest -> Text,
        created_by -> Nullable<BigInt>,
        status -> Text,
        hold_until -> Timestamptz,
        voucher_id -> Nullable<BigInt>,
        buyer -> Jsonb,
        vat_treatment -> Text,
        pricing -> Jsonb,
        total_excl_cents -> BigInt,
        total_vat_cents -> BigInt,
        total_incl_cents -> BigInt,
        paid_cents -> BigInt,
        refunded_cents -> BigInt,
        payment_method -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        paid_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    order_lines (id) {
        id -> BigInt,
        order_id -> BigInt,
        product_id -> BigInt,
        label -> Text,
        quantity -> Integer,
        unit_price_cents -> BigInt,
        discount_cents -> BigInt,
        net_cents -> BigInt,
        vat_rate_bp -> Integer,
    }
}

diesel::table! {
    payments (id) {
        id -> BigInt,
        organization_id -> BigInt,
        order_id -> BigInt,
        method -> Text,
        status -> Text,
        amount_cents -> BigInt,
        provider_session_id -> Nullable<Text>,
        provider_payment_id -> Nullable<Text>,
        checkout_url -> Nullable<Text>,
        bank_reference -> Nullable<Text>,
        recorded_by -> Nullable<BigInt>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    payment_events (provider, provider_event_id) {
        provider -> Text,
        provider_event_id -> Text,
        kind -> Text,
        order_id -> Nullable<BigInt>,
        outcome -> Text,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    refunds (id) {
        id -> BigInt,
        organization_id -> BigInt,
        order_id -> BigInt,
        payment_id -> Nullable<BigInt>,
        amount_cents -> BigInt,
        reason -> Text,
        status -> Text,
        provider_refund_id -> Nullable<Text>,
        requested_by -> Nullable<BigInt>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    invoice_sequences (organization_id, year) {
        organization_id -> BigInt,
        year -> Integer,
        last_number -> Integer,
    }
}

diesel::table! {
    invoices (id) {
        id -> BigInt,
        organization_id -> BigInt,
        event_id -> BigInt,
        order_id -> BigInt,
        person_id -> BigInt,
        kind -> Text,
        year -> Integer,
        seq -> Integer,
        number -> Text,
        issued_at -> Timestamptz,
        corrects_id -> Nullable<BigInt>,
        refund_id -> Nullable<BigInt>,
        document -> Jsonb,
        total_excl_cents -> BigInt,
        total_vat_cents -> BigInt,
        total_incl_cents -> BigInt,
        pdf -> Bytea,
        xml -> Text,
        legal_basis -> Text,
        retention_until -> Timestamptz,
        restricted_at -> Nullable<Timestamptz>,
        erased_at -> Nullable<Timestamptz>,
        source -> Text,
        last_verified_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(privacy_requests -> persons (person_id));
diesel::joinable!(persons -> organizations (organization_id));
diesel::joinable!(memberships -> user_accounts (user_account_id));
diesel::joinable!(sessions -> memberships (membership_id));
diesel::joinable!(events -> organizations (organization_id));
diesel::joinable!(event_days -> events (event_id));
diesel::joinable!(meeting_slots -> event_days (event_day_id));
diesel::joinable!(registrations -> persons (person_id));
diesel::joinable!(registrations -> events (event_id));

diesel::allow_tables_to_appear_in_same_query!(
    imports,
    import_problems,
    consent_texts,
    registration_forms,
    registration_answers,
    products,
    product_prices,
    vouchers,
    orders,
    order_lines,
    payments,
    payment_events,
    refunds,
    invoice_sequences,
    invoices,
    privacy_requests,
    privacy_sweeps,
    organizations,
    persons,
    user_accounts,
    memberships,
    refresh_tokens,
    sessions,
    login_throttle,
    jobs,
    events,
    event_days,
    meeting_slots,
    meeting_tables,
    registrations,
    consent_records,
    audit_log,
    search_outbox,
    search_outbox_horizon,
    meeting_settings,
    meeting_requests,
    meeting_request_history,
    unavailabilities,
    plan_runs,
    plan_meetings,
    plan_unscheduled,
    agenda_versions,
    meetings,
    agenda_changes,
    agenda_feeds,
    exports,
    presence_days,
    outbox_messages,
    campaigns,
);
