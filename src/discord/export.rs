//! `/export`: a school's records (or every school's) as CSV files, for its coaches and admins.
//! Check-in answers go only to the person's coach, so they come only with a coach's export.

use poise::CreateReply;
use poise::serenity_prelude as serenity;

use super::scope::{self, Caller};
use super::{Context, Error, complete};
use crate::domain::ids::SchoolId;
use crate::domain::privacy::{AuditAction, AuditEntry, AuditVia};
use crate::domain::roles::Role;
use crate::domain::text::plural;
use crate::error::UserError;
use crate::export::{self, CsvFile, DISCORD_UPLOAD_LIMIT};
use crate::store::audit;
use crate::store::export::Answers;
use crate::store::schools::School;

/// Download steps, updates, barriers and indicator levels as CSV files (coaches and admins)
#[poise::command(slash_command, guild_only)]
pub async fn export(
    ctx: Context<'_>,
    #[description = "Which school (leave empty for every school, if you work across the server)"]
    #[autocomplete = "complete::school"]
    school: Option<String>,
) -> Result<(), Error> {
    // Reading a whole server can take longer than Discord's three seconds: answer Discord
    // first, before any database work (the files, or a refusal, follow as an edit).
    ctx.defer_ephemeral().await?;
    let caller = scope::caller(ctx).await?;
    let school = scope::school_to_report(&caller, school.as_deref(), "export its records")?;
    let answers = answers_for(&caller, school.as_ref());
    let guild = serenity::GuildId::from(caller.guild_id);
    let name = school
        .as_ref()
        .map_or_else(|| scope::server_name(ctx, guild), |s| s.name.clone());
    let data = ctx.data();
    let files = export::build(
        &data.db,
        &data.frameworks,
        caller.guild_id,
        school.as_ref().map(|s| s.id),
        &answers,
        &name,
        ctx.data().now().date_naive(),
    )
    .await?;
    let size: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
    if size > DISCORD_UPLOAD_LIMIT {
        return Err(UserError::ExportTooLarge {
            size,
            limit: DISCORD_UPLOAD_LIMIT,
        }
        .into());
    }
    let with_answers = files
        .iter()
        .any(|f| f.name.ends_with("-checkin-answers.csv"));
    // No export leaves without its audit entry.
    audit::record(
        &data.db,
        caller.guild_id,
        &AuditEntry {
            at: data.now(),
            actor: Some(caller.user_id),
            via: AuditVia::Discord,
            action: AuditAction::Export,
            scope: school
                .as_ref()
                .map_or_else(|| "server".to_owned(), |s| s.name.clone()),
            subject: None,
            with_answers,
            row_count: None,
        },
    )
    .await?;
    tracing::info!(
        server = %caller.guild_id,
        user = %caller.user_id,
        school = school.as_ref().map(|s| s.id.get()),
        answers = with_answers,
        "records exported"
    );
    let mut reply = CreateReply::default()
        .content(message(&name, &files, &answers))
        .ephemeral(true);
    for file in files {
        reply = reply.attachment(serenity::CreateAttachment::bytes(file.bytes, file.name));
    }
    ctx.send(reply).await?;
    Ok(())
}

/// Whose check-in answers the caller may take: those of the schools they coach.
fn answers_for(caller: &Caller, school: Option<&School>) -> Answers {
    let coach_of_all = caller
        .access
        .grants
        .iter()
        .any(|g| g.role == Role::Coach && g.school_id.is_none());
    match school {
        Some(s) if caller.access.has_for_school(Role::Coach, s.id) => {
            Answers::Coached(Some(vec![s.id]))
        }
        Some(_) => Answers::Withheld,
        None if coach_of_all => Answers::Coached(None),
        None => {
            let coached: Vec<SchoolId> = caller
                .access
                .grants
                .iter()
                .filter(|g| g.role == Role::Coach)
                .filter_map(|g| g.school_id)
                .collect();
            if coached.is_empty() {
                Answers::Withheld
            } else {
                Answers::Coached(Some(coached))
            }
        }
    }
}

fn message(name: &str, files: &[CsvFile], answers: &Answers) -> String {
    let count = |kind: &str| {
        files
            .iter()
            .find(|f| f.name.ends_with(&format!("-{kind}.csv")))
            .map_or(0, |f| i64::try_from(f.rows).unwrap_or(i64::MAX))
    };
    let mut text = format!(
        "The records of **{name}** as of now: {}, {}, {}, {}, {}. The files are UTF-8 CSV; text \
         that starts like a formula begins with `'`.",
        plural(count("steps"), "step"),
        plural(count("updates"), "update"),
        plural(count("barriers"), "barrier"),
        plural(count("indicator-levels"), "indicator level"),
        plural(count("cycle"), "coaching-cycle stage"),
    );
    let results = count("assessments");
    if results > 0 {
        text.push_str(&format!(
            "\n{} of imported assessments are in the assessments file.",
            plural(results, "result row")
        ));
    }
    match answers {
        Answers::Withheld => text.push_str(
            "\nCheck-in answers are not included: they go only to the person and their coach.",
        ),
        Answers::Coached(_) | Answers::OfPerson(_) => {
            let given = count("checkin-answers");
            if given > 0 {
                text.push_str(&format!(
                    "\n{} from confirmed check-ins in the schools you coach are included. Keep \
                     them between you and the people who gave them.",
                    plural(given, "check-in answer")
                ));
            }
        }
    }
    let sessions = count("sessions");
    if sessions > 0 {
        text.push_str(&format!(
            "\nThe sessions files hold {} from the schools you coach, with what was agreed in \
             each. Keep them between you and the people coached.",
            plural(sessions, "coaching session")
        ));
    }
    text
}
