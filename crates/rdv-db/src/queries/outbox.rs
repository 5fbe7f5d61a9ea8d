//! The notification outbox: messages queued in the transaction of the change that causes
//! them, claimed in batches by any number of workers, and their outcomes.

use crate::models::{NewOutboxMessage, OutboxMessage};
use crate::schema::outbox_messages;
use crate::{Conn, DbResult};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rdv_domain::{EventId, MessageStatus, OrganizationId, OutboxMessageId};

/// Queues many messages at once (a publication tells every participant whose agenda
/// changed); keys queued before are skipped. Returns how many were queued.
pub fn enqueue_many(conn: &mut Conn, new: &[NewOutboxMessage]) -> DbResult<usize> {
    let mut queued = 0;
    // PostgreSQL takes at most 65,535 parameters per statement: 12 per row.
    for chunk in new.chunks(5000) {
        queued += diesel::insert_into(outbox_messages::table)
            .values(chunk)
            .on_conflict(outbox_messages::idempotency_key)
            .do_nothing()
            .execute(conn)?;
    }
    Ok(queued)
}

/// Claims up to `batch` due messages for `worker` under a lease: queued, due, and either never
/// claimed or left by a worker whose lease ran out. Rows other workers hold are skipped.
pub fn claim(
    conn: &mut Conn,
    worker: &str,
    batch: i64,
    lease: Duration,
) -> DbResult<Vec<OutboxMessage>> {
    let now = Utc::now();
    conn.transaction(|conn| {
        let due: Vec<OutboxMessageId> = outbox_messages::table
            .filter(outbox_messages::status.eq(MessageStatus::Queued))
            .filter(outbox_messages::not_before.le(now))
            .filter(
                outbox_messages::locked_until
                    .is_null()
                    .or(outbox_messages::locked_until.lt(now)),
            )
            .order((outbox_messages::not_before, outbox_messages::id))
            .select(outbox_messages::id)
            .limit(batch)
            .for_update()
            .skip_locked()
            .load(conn)?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        Ok(
            diesel::update(outbox_messages::table.filter(outbox_messages::id.eq_any(&due)))
                .set((
                    outbox_messages::attempts.eq(outbox_messages::attempts + 1),
                    outbox_messages::locked_by.eq(worker),
                    outbox_messages::locked_until.eq(now + lease),
                    outbox_messages::updated_at.eq(now),
                ))
                .returning(OutboxMessage::as_returning())
                .get_results(conn)?,
        )
    })
}

/// Extends this worker's lease on the messages `ids` it still holds; returns how many.
pub fn extend_lease(
    conn: &mut Conn,
    ids: &[OutboxMessageId],
    worker: &str,
    lease: Duration,
) -> DbResult<usize> {
    Ok(diesel::update(
        outbox_messages::table
            .filter(outbox_messages::id.eq_any(ids))
            .filter(outbox_messages::locked_by.eq(worker))
            .filter(outbox_messages::status.eq(MessageStatus::Queued)),
    )
    .set(outbox_messages::locked_until.eq(Utc::now() + lease))
    .execute(conn)?)
}

