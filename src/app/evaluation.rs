//! The requester's evaluation of an intervention, from the Telegram buttons, an email reply or
//! the CLI: a mark from 1 to 5 on each of the cooperative's criteria (`[evaluation] criteria`,
//! [`evaluate_criteria`]), a comment required when any mark is 2 or less; or, as before the
//! criteria, one mark ([`evaluate`], kept as "overall"). Accepted only once the appointment has
//! happened: the request is done, or assigned/confirmed with its end in the past. A second
//! evaluation replaces the first. On Telegram a low mark waits for the comment the requester
//! writes next ([`hold_for_comment`], [`comment`]).

use chrono::{DateTime, Utc};

use super::{AppError, Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::{Request, Tx};

/// Whether `request` may be evaluated at `now`.
pub fn check_state(request: &Request, now: DateTime<Utc>) -> Result<()> {
    match request.status {
        RequestStatus::Done => Ok(()),
        RequestStatus::Assigned | RequestStatus::Confirmed => match request.ends_at {
            Some(end) if end <= now => Ok(()),
            _ => Err(AppError::TooEarly(request.code)),
        },
        status => Err(AppError::WrongState {
            code: request.code,
            status,
            what: "evaluation",
        }),
    }
}

/// Records `actor`'s evaluation of request `request_id` inside `tx`.
pub async fn evaluate(
    _core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    score: i64,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    if !(1..=5).contains(&score) {
        return Err(AppError::BadScore(score));
    }
    let req = tx.request_by_id(request_id).await?;
    authorise(actor, Action::Evaluate, &RequestFacts::of(&req))?;
    check_state(&req, now)?;
    tx.record_evaluation(req.id, score, comment, now).await?;
    tx.record_scores(req.id, &[("overall".to_string(), score)])
        .await?;
    Ok(())
}

/// The marks of `scores` checked against `core`'s criteria: one per criterion, each 1 to 5.
pub fn check_scores(core: &Core, scores: &[i64]) -> Result<()> {
    let expected = core.settings.criteria.len();
    if scores.len() != expected {
        return Err(AppError::BadScoreCount {
            expected,
            got: scores.len(),
        });
    }
    if let Some(bad) = scores.iter().find(|s| !(1..=5).contains(*s)) {
        return Err(AppError::BadScore(*bad));
    }
    Ok(())
}

/// Records `actor`'s marks on each criterion (in the order of `[evaluation] criteria`) of
/// request `request_id`, with `comment` (required when a mark is 2 or less).
pub async fn evaluate_criteria(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    scores: &[i64],
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    check_scores(core, scores)?;
    let req = tx.request_by_id(request_id).await?;
    authorise(actor, Action::Evaluate, &RequestFacts::of(&req))?;
    check_state(&req, now)?;
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_none() && scores.iter().any(|s| *s <= 2) {
        return Err(AppError::CommentNeeded(req.code));
    }
    let named: Vec<(String, i64)> = core
        .settings
        .criteria
        .iter()
        .cloned()
        .zip(scores.iter().copied())
        .collect();
    // The single mark the report has always shown: "overall" when it is a criterion, else the
    // rounded mean.
    let overall = named
        .iter()
        .find(|(c, _)| c == "overall")
        .map(|(_, s)| *s)
        .unwrap_or_else(|| {
            let sum: i64 = scores.iter().sum();
            (sum as f64 / scores.len() as f64).round() as i64
        });
    tx.record_evaluation(req.id, overall, comment, now).await?;
    tx.record_scores(req.id, &named).await?;
    Ok(())
}

/// The marks as the digits kept while a comment is awaited.
fn digits(scores: &[i64]) -> String {
    scores.iter().map(|s| s.to_string()).collect()
}

/// A Telegram evaluation with a mark of 2 or less and no comment yet: checked as
/// [`evaluate_criteria`] checks it (actor, state, marks), then kept for chat `chat_id` until the
/// comment comes.
pub async fn hold_for_comment(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    scores: &[i64],
    chat_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    check_scores(core, scores)?;
    let req = tx.request_by_id(request_id).await?;
    authorise(actor, Action::Evaluate, &RequestFacts::of(&req))?;
    check_state(&req, now)?;
    tx.put_evaluation_draft(chat_id, req.id, &digits(scores), now)
        .await?;
    Ok(())
}

/// The comment chat `chat_id` writes for its evaluation waiting since less than a day: the
/// evaluation recorded with it; `None` when no evaluation was waiting (the text is something
/// else).
pub async fn comment(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    chat_id: i64,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Option<crate::domain::RequestCode>> {
    let Some((request_id, marks)) = tx
        .take_evaluation_draft(chat_id, now - chrono::Duration::days(1))
        .await?
    else {
        return Ok(None);
    };
    let scores: Vec<i64> = marks
        .chars()
        .filter_map(|c| c.to_digit(10).map(i64::from))
        .collect();
    evaluate_criteria(core, tx, actor, request_id, &scores, Some(text), now).await?;
    Ok(Some(tx.request_by_id(request_id).await?.code))
}
