//! `/privacy export`: everything coachbot holds about the caller in this server, by DM, as one
//! JSON file and the same as CSV files. The messages go through the outbox (one file each),
//! queued with the audit entry that records the export.

use poise::CreateReply;

use super::super::{Context, Error, caller};
use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia};
use crate::error::UserError;
use crate::export::personal::{self, Taken};
use crate::store::holdings;
use crate::store::members;
use crate::store::outbox::{NewRow, OutboxMessage};

/// Get a copy of everything coachbot holds about you here, by direct message
#[poise::command(slash_command, guild_only)]
pub async fn export(ctx: Context<'_>) -> Result<(), Error> {
    let caller = caller::caller(ctx).await?;
    if !caller.access.may_export_own_data() {
        return Err(UserError::NotPermitted {
            needed: "members of this server",
            action: "take a copy of their data",
        }
        .into());
    }
    // Reading everything about a person can take longer than Discord's three seconds.
    ctx.defer_ephemeral().await?;
    let data = ctx.data();
    let now = data.now();
    let (server_id, person) = (caller.guild_id, caller.user_id);
    let mut held = holdings::of_person(&data.db, server_id, person).await?;
    held.keep_sessions(|s| {
        caller
            .access
            .may_read_session(s.school_id, s.shared_with_team, s.you_were_in_it)
    });
    let taken = Taken {
        server_id,
        person,
        at: now,
    };
    let files = personal::files(&held, taken)?;
    let messages = personal::messages(&held.server_name, files);
    let mut rows = Vec::with_capacity(messages.len());
    let mut attached = Vec::new();
    for (i, message) in messages.into_iter().enumerate() {
        let key = format!("privacy-export:{}:{i:02}", ctx.id());
        let outgoing = OutboxMessage::Message(crate::domain::outbox::Outgoing {
            channel_id: None,
            body: message.body,
            thread: None,
        });
        rows.push(NewRow::new(
            key.clone(),
            server_id,
            Some(person),
            &outgoing,
            now,
        )?);
        if let Some(file) = message.file {
            attached.push((key, file.name, file.bytes));
        }
    }
    let entry = AuditEntry {
        at: now,
        actor: Some(person),
        via: AuditVia::Discord,
        action: AuditAction::PrivacyExport,
        scope: "their own records".to_owned(),
        subject: Some(person),
        with_answers: true,
        row_count: None,
    };
    holdings::queue_copy(&data.db, server_id, &rows, &attached, &entry, now).await?;
    data.wake.notify_one();
    tracing::info!(server = %server_id, user = %person, messages = rows.len(), "personal copy queued");
    let closed = members::unreachable_since(&data.db, server_id, person)
        .await?
        .is_some();
    let mut content = "I've sent your data by direct message: a JSON file with everything I hold \
                       about you in this server, and the same records as CSV files."
        .to_owned();
    if closed {
        content.push_str(
            "\nYour direct messages were closed the last time I wrote to you. If nothing \
             arrives, allow direct messages from server members (the server's Privacy \
             Settings), then run `/privacy export` again.",
        );
    }
    ctx.send(CreateReply::default().content(content).ephemeral(true))
        .await?;
    Ok(())
}
