//! Dates as the server reads them: `/setup dates` (admins) sets whether `12/05` is month or
//! day first, and commands that read a date ask here for the order.

use super::{Context, Error, caller, scope};
use crate::domain::dates::DateOrder;
use crate::domain::ids::ServerId;
use crate::error::UserError;
use crate::store::servers;

#[derive(Clone, Copy, Debug, poise::ChoiceParameter)]
pub enum OrderChoice {
    #[name = "month first (12/05 is 5 December)"]
    MonthDay,
    #[name = "day first (12/05 is 12 May)"]
    DayMonth,
}

impl From<OrderChoice> for DateOrder {
    fn from(choice: OrderChoice) -> Self {
        match choice {
            OrderChoice::MonthDay => DateOrder::MonthDay,
            OrderChoice::DayMonth => DateOrder::DayMonth,
        }
    }
}

/// How people here write dates such as 12/05: month first or day first
#[poise::command(slash_command, guild_only, check = "caller::admin")]
pub async fn dates(
    ctx: Context<'_>,
    #[description = "Which comes first in 12/05"] order: OrderChoice,
) -> Result<(), Error> {
    let guild_id = ctx.guild_id().ok_or(UserError::ServerOnly)?;
    let order = DateOrder::from(order);
    servers::set_date_order(
        &ctx.data().db,
        guild_id.into(),
        &scope::server_name(ctx, guild_id),
        order,
        ctx.data().now(),
    )
    .await?;
    let reply = format!(
        "Dates such as 12/05 are now read {}. Replies always say the weekday and date they were read as.",
        order.label()
    );
    scope::say(ctx, reply).await
}

/// How this server reads `12/05`.
pub async fn order(ctx: Context<'_>, server_id: ServerId) -> Result<DateOrder, Error> {
    servers::date_order(&ctx.data().db, server_id).await
}
