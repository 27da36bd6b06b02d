//! Sending a message, or opening a DM, with Discord's whole answer in hand.
//!
//! serenity's `send_message` turns a failure into an `ErrorResponse` that has dropped a 429's
//! `retry_after`, and with its rate limiter off (as it must be against the emulator) nothing
//! else reads it. The outbox needs it, and the id of the message created. So the request is
//! still built by serenity (route, token, proxy) and, where serenity's limiter is on (real
//! Discord), performed through it; the answer is read here.

use std::time::Duration;

use poise::serenity_prelude as serenity;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serenity::http::{LightMethod, Multipart, MultipartUpload, Request, Route};

use crate::domain::message::{Embed, MessageBody};

/// Discord's error code for "Cannot send messages to this user".
pub const DMS_CLOSED: i64 = 50007;
/// Discord's error code for "A thread has already been created for this message".
pub const THREAD_EXISTS: i64 = 160_004;
/// How long a summary's thread stays open without activity: a week, in minutes.
const THREAD_ARCHIVE_MINUTES: u64 = 10_080;

/// Why a request did not succeed, in the terms the outbox acts on.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// 429: Discord says when to try again.
    #[error("Discord rate-limited the request (429{}); retry after {retry_after:?}", if *.global { ", global" } else { "" })]
    RateLimited { retry_after: Duration, global: bool },
    /// Error 50007: the person's DMs are closed to the bot.
    #[error("Discord error {DMS_CLOSED}: the person does not accept direct messages")]
    DmsClosed,
    /// 5xx: Discord had trouble; worth another try later.
    #[error("Discord answered {status}")]
    Unavailable { status: u16 },
    /// The connection failed before Discord answered; worth another try later.
    #[error("could not reach Discord")]
    Network(#[source] reqwest::Error),
    /// Not sent: this process's limits leave the request no place before `wait` is over,
    /// and the caller asked not to wait that long ([`super::with_patience`]).
    #[error("not sent yet: the channel has room again in {wait:?}")]
    Deferred { wait: Duration },
    /// Any other answer: trying again will not help.
    #[error("Discord refused the request ({status}, code {code}): {message}")]
    Rejected {
        status: u16,
        code: i64,
        message: String,
    },
}

/// The body of a Discord error answer.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    /// Seconds, for a 429.
    retry_after: Option<f64>,
    #[serde(default)]
    global: bool,
}

/// Posts `message` in `channel` and returns the message Discord created.
pub async fn post_message(
    http: &serenity::Http,
    client: &reqwest::Client,
    channel: serenity::ChannelId,
    message: &serenity::CreateMessage,
) -> Result<serenity::Message, SendError> {
    let body = serde_json::to_vec(message).map_err(|e| SendError::Rejected {
        status: 0,
        code: 0,
        message: format!("the message could not be encoded: {e}"),
    })?;
    let request = Request::new(
        Route::ChannelMessages {
            channel_id: channel,
        },
        LightMethod::Post,
    )
    .body(Some(body));
    perform(http, client, request).await
}

/// Posts `message` in `channel` with `files` attached (multipart: the message as
/// `payload_json`, each file as `files[n]`), and returns the message Discord created.
pub async fn post_message_with_files(
    http: &serenity::Http,
    client: &reqwest::Client,
    channel: serenity::ChannelId,
    message: &serenity::CreateMessage,
    files: &[(String, Vec<u8>)],
) -> Result<serenity::Message, SendError> {
    if files.is_empty() {
        return post_message(http, client, channel, message).await;
    }
    let refused = |message: String| SendError::Rejected {
        status: 0,
        code: 0,
        message,
    };
    // serenity names every part `files[0]` unless it numbers them itself: one file per message.
    let [(filename, bytes)] = files else {
        return Err(refused(
            "only one file can be attached to a message".to_owned(),
        ));
    };
    let mut payload = serde_json::to_value(message)
        .map_err(|e| refused(format!("the message could not be encoded: {e}")))?;
    payload["attachments"] = serde_json::json!([{ "id": "0", "filename": filename }]);
    let request = Request::new(
        Route::ChannelMessages {
            channel_id: channel,
        },
        LightMethod::Post,
    )
    .multipart(Some(Multipart {
        upload: MultipartUpload::Attachments(vec![serenity::CreateAttachment::bytes(
            bytes.clone(),
            filename.clone(),
        )]),
        fields: Vec::new(),
        payload_json: Some(payload.to_string()),
    }));
    perform(http, client, request).await
}

