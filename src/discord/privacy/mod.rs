//! `/privacy`: a person's rights over what coachbot holds about them. `export` sends them a
//! copy by DM, `forget` erases it (after a confirmation that says what goes and what stays),
//! `audit` lists for admins what was done with people's data. Who may do which is
//! `Access::may_export_own_data`, `may_forget` and `may_govern_data`.

mod audit;
mod export;
mod forget;

use super::{Context, Error};

pub use forget::on_click;

/// The start of every `/privacy` button's custom id.
pub const COMPONENT_PREFIX: &str = "privacy:";

/// See, take a copy of, or erase what coachbot holds about you
#[poise::command(
    slash_command,
    guild_only,
    subcommands("export::export", "forget::forget", "audit::audit"),
    subcommand_required
)]
pub async fn privacy(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}
