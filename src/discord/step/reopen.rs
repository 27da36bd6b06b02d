//! A blocked step whose last open barrier was just resolved: the person who resolved it is
//! offered to move the step back to in progress (a button), recorded in the step's log.

use std::time::Duration;

use poise::serenity_prelude as serenity;

use super::super::scope::{self, Caller, Names, Need};
use super::super::{Context, Error};
use crate::domain::plan::StepStatus;
use crate::domain::text;
use crate::store::barriers;
use crate::store::outbox::Announcement;
use crate::store::schools::School;
use crate::store::steps::{self, ActionStep, Change};

/// How long the offer waits for a click.
const OFFER_WAIT: Duration = Duration::from_secs(5 * 60);

/// Whether resolving a barrier left `step` blocked with no open barrier: then it is worth
/// asking whether it can move again.
pub(crate) async fn unblocked(ctx: Context<'_>, step: &ActionStep) -> Result<bool, Error> {
    Ok(step.status == StepStatus::Blocked
        && barriers::open_for_step(&ctx.data().db, step.server_id, step.id)
            .await?
            .is_empty())
}

/// The offer made after a barrier of `step` was resolved.
pub(crate) struct Offer<'a> {
    pub step: &'a ActionStep,
    pub barrier_id: i64,
    /// The reply about the resolution, which the offer goes under.
    pub reply: String,
    /// The resolution's line for the school's channel, sent once the reply is out.
    pub announcement: Option<&'a Announcement<'a>>,
}

/// Sends the offer's reply to the caller alone with the buttons under it, and waits for their
/// click. Only the caller sees and can click it, and only if they may update the step (the
/// same rule as `/step update`).
pub(crate) async fn offer_reopen(
    ctx: Context<'_>,
    caller: &Caller,
    school: &School,
    offer: Offer<'_>,
) -> Result<(), Error> {
    let Offer {
        step,
        barrier_id,
        reply,
        announcement,
    } = offer;
    if scope::check(caller, school, Need::Edit, "change its steps").is_err() {
        scope::say(ctx, reply).await?;
        scope::announce(ctx, announcement).await;
        return Ok(());
    }
    let prefix = format!("reopen:{}:", ctx.id());
    let buttons = vec![
        serenity::CreateButton::new(format!("{prefix}yes"))
            .label("Move it to in progress")
            .style(serenity::ButtonStyle::Primary),
        serenity::CreateButton::new(format!("{prefix}no"))
            .label("Leave it blocked")
            .style(serenity::ButtonStyle::Secondary),
    ];
    // Listen before the buttons exist, so a quick click is not missed.
    let filter_prefix = prefix.clone();
    let mut clicks = Box::pin(
        serenity::ComponentInteractionCollector::new(ctx.serenity_context())
            .author_id(ctx.author().id)
            .timeout(OFFER_WAIT)
            .filter(move |i| i.data.custom_id.starts_with(&filter_prefix))
            .stream(),
    );
    let offer = format!(
        "{reply}\n\nStep **#{} · {}** has no open barrier left and is still blocked. Can it move again?",
        step.id, step.title
    );
    ctx.send(
        poise::CreateReply::default()
            .content(text::clip(&offer, text::MESSAGE_CONTENT))
            .components(vec![serenity::CreateActionRow::Buttons(buttons)])
            .ephemeral(true),
    )
    .await?;
    // The resolution's announcement may wait its turn in the channel (Discord's pace): the
    // click is answered meanwhile, since Discord gives a click three seconds.
    let answering = async {
        let Some(click) = futures::StreamExt::next(&mut clicks).await else {
            return Ok(());
        };
        answer_click(ctx, caller, school, step, barrier_id, &reply, click).await
    };
    let ((), answered) = futures::join!(scope::announce(ctx, announcement), answering);
    answered
}

/// What the click on the offer does: moves the step, or leaves it blocked.
async fn answer_click(
    ctx: Context<'_>,
    caller: &Caller,
    school: &School,
    step: &ActionStep,
    barrier_id: i64,
    reply: &str,
    click: serenity::ComponentInteraction,
) -> Result<(), Error> {
    if !click.data.custom_id.ends_with("yes") {
        let text = format!(
            "{reply}\n\nStep **#{}** stays blocked. Change it any time with `/step update`.",
            step.id
        );
        return scope::settle(ctx, &click, text::clip(&text, text::MESSAGE_CONTENT)).await;
    }
    let clicked = Clicked {
        click: &click,
        reply,
    };
    reopen(ctx, caller, school, step, barrier_id, clicked).await
}

/// The click on the offer, and the reply it goes under.
struct Clicked<'a> {
    click: &'a serenity::ComponentInteraction,
    reply: &'a str,
}

impl Clicked<'_> {
    /// Answers the click (at once: Discord waits three seconds) with `text` under the reply.
    async fn answer(&self, ctx: Context<'_>, text: String) -> Result<(), Error> {
        let full = format!("{}\n\n{text}", self.reply);
        scope::settle(ctx, self.click, text::clip(&full, text::MESSAGE_CONTENT)).await
    }
}

/// Moves the step to in progress, logged with the barrier that cleared, unless it changed
/// meanwhile; answers the click, then tells the school's channel.
async fn reopen(
    ctx: Context<'_>,
    caller: &Caller,
    school: &School,
    step: &ActionStep,
    barrier_id: i64,
    clicked: Clicked<'_>,
) -> Result<(), Error> {
    let db = &ctx.data().db;
    let Some(current) = steps::get(db, step.server_id, step.id).await? else {
        let text = format!("Step #{} is no longer here.", step.id);
        return clicked.answer(ctx, text).await;
    };
    if !unblocked(ctx, &current).await? {
        let text = format!(
            "Step **#{}** was not changed: it is now {}{}.",
            current.id,
            current.status.label(),
            if current.status == StepStatus::Blocked {
                " with another open barrier"
            } else {
                ""
            }
        );
        return clicked.answer(ctx, text).await;
    }
    let by = Names::load_for(ctx, caller.guild_id, &[caller.user_id])
        .await?
        .of(caller.user_id);
    let line = |id: i64| {
        format!(
            "Step #{id} “{}” is now in progress ({by}): its barrier cleared.",
            current.title
        )
    };
    let announcement = scope::announcement(ctx, school, &line).await;
    let note = format!("Barrier #{barrier_id} was resolved.");
    let updated = steps::update(
        db,
        &current,
        &Change {
            note: Some(&note),
            status: Some(StepStatus::InProgress.key()),
            barrier: None,
            author: caller.user_id,
        },
        ctx.data().now(),
        announcement.as_ref(),
    )
    .await?;
    let text = format!(
        "Step **#{} · {}** is now **{}**; it is in the step's log.",
        updated.id,
        updated.title,
        updated.status.label()
    );
    clicked.answer(ctx, text).await?;
    scope::announce(ctx, announcement.as_ref()).await;
    Ok(())
}
