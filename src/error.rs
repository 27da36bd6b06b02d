//! Errors a person reads. Each `Display` is a sentence for a principal or a coach: what went
//! wrong and what to do. Internal errors stay `anyhow::Error` with context; `on_error` keeps
//! the two apart.

/// A mistake in what someone asked for. Shown to them (ephemeral), never logged as a fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    #[error("This command works inside a server, not in a direct message.")]
    ServerOnly,

    #[error(
        "`{given}` is not a time zone I know. Use an IANA name such as `America/Chicago` or \
         `Europe/London` (start typing in the time zone box to see suggestions)."
    )]
    UnknownTimeZone { given: String },

    #[error(
        "`{given}` is an abbreviation, not a time zone with its summer-time rules. Use `{zone}` \
         (or the IANA zone of your city: start typing it in the time zone box)."
    )]
    ZoneAbbreviation { given: String, zone: &'static str },

    #[error(
        "There is already a school called **{existing}**; `{given}` differs from it only in \
         capital letters, which would confuse people. To change that school, use its name as it \
         is: `/setup school name:{existing}`."
    )]
    SchoolNameCase { given: String, existing: String },

    #[error(
        "There is no school called **{name}** yet: to add it, give its time zone too, e.g. \
         `/setup school name:{name} time_zone:America/Chicago`."
    )]
    SchoolNeedsTimeZone { name: String },

    #[error(
        "Give either `channel` (to post the school's announcements there) or `no_channel` \
         (to stop posting them), not both."
    )]
    ChannelAndNoChannel,

    #[error(
        "Only {needed} can {action}. If that should include you, ask a server admin to map one of \
         your Discord roles with `/setup role`."
    )]
    NotPermitted {
        needed: &'static str,
        action: &'static str,
    },

    #[error("The {field} is empty. Please give a {field}.")]
    Empty { field: &'static str },

    #[error(
        "The {field} is {len} characters long; the limit is {max}. Please shorten it and try again."
    )]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },

    #[error("The {field} may not contain line breaks. Please keep it on one line.")]
    MultiLine { field: &'static str },

    #[error(
        "`{given}` is not a coachbot role. Pick one of: principal, team, coach, district, admin."
    )]
    UnknownRole { given: String },

    #[error(
        "There is no school called `{name}` in this server. Check the spelling, or add it first \
         with `/setup school`."
    )]
    UnknownSchool { name: String },

    #[error("`@everyone` is not a role that can be mapped. Pick a role that you give to people.")]
    EveryoneRole,

    #[error(
        "There is no step `{given}` here. Start typing in the `step` box to pick one, or see \
         `/step list`."
    )]
    UnknownStep { given: String },

    #[error(
        "`{given}` is not an indicator in this server's framework. Start typing in the \
         `indicator` box to pick one, or see `/indicator list`."
    )]
    UnknownIndicator { given: String },

    #[error(
        "**{indicator}** is not one of {school}'s focus indicators yet. Add it with \
         `/indicator focus`."
    )]
    NotAFocus { indicator: String, school: String },

    #[error(
        "There is no barrier `{given}` here. Start typing in the `barrier` box to pick one, or see `/barrier list`."
    )]
    UnknownBarrier { given: String },

    #[error(
        "**{flow}** is not about one barrier, so it cannot take `barrier`. Leave `barrier` \
         empty, or pick a flow that can look at a barrier ({choices})."
    )]
    FlowNotAboutBarrier { flow: String, choices: String },

    #[error(
        "Barrier #{barrier} is in {barrier_school}'s plan, and this check-in with {name} is \
         about {school}. Pick one of {school}'s barriers (see `/barrier list`)."
    )]
    BarrierAtAnotherSchool {
        barrier: i64,
        barrier_school: String,
        name: String,
        school: String,
    },

    #[error(
        "Barrier #{barrier} was resolved on {on}: a deep-dive looks underneath a barrier that is \
         still open. If it is back, name it again with `/barrier add`."
    )]
    DeepDiveOnResolvedBarrier { barrier: i64, on: String },

    #[error("That barrier was already resolved on {on}.")]
    AlreadyResolved { on: String },

    #[error(
        "I could not read `{given}` as a date. Try `2026-12-05`, `friday`, `tomorrow` or \
         `in 2 weeks`."
    )]
    UnreadableDate { given: String },

    #[error("{date} is in the past (today is {today} in {zone}). Pick today or a later date.")]
    PastDate {
        date: String,
        today: String,
        zone: String,
    },

    #[error(
        "You work with more than one school here: add the `school` option to say which \
         ({choices})."
    )]
    PickSchool { choices: String },

    #[error("This server has no schools yet. An admin can add one with `/setup school`.")]
    NoSchools,

    #[error(
        "Only {school}'s principal, leadership team, coach or a coachbot admin can {action}. \
         If you should be able to, ask an admin to map your Discord role with `/setup role`."
    )]
    NotOnTeam {
        school: String,
        action: &'static str,
    },

    #[error(
        "You have no coachbot role in this server yet, so I cannot tell which school's plan is \
         yours. Ask an admin to map your Discord role with `/setup role`."
    )]
    NoRole,

    #[error("Pick at most {max} owners; you picked {given}.")]
    TooManyOwners { given: usize, max: usize },

    #[error(
        "Step #{step} already has {max} owners, the most a step can have. Take one off first \
         with `/step assign` and `remove`."
    )]
    OwnersFull { step: i64, max: usize },

    #[error(
        "{name} has no role at {school} (principal, leadership team or coach), so they cannot \
         own its steps. Pick someone on {school}'s team, or ask an admin to map their Discord \
         role with `/setup role`."
    )]
    OwnerWithoutRole { name: String, school: String },

    #[error(
        "Nothing to change: give a new `title`, `due`, `indicator` or `resources` (or use \
         `/step update` to report progress)."
    )]
    NothingToEdit,

    #[error("{0}")]
    BadFramework(String),

    #[error(
        "The framework was not loaded, and nothing was saved: the current one stays. It leaves \
         out {} that {} in use:\n{uses}\nKeep those indicator ids in the file (their names \
         and level descriptions may change), then attach it again.",
        counted(.count, "indicator"),
        if *.count == 1 { "is" } else { "are" }
    )]
    FrameworkDropsIndicators { count: usize, uses: String },

    #[error(
        "The framework file is {size} bytes; the most I accept is {max}. Check that you attached \
         the right file."
    )]
    FileTooLarge { size: u64, max: u64 },

    #[error("Nothing to change: give a `status`, a `note`, or both.")]
    NothingToUpdate,

    #[error("The step is {status}; reopen it with a status other than done or dropped first.")]
    StepClosed { status: &'static str },

    #[error("There is no check-in flow `{given}`. Start typing in the `flow` box to pick one.")]
    UnknownFlow { given: String },

    #[error(
        "{name} is already in the middle of a check-in in this server (started {started}). They \
         can finish it in DM, or it can be closed with `/checkin skip`."
    )]
    CheckinOpen { name: String, started: String },

    #[error(
        "Only {name} and their coach can {action}. Check-in answers stay between a person and \
         their coach."
    )]
    NotTheirCoach { name: String, action: &'static str },

    #[error("{name} has no check-in open right now.")]
    NoOpenCheckin { name: String },

    #[error(
        "I could not send {name} a direct message: they may have DMs from server members turned \
         off. Ask them to allow DMs from this server, then try again."
    )]
    DmFailed { name: String },

    #[error(
        "{name} is not a principal or leadership-team member of any school here (by their Discord roles), so there is no school's check-in to run with them. An admin maps Discord roles to schools with `/setup role`."
    )]
    PersonWithoutSchool { name: String },

    #[error("{name} belongs to more than one school ({schools}): add the `school` option.")]
    PersonInSeveralSchools { name: String, schools: String },

    #[error(
        "{name} is not a principal or leadership-team member at {school}: a school's check-ins are only with its own people."
    )]
    PersonNotAtSchool { name: String, school: String },

    #[error(
        "That flow has no questions for {name} right now (it asks about open steps, and they own none)."
    )]
    NothingToAsk { name: String },

    #[error(
        "`{given}` fires {how_often}, and a check-in can be asked at most once an hour. Give \
         one minute, such as `0 8 * * 1-5` (8:00 on weekdays) or `weekdays 8am`."
    )]
    TooFrequent {
        given: String,
        how_often: &'static str,
    },

    #[error("I could not read `{given}` as a schedule: {why}.")]
    BadSchedule { given: String, why: String },

    #[error("There is no schedule `{given}` here. See `/schedule list` for the numbers.")]
    UnknownSchedule { given: String },

    #[error(
        "This server already has {max} active schedules, the most it can have. Delete or pause \
         one you no longer need (see `/schedule list`), then try again."
    )]
    TooManySchedules { max: usize },

    #[error(
        "You do not coach any school here yet, so there is nothing for a digest to cover. Ask a \
         server admin to map your Discord role to coachbot's coach role with `/setup role`."
    )]
    NoCoachedSchools,

    #[error(
        "Where should the summary go? Pick a `channel`, or give the school an announcement \
         channel with `/setup school`."
    )]
    NoSummaryChannel,

    #[error(
        "That export comes to {} MiB, over the {} MiB Discord lets me attach. \
         Export one school at a time (the `school` option), or ask whoever runs coachbot for \
         `coachbot export`, which writes the files with no size limit.",
        .size.div_ceil(1 << 20),
        .limit >> 20
    )]
    ExportTooLarge { size: u64, limit: u64 },

    #[error("That window does not work: {why}.")]
    BadWindow { why: String },

    #[error(
        "There is no away period `{given}` that you may change. `/away list` shows the numbers."
    )]
    UnknownAway { given: String },

    #[error(
        "There is no break `{given}` here that you may change. `/calendar list` shows the numbers."
    )]
    UnknownBreak { given: String },

    #[error(
        "`{given}` is not a stage of the coaching cycle. Use assess, debrief, plan, implement, \
         support or reassess (start typing in the `to` box to see them)."
    )]
    UnknownStage { given: String },

    #[error(
        "{school} is in **{from}**: moving it back to **{to}** needs a note saying why. Run the \
         command again with `note:` (for example, what the team wants to revisit)."
    )]
    CycleBackNeedsNote {
        school: String,
        from: &'static str,
        to: &'static str,
    },

    /// An assessment file with mistakes, every one named (`assessment_file::Problems`).
    #[error("{0}")]
    BadAssessment(String),

    #[error(
        "{school} already has an assessment called **{name}**; nothing was imported. Give this \
         one another `name` (`/assessment list` shows the names in use)."
    )]
    AssessmentNameTaken { name: String, school: String },

    #[error(
        "The assessment is dated {date}, after today ({today}). Give the date it was given as \
         `administered`, e.g. 2026-11-15."
    )]
    AssessmentInFuture { date: String, today: String },

    #[error(
        "{school} has no assessment called `{given}`. `/assessment list` shows its assessments."
    )]
    UnknownAssessment { given: String, school: String },

    #[error(
        "{school} has {}; a comparison needs two. Import the newer results with \
         `/assessment import`.",
        counted(.count, "assessment")
    )]
    NothingToCompare { school: String, count: usize },

    #[error(
        "What we agreed has {count} lines: a session keeps at most {max} next steps, one a \
         line. Keep the ones that matter most, or log the rest in a second session."
    )]
    TooManyAgreements { count: usize, max: usize },

    #[error(
        "When we meet next ({next}) is before the session itself ({held}): give a date on or \
         after it, or leave it empty."
    )]
    NextMeetingBeforeSession { next: String, held: String },

    // The visit brief (`/brief`).
    #[error(
        "Only {school}'s coach can read its visit brief: it gathers check-in answers that are \
         between each person and their coach. `/cycle show`, `/step list` and `/barrier list` \
         show the school's plan to everyone on it."
    )]
    BriefNotCoach { school: String },

    // Coaching sessions (`/session`).
    #[error(
        "The session is dated {date}, after today ({today} in {zone}). Log a session once it \
         has been held; leave `date` empty for today."
    )]
    SessionInFuture {
        date: String,
        today: String,
        zone: String,
    },

    #[error(
        "{name} does not hold a role at {school}, so the session cannot be logged with them. \
         Pick someone from {school}'s principal, leadership team or coaches."
    )]
    NotInSchool { name: String, school: String },

    #[error(
        "There is no session #{given} that you can read. `/session list` shows the sessions \
         you may read."
    )]
    UnknownSession { given: String },

    #[error(
        "That agreed next step is already a step. `/session show` says which one; \
         `/step show` shows it."
    )]
    AlreadyAStep,

    #[error(
        "I do not know who `{given}` is here. Give the owner's name as the server shows it, \
         or their user id, e.g. `Terry Okafor`."
    )]
    UnknownOwner { given: String },

    #[error(
        "More than one person here is called `{given}`. Give their user id instead (right-click \
         them, Copy User ID)."
    )]
    AmbiguousOwner { given: String },

    // The digest's snooze buttons.
    #[error(
        "These snooze buttons are for the coach whose digest this is. `/digest preview` shows \
         your own digest, with a snooze button of its own."
    )]
    NotYourDigest,

    // Growth goals (issue K).
    #[error(
        "You have no growth goal yet. A principal sets one with `/goal set`: a personal \
         leadership goal that only you and your coach can read."
    )]
    NoGoal,

    #[error("{name} has no growth goal yet: they can set one with `/goal set`.")]
    NoGoalOf { name: String },

    // Privacy rights and retention (issue L).
    #[error(
        "`{field}` is {given} days: keep records from 1 day to {max} days (ten years). Leave it \
         out to keep the current setting."
    )]
    RetentionOutOfRange {
        field: &'static str,
        given: i64,
        max: u32,
    },

    #[error(
        "{name} is still a member of this server: a person erases their own data with \
         `/privacy forget`. An admin forgets someone only once they have left."
    )]
    ForgetStillMember { name: String },

    #[error(
        "I hold nothing about `{given}` in this server, so there is nothing to forget. Give \
         their user id if they have left (right-click them in an old message, Copy User ID)."
    )]
    NothingToForget { given: String },

    #[error(
        "This confirmation was for someone else. Run `/privacy forget` yourself to erase what \
         I hold about you."
    )]
    NotYourForget,
}

/// `count` with its noun, for the messages above: `1 assessment`, `2 assessments`. (Not
/// `domain::text::plural`: the domain imports this module, so this one may not import it.)
fn counted(count: &usize, one: &str) -> String {
    match count {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    }
}