/// Records a message the server took; `false` when this worker no longer held it.
pub fn sent(
    conn: &mut Conn,
    id: OutboxMessageId,
    worker: &str,
    recipient: &str,
    message_id: &str,
    reply: &str,
    channel: rdv_domain::Channel,
) -> DbResult<bool> {
    let recorded = diesel::update(held(id, worker))
        .set((
            outbox_messages::status.eq(MessageStatus::Sent),
            outbox_messages::recipient.eq(recipient),
            outbox_messages::message_id.eq(message_id),
            outbox_messages::provider_reply.eq(reply),
            outbox_messages::sent_at.eq(Utc::now()),
            outbox_messages::locked_by.eq(None::<String>),
            outbox_messages::locked_until.eq(None::<DateTime<Utc>>),
            outbox_messages::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?
        == 1;
    // Only an SMS has delivery reports.
    if recorded && channel == rdv_domain::Channel::Sms {
        fail_undelivered(conn, id)?;
    }
    Ok(recorded)
}

/// An SMS whose delivery report said "not delivered" before its worker recorded it as sent
/// (the gateway may answer that fast) is failed once it is recorded.
fn fail_undelivered(conn: &mut Conn, id: OutboxMessageId) -> DbResult<usize> {
    use rdv_domain::DeliveryStatus as D;
    Ok(diesel::update(
        outbox_messages::table
            .filter(outbox_messages::id.eq(id))
            .filter(outbox_messages::status.eq(MessageStatus::Sent))
            .filter(outbox_messages::delivery_status.eq_any([D::Undelivered, D::RejectedBySmsc])),
    )
    .set((
        outbox_messages::status.eq(MessageStatus::Failed),
        outbox_messages::last_error.eq("the network reported the SMS not delivered"),
    ))
    .execute(conn)?)
}

/// Ends a message without sending it: `failed` (permanently, or out of attempts) or
/// `cancelled` (the person may not receive it any more), with the reason.
pub fn end(
    conn: &mut Conn,
    id: OutboxMessageId,
    worker: &str,
    status: MessageStatus,
    reason: &str,
) -> DbResult<bool> {
    Ok(diesel::update(held(id, worker))
        .set((
            outbox_messages::status.eq(status),
            outbox_messages::last_error.eq(reason),
            outbox_messages::locked_by.eq(None::<String>),
            outbox_messages::locked_until.eq(None::<DateTime<Utc>>),
            outbox_messages::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?
        == 1)
}

/// Puts a temporarily failed message back in the queue until `retry_at`.
pub fn retry_later(
    conn: &mut Conn,
    id: OutboxMessageId,
    worker: &str,
    error: &str,
    retry_at: DateTime<Utc>,
) -> DbResult<bool> {
    Ok(diesel::update(held(id, worker))
        .set((
            outbox_messages::last_error.eq(error),
            outbox_messages::not_before.eq(retry_at),
            outbox_messages::locked_by.eq(None::<String>),
            outbox_messages::locked_until.eq(None::<DateTime<Utc>>),
            outbox_messages::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?
        == 1)
}

type Held = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Find<outbox_messages::table, OutboxMessageId>,
        diesel::dsl::Eq<outbox_messages::locked_by, String>,
    >,
    diesel::dsl::Eq<outbox_messages::status, MessageStatus>,
>;

fn held(id: OutboxMessageId, worker: &str) -> Held {
    outbox_messages::table
        .find(id)
        .filter(outbox_messages::locked_by.eq(worker.to_owned()))
        .filter(outbox_messages::status.eq(MessageStatus::Queued))
}

/// The event's messages, newest first, optionally only those in `status`.
pub fn of_event(
    conn: &mut Conn,
    org: OrganizationId,
    event: EventId,
    status: Option<MessageStatus>,
    page: crate::queries::Page,
) -> DbResult<crate::queries::Paged<OutboxMessage>> {
    let base = || {
        let mut q = outbox_messages::table
            .filter(outbox_messages::organization_id.eq(org))
            .filter(outbox_messages::event_id.eq(event))
            .into_boxed();
        if let Some(s) = status {
            q = q.filter(outbox_messages::status.eq(s));
        }
        q
    };
    let total: i64 = base().count().get_result(conn)?;
    let items = base()
        .order(outbox_messages::id.desc())
        .limit(page.limit)
        .offset(page.offset)
        .select(OutboxMessage::as_select())
        .load(conn)?;
    Ok(crate::queries::Paged { items, total })
}

pub fn get(conn: &mut Conn, org: OrganizationId, id: OutboxMessageId) -> DbResult<OutboxMessage> {
    Ok(outbox_messages::table
        .filter(outbox_messages::organization_id.eq(org))
        .filter(outbox_messages::id.eq(id))
        .select(OutboxMessage::as_select())
        .first(conn)?)
}

/// Queues a failed message again, now, with a fresh set of attempts; `false` when it is not
/// failed.
pub fn requeue(conn: &mut Conn, org: OrganizationId, id: OutboxMessageId) -> DbResult<bool> {
    Ok(diesel::update(
        outbox_messages::table
            .filter(outbox_messages::organization_id.eq(org))
            .filter(outbox_messages::id.eq(id))
            .filter(outbox_messages::status.eq(MessageStatus::Failed)),
    )
    .set((
        outbox_messages::status.eq(MessageStatus::Queued),
        outbox_messages::attempts.eq(0),
        outbox_messages::not_before.eq(Utc::now()),
        outbox_messages::updated_at.eq(Utc::now()),
    ))
    .execute(conn)?
        == 1)
}

/// Records a delivery report on an SMS. A final report (delivered, not delivered, rejected)
/// is kept against a later intermediate one; a message the network did not deliver becomes
/// failed (now if its worker recorded it as sent, else when it does). A report may arrive
/// before the worker has recorded the message's outcome. False when no SMS has that id.
pub fn record_delivery(
    conn: &mut Conn,
    id: OutboxMessageId,
    status: rdv_domain::DeliveryStatus,
) -> DbResult<bool> {
    use rdv_domain::DeliveryStatus as D;
    let final_ = matches!(status, D::Delivered | D::Undelivered | D::RejectedBySmsc);
    let now = Utc::now();
    conn.transaction(|conn| {
        let current: Option<(MessageStatus, Option<D>)> = outbox_messages::table
            .filter(outbox_messages::id.eq(id))
            .filter(outbox_messages::channel.eq(rdv_domain::Channel::Sms))
            .filter(outbox_messages::status.ne(MessageStatus::Cancelled))
            .select((outbox_messages::status, outbox_messages::delivery_status))
            .for_update()
            .first(conn)
            .optional()?;
        let Some((current_status, before)) = current else {
            return Ok(false);
        };
        let before_final = matches!(
            before,
            Some(D::Delivered | D::Undelivered | D::RejectedBySmsc)
        );
        if before_final && !final_ {
            return Ok(true);
        }
        let target = outbox_messages::table.filter(outbox_messages::id.eq(id));
        diesel::update(target)
            .set((
                outbox_messages::delivery_status.eq(status),
                outbox_messages::delivered_at.eq(now),
                outbox_messages::updated_at.eq(now),
            ))
            .execute(conn)?;
        if matches!(status, D::Undelivered | D::RejectedBySmsc)
            && current_status == MessageStatus::Sent
        {
            diesel::update(target)
                .set((
                    outbox_messages::status.eq(MessageStatus::Failed),
                    outbox_messages::last_error.eq(format!(
                        "the network reported the SMS {}",
                        status.as_str().replace('_', " ")
                    )),
                ))
                .execute(conn)?;
        }
        Ok(true)
    })
}

/// Queues a solicitation: `None` when the person was solicited before (the unique index on
/// solicitations per person) or the key was queued before.
pub fn enqueue_solicitation(
    conn: &mut Conn,
    new: &NewOutboxMessage,
) -> DbResult<Option<OutboxMessage>> {
    Ok(diesel::insert_into(outbox_messages::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(OutboxMessage::as_returning())
        .get_result(conn)
        .optional()?)
}

/// Forgets where a message went and what it carried (the last message to an erased person).
pub fn forget_recipient(conn: &mut Conn, id: OutboxMessageId) -> DbResult<()> {
    diesel::update(outbox_messages::table.find(id))
        .set((
            outbox_messages::recipient.eq(None::<String>),
            outbox_messages::data.eq(serde_json::json!({})),
            outbox_messages::provider_reply.eq(None::<String>),
            outbox_messages::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}
