//! Autocomplete for schools, indicators, steps and barriers: always scoped to the caller's
//! server, and for steps and barriers to the schools the caller may read. Never writes.

use poise::serenity_prelude as serenity;

use super::{Context, caller, scope};
use crate::domain::text::{CHOICE_NAME, CHOICES, clip};
use crate::store::{barriers, schools, steps};

fn choices(
    items: impl IntoIterator<Item = (String, String)>,
) -> serenity::CreateAutocompleteResponse {
    let choices: Vec<serenity::AutocompleteChoice> = items
        .into_iter()
        .take(CHOICES)
        .map(|(name, value)| serenity::AutocompleteChoice::new(clip(&name, CHOICE_NAME), value))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

fn logged<T>(what: &str, result: anyhow::Result<Vec<T>>) -> Vec<T> {
    result.unwrap_or_else(|error| {
        tracing::warn!(error = format!("{error:#}"), "{what} autocomplete failed");
        Vec::new()
    })
}

pub async fn school(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let Some(guild_id) = ctx.guild_id() else {
        return choices([]);
    };
    let names = logged(
        "school",
        schools::names_matching(&ctx.data().db, guild_id.into(), partial, CHOICES).await,
    );
    choices(names.into_iter().map(|n| (n.clone(), n)))
}

pub async fn indicator(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let Some(guild_id) = ctx.guild_id() else {
        return choices([]);
    };
    let Ok(framework) = scope::framework_of(ctx, guild_id.into()).await else {
        return choices([]);
    };
    choices(
        framework
            .matching(partial)
            .into_iter()
            .map(|i| (i.title(), i.id.clone())),
    )
}

pub async fn step(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let Some(guild_id) = ctx.guild_id() else {
        return choices([]);
    };
    let Ok(access) = caller::peek_access(ctx).await else {
        return choices([]);
    };
    let db = &ctx.data().db;
    let schools = logged("step", schools::list(db, guild_id.into()).await);
    let readable: Vec<_> = schools
        .iter()
        .map(|s| s.id)
        .filter(|id| access.can_read_plan(*id))
        .collect();
    let typed = partial.trim().trim_start_matches('#');
    let found = logged(
        "step",
        steps::suggest(db, guild_id.into(), &readable, typed, CHOICES as i64).await,
    );
    choices(found.into_iter().map(|s| {
        let school = schools
            .iter()
            .find(|x| x.id == s.school_id)
            .map_or("", |x| x.name.as_str());
        (
            format!("#{} · {} ({school})", s.id, s.title),
            s.id.to_string(),
        )
    }))
}

pub async fn barrier(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let Some(guild_id) = ctx.guild_id() else {
        return choices([]);
    };
    let Ok(access) = caller::peek_access(ctx).await else {
        return choices([]);
    };
    let typed = partial.trim().trim_start_matches('#').to_lowercase();
    let open = logged(
        "barrier",
        barriers::list(&ctx.data().db, guild_id.into(), None, false).await,
    );
    choices(
        open.into_iter()
            .filter(|b| access.can_read_plan(b.school_id))
            .filter(|b| {
                b.id.to_string().starts_with(&typed) || b.text.to_lowercase().contains(&typed)
            })
            .map(|b| {
                (
                    format!("#{} · [{}] {}", b.id, b.category, b.text),
                    b.id.to_string(),
                )
            }),
    )
}

pub async fn time_zone(_ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    choices(
        crate::domain::school::suggest_time_zones(partial, CHOICES)
            .into_iter()
            .map(|name| (name.to_owned(), name.to_owned())),
    )
}