/// Opens a thread on `message` in `channel` and returns it. A thread on a message has the
/// message's id, so a second attempt (Discord answers 160004, the thread exists) returns it too.
pub async fn start_thread(
    http: &serenity::Http,
    client: &reqwest::Client,
    channel: serenity::ChannelId,
    message: serenity::MessageId,
    name: &str,
) -> Result<serenity::ChannelId, SendError> {
    let body = serde_json::json!({
        "name": name,
        "auto_archive_duration": THREAD_ARCHIVE_MINUTES,
    })
    .to_string();
    let request = Request::new(
        Route::ChannelMessageThreads {
            channel_id: channel,
            message_id: message,
        },
        LightMethod::Post,
    )
    .body(Some(body.into_bytes()));
    match perform::<serde_json::Value>(http, client, request).await {
        Ok(_)
        | Err(SendError::Rejected {
            code: THREAD_EXISTS,
            ..
        }) => Ok(serenity::ChannelId::new(message.get())),
        Err(other) => Err(other),
    }
}

/// A report's message as Discord will show it: text, embeds (an embed's image refers to the
/// attached file), no mentions, and a nonce so a resend is dropped.
pub fn report_message(body: &MessageBody, nonce: String) -> serenity::CreateMessage {
    let message = serenity::CreateMessage::new()
        .content(body.content.clone())
        .embeds(body.embeds.iter().map(embed).collect())
        .nonce(serenity::Nonce::String(nonce))
        .enforce_nonce(true)
        .allowed_mentions(serenity::CreateAllowedMentions::new());
    if body.buttons.is_empty() {
        message
    } else {
        message.components(super::components(&body.buttons))
    }
}

/// An embed from coachbot's own description of one.
pub fn embed(embed: &Embed) -> serenity::CreateEmbed {
    let mut built = serenity::CreateEmbed::new()
        .title(embed.title.clone())
        .description(embed.description.clone())
        .colour(serenity::Colour::new(0x2E_7D_6B));
    if let Some(footer) = &embed.footer {
        built = built.footer(serenity::CreateEmbedFooter::new(footer.clone()));
    }
    if let Some(image) = &embed.image {
        built = built.image(format!("attachment://{image}"));
    }
    built
}

/// Opens (or finds) the DM channel with `user`.
pub async fn open_dm(
    http: &serenity::Http,
    client: &reqwest::Client,
    user: serenity::UserId,
) -> Result<serenity::ChannelId, SendError> {
    let body = serde_json::json!({ "recipient_id": user.to_string() }).to_string();
    let request =
        Request::new(Route::UserMeDmChannels, LightMethod::Post).body(Some(body.into_bytes()));
    let channel: serenity::PrivateChannel = perform(http, client, request).await?;
    Ok(channel.id)
}

/// The Discord role ids `user` holds in `guild` now, or `None` when they are not a member
/// (Discord answers 404, Unknown Member).
pub async fn member_roles(
    http: &serenity::Http,
    client: &reqwest::Client,
    guild: serenity::GuildId,
    user: serenity::UserId,
) -> Result<Option<Vec<u64>>, SendError> {
    #[derive(serde::Deserialize)]
    struct Member {
        roles: Vec<serenity::RoleId>,
    }
    let request = Request::new(
        Route::GuildMember {
            guild_id: guild,
            user_id: user,
        },
        LightMethod::Get,
    );
    match perform::<Member>(http, client, request).await {
        Ok(member) => Ok(Some(member.roles.iter().map(|r| r.get()).collect())),
        Err(SendError::Rejected { status: 404, .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

async fn perform<T: DeserializeOwned>(
    http: &serenity::Http,
    client: &reqwest::Client,
    request: Request<'_>,
) -> Result<T, SendError> {
    let refused = |message: String| SendError::Rejected {
        status: 0,
        code: 0,
        message,
    };
    let response = match &http.ratelimiter {
        Some(limiter) => limiter.perform(request).await.map_err(|e| match e {
            serenity::Error::Http(serenity::HttpError::Request(e)) => SendError::Network(e),
            other => refused(other.to_string()),
        })?,
        None => {
            let built = request
                .build(client, http.token(), http.proxy.as_deref())
                .map_err(|e| refused(e.to_string()))?
                .build()
                .map_err(SendError::Network)?;
            client.execute(built).await.map_err(SendError::Network)?
        }
    };
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_header = header("retry-after").and_then(|v| v.parse::<f64>().ok());
    let global_header = header("x-ratelimit-global").is_some()
        || header("x-ratelimit-scope").as_deref() == Some("global");
    let bytes = response.bytes().await.map_err(SendError::Network)?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&bytes)
            .map_err(|e| refused(format!("Discord's answer could not be read: {e}")));
    }
    let error: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
    Err(match status {
        429 => {
            let seconds = error.retry_after.or(retry_header).unwrap_or(5.0);
            SendError::RateLimited {
                retry_after: Duration::from_secs_f64(seconds.clamp(0.0, 3600.0)),
                global: error.global || global_header,
            }
        }
        _ if error.code == DMS_CLOSED => SendError::DmsClosed,
        500..=599 => SendError::Unavailable { status },
        _ => SendError::Rejected {
            status,
            code: error.code,
            message: error.message,
        },
    })
}
