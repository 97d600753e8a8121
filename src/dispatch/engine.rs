//! The dispatcher: a thin facade that runs the core's use cases (`crate::app`) each in its own
//! transaction, for the daemon's loop (`run`: queued requests and due timers) and for the
//! tests and benches that drive a request step by step. Every decision is in `app/`: waves
//! ([`crate::app::wave`]), acceptance and declines ([`crate::app::answer`]), manual assignment
//! ([`crate::app::assign`]), cancellation, outcomes, evaluation, timers.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

use crate::app::matching::MatchResult;
use crate::app::{AppError, Core, answer, assign, outcome, timer, wave};
use crate::authz::{Actor, Denied};
use crate::clock::Clock;
use crate::domain::{RequestCode, RequestStatus};
use crate::store::{Request, Store, StoreError, Tx};

pub use crate::app::DispatchSettings;
pub use crate::app::wave::{EscalationReason, WaveOutcome, job_of};

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("request {code} is {status}: {what} is not possible")]
    WrongState {
        code: RequestCode,
        status: RequestStatus,
        what: &'static str,
    },
    #[error("request {0} has no language: it cannot be matched")]
    NoLanguage(RequestCode),
    #[error("mediator {0} is not active")]
    MediatorInactive(i64),
    #[error("evaluation score {0} is not valid: expected 1 to 5")]
    BadScore(i64),
    #[error(
        "{0} minutes is not a number of hours worked: expected more than 0 and at most 12 hours"
    )]
    BadHours(i64),
    #[error("not allowed: {0}")]
    Denied(Denied),
    #[error("request {0}: its appointment has not happened yet")]
    TooEarly(RequestCode),
}

impl From<AppError> for DispatchError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Store(e) => DispatchError::Store(e),
            AppError::Denied(d) => DispatchError::Denied(d),
            AppError::WrongState { code, status, what } => {
                DispatchError::WrongState { code, status, what }
            }
            AppError::TooEarly(code) => DispatchError::TooEarly(code),
            AppError::BadScore(s) => DispatchError::BadScore(s),
            AppError::BadHours(m) => DispatchError::BadHours(m),
            AppError::BadScoreCount { got, .. } => DispatchError::BadScore(got as i64),
            e @ AppError::CommentNeeded(_) => {
                DispatchError::Store(StoreError::Conflict(e.to_string()))
            }
            AppError::NoLanguage(code) => DispatchError::NoLanguage(code),
            AppError::MediatorInactive(id) => DispatchError::MediatorInactive(id),
            e @ (AppError::NotAnEntryState(_)
            | AppError::NotHeld(_)
            | AppError::NotASeries(_)
            | AppError::NoSuchMeeting { .. }
            | AppError::LastCoordinator(_)) => {
                DispatchError::Store(StoreError::Conflict(e.to_string()))
            }
        }
    }
}

pub type Result<T, E = DispatchError> = std::result::Result<T, E>;

/// The result of an acceptance attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    Assigned {
        request_id: i64,
        assignment_id: i64,
    },
    /// One meeting (`seq`) of a series is this mediator's.
    Meeting {
        request_id: i64,
        seq: u32,
    },
    /// The offer was closed, expired or not this mediator's: nothing changed.
    NotAvailable,
}

/// Who cancels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Canceller {
    Requester,
    Coordinator(i64),
    Cli,
}

impl Canceller {
    /// The actor, for request `r` (the requester is the one who wrote it).
    fn actor(&self, r: &Request) -> Actor {
        match self {
            Canceller::Requester => requester_of(r),
            Canceller::Coordinator(id) => Actor::Coordinator { id: *id },
            Canceller::Cli => Actor::Cli,
        }
    }
}

/// The requester of `r` as an actor (callers that identified them already).
fn requester_of(r: &Request) -> Actor {
    Actor::Operator {
        id: r.operator_id,
        email: r.requester_email.clone(),
        chat_id: r.requester_chat_id,
        active: true,
    }
}

/// The service's own actor for the dispatcher's rounds.
const DISPATCH: Actor = Actor::System {
    process: "dispatch",
};

/// The dispatcher. Cheap to clone; several instances (processes) may run on one database.
#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    clock: Arc<dyn Clock>,
    core: Core,
    /// Rings when a request may be waiting (an intake committed one): dispatch at once.
    wake: Option<Arc<tokio::sync::Notify>>,
    /// Rung after a round that wrote messages, so the outbox sends them at once.
    outbox_wake: Option<Arc<tokio::sync::Notify>>,
}

/// Runs `f` in a transaction of `store`: committed when it succeeds, rolled back otherwise.
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut $tx = $store.begin().await?;
        match $body {
            Ok(v) => {
                $tx.commit().await?;
                Ok(v)
            }
            Err(e) => {
                $tx.rollback().await?;
                Err(DispatchError::from(e))
            }
        }
    }};
}

impl Dispatcher {
    /// `renderers`: the channels' (`crate::renderers::channels()` in production).
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: DispatchSettings,
        renderers: crate::app::notice::Renderers,
    ) -> Self {
        Self {
            store,
            clock,
            core: Core::new(settings, renderers),
            wake: None,
            outbox_wake: None,
        }
    }

    /// Has the dispatcher loop sharing this wake handle run a round now (a request was queued
    /// outside it: a console correction or form). Nothing when no loop is wired.
    pub fn wake(&self) {
        if let Some(n) = &self.wake {
            n.notify_one();
        }
    }

    /// Runs a round as soon as `wake` is notified, and notifies `outbox` after a round that
    /// did something (the daemon wires both).
    pub fn with_wake(
        mut self,
        wake: Arc<tokio::sync::Notify>,
        outbox: Option<Arc<tokio::sync::Notify>>,
    ) -> Self {
        self.wake = Some(wake);
        self.outbox_wake = outbox;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &DispatchSettings {
        &self.core.settings
    }

    /// The application core the use cases run in.
    pub fn core(&self) -> &Core {
        &self.core
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Builds the roster for one request and ranks it (also the coordinator's explanation).
    pub async fn candidates(&self, req: &Request) -> Result<MatchResult> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let r = wave::candidates(&self.core, &mut tx, req, now).await;
        tx.rollback().await?;
        Ok(r?)
    }

    /// [`crate::app::wave::dispatch`] for the service: the first wave, or escalation.
    #[tracing::instrument(skip_all, fields(code = %code))]
    pub async fn dispatch(&self, code: RequestCode) -> Result<WaveOutcome> {
        self.dispatch_as(code, &DISPATCH).await
    }

    /// [`crate::app::wave::dispatch`] for `actor`.
    pub async fn dispatch_as(&self, code: RequestCode, actor: &Actor) -> Result<WaveOutcome> {
        let id = self.store.request(code).await?.id;
        let now = self.now();
        in_tx!(self.store, |tx| wave::dispatch(
            &self.core, &mut tx, actor, id, now
        )
        .await)
    }

    /// [`crate::app::answer::accept`] for mediator `mediator_id` (active).
    #[tracing::instrument(skip_all, fields(offer_id, mediator_id))]
    pub async fn accept(&self, offer_id: i64, mediator_id: i64) -> Result<AcceptOutcome> {
        let actor = Actor::Mediator {
            id: mediator_id,
            active: true,
        };
        let now = self.now();
        let r = in_tx!(self.store, |tx| answer::accept(
            &self.core, &mut tx, &actor, offer_id, now
        )
        .await);
        match r {
            Ok(answer::Accepted::Won(a)) => Ok(AcceptOutcome::Assigned {
                request_id: a.request.id,
                assignment_id: a.assignment_id,
            }),
            Ok(answer::Accepted::Meeting { request, seq }) => Ok(AcceptOutcome::Meeting {
                request_id: request.id,
                seq,
            }),
            Ok(answer::Accepted::Taken { .. }) | Err(DispatchError::Denied(_)) => {
                Ok(AcceptOutcome::NotAvailable)
            }
            Err(e) => Err(e),
        }
    }

    /// [`crate::app::answer::decline`] for mediator `mediator_id` (active); false when the
    /// offer was not open or not theirs.
    pub async fn decline(&self, offer_id: i64, mediator_id: i64) -> Result<bool> {
        let actor = Actor::Mediator {
            id: mediator_id,
            active: true,
        };
        let now = self.now();
        match in_tx!(self.store, |tx| answer::decline(
            &self.core, &mut tx, &actor, offer_id, now
        )
        .await)
        {
            Err(DispatchError::Denied(_)) => Ok(false),
            r => r,
        }
    }

    /// [`crate::app::assign::by_hand`] by `actor` (`cli` or `coordinator:<id>`).
    #[tracing::instrument(skip_all, fields(code = %code, mediator_id))]
    pub async fn assign(&self, code: RequestCode, mediator_id: i64, actor: &str) -> Result<i64> {
        let who =
            crate::app::managing_actor(actor).ok_or(DispatchError::Denied(Denied::NotForRole))?;
        let now = self.now();
        in_tx!(self.store, |tx| assign::by_hand(
            &self.core,
            &mut tx,
            &who,
            code,
            mediator_id,
            now
        )
        .await)
        .map(|a| a.assignment_id)
    }

    /// Cancels a request: the assigned mediator and open offers are told; less than
    /// `late_cancellation_hours` before the start it is marked late. Returns whether it was late.
    #[tracing::instrument(skip_all, fields(code = %code))]
    pub async fn cancel(&self, code: RequestCode, by: Canceller) -> Result<bool> {
        let req = self.store.request(code).await?;
        self.cancel_id(req.id, &by.actor(&req)).await
    }

    /// [`Dispatcher::cancel`] for an identified actor, in its own transaction (the use case is
    /// [`crate::app::cancel::cancel`], which callers with a transaction call directly).
    pub async fn cancel_as(&self, code: RequestCode, actor: &Actor) -> Result<bool> {
        let id = self.store.request(code).await?.id;
        self.cancel_id(id, actor).await
    }

    async fn cancel_id(&self, id: i64, actor: &Actor) -> Result<bool> {
        let now = self.now();
        in_tx!(self.store, |tx| crate::app::cancel::cancel(
            &self.core, &mut tx, actor, id, now
        )
        .await)
        .map(|c| c.late)
    }

    /// The mediator's answer after the end: done (with minutes worked) or not done.
    pub async fn record_outcome(
        &self,
        assignment_id: i64,
        mediator_id: i64,
        done: bool,
        worked_minutes: Option<i64>,
    ) -> Result<bool> {
        let actor = Actor::Mediator {
            id: mediator_id,
            active: true,
        };
        match self
            .record_outcome_by(&actor, assignment_id, done, worked_minutes)
            .await
        {
            Err(DispatchError::Denied(_)) => Ok(false),
            r => r,
        }
    }

    /// [`crate::app::outcome::record`] for `actor`; false when the assignment is not active.
    pub async fn record_outcome_by(
        &self,
        actor: &Actor,
        assignment_id: i64,
        done: bool,
        worked_minutes: Option<i64>,
    ) -> Result<bool> {
        let now = self.now();
        in_tx!(self.store, |tx| outcome::record(
            &self.core,
            &mut tx,
            actor,
            assignment_id,
            done,
            worked_minutes,
            now
        )
        .await)
    }

    /// The requester's evaluation, 1 to 5 with an optional comment.
    pub async fn record_evaluation(
        &self,
        code: RequestCode,
        score: i64,
        comment: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        let req = self.store.request(code).await?;
        let actor = requester_of(&req);
        in_tx!(self.store, |tx| crate::app::evaluation::evaluate(
            &self.core, &mut tx, &actor, req.id, score, comment, now,
        )
        .await)
    }

    /// [`crate::app::account::answer`] for `actor` (the console's hours form).
    pub async fn answer_hours(
        &self,
        actor: &Actor,
        assignment_id: i64,
        answer: crate::app::account::HoursAnswer,
    ) -> Result<crate::app::account::Answered> {
        let now = self.now();
        in_tx!(self.store, |tx| crate::app::account::answer(
            &self.core,
            &mut tx,
            actor,
            assignment_id,
            answer,
            now
        )
        .await)
    }

    /// [`crate::app::evaluation::evaluate_criteria`] for `actor` (the console's evaluation form).
    pub async fn evaluate_criteria(
        &self,
        actor: &Actor,
        request_id: i64,
        scores: &[i64],
        comment: Option<&str>,
    ) -> std::result::Result<(), AppError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let r = crate::app::evaluation::evaluate_criteria(
            &self.core, &mut tx, actor, request_id, scores, comment, now,
        )
        .await;
        match r {
            Ok(()) => tx.commit().await?,
            Err(_) => tx.rollback().await?,
        }
        r
    }

    /// [`crate::app::account::settle`] for `actor` (a coordinator on the console).
    pub async fn settle_hours(
        &self,
        actor: &Actor,
        assignment_id: i64,
        minutes: i64,
    ) -> Result<bool> {
        let now = self.now();
        in_tx!(self.store, |tx| crate::app::account::settle(
            &self.core,
            &mut tx,
            actor,
            assignment_id,
            minutes,
            now
        )
        .await)
    }

    /// Starts dispatching every queued request (oldest first); returns how many were handled.
    /// A request another instance took meanwhile is skipped.
    pub async fn dispatch_queued(&self) -> Result<usize> {
        let queued = self
            .store
            .requests(&crate::store::RequestFilter {
                status: Some(RequestStatus::Queued),
                ..Default::default()
            })
            .await?;
        let mut n = 0;
        for r in queued {
            match self.dispatch(r.code).await {
                Ok(_) => n += 1,
                Err(DispatchError::WrongState { .. }) => {}
                Err(DispatchError::NoLanguage(code)) => {
                    tracing::warn!(code = %code, "queued request without a language; left for the coordinator");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// The dispatcher's loop for the daemon: dispatch queued requests and fire due timers every
    /// `every`, until `shutdown` turns true.
    pub async fn run(
        &self,
        every: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let mut did = 0;
            match self.dispatch_queued().await {
                Ok(n) => did += n,
                Err(e) => tracing::error!(error = %e, "dispatching queued requests failed"),
            }
            match self.run_due_timers().await {
                Ok(n) => did += n,
                Err(e) => tracing::error!(error = %e, "timer round failed"),
            }
            match self.run_unfilled_notices().await {
                Ok(n) => did += n,
                Err(e) => tracing::error!(error = %e, "unfilled notice round failed"),
            }
            if did > 0
                && let Some(n) = &self.outbox_wake
            {
                n.notify_one();
            }
            let woken = async {
                match &self.wake {
                    Some(n) => n.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = woken => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// [`crate::app::unfilled::notify`] for every request nobody is confirmed for within
    /// `unfilled_notice_hours` of its start, each in its own transaction; returns how many
    /// requesters were told.
    pub async fn run_unfilled_notices(&self) -> Result<usize> {
        let hours = self.core.settings.unfilled_notice_hours;
        if hours <= 0 {
            return Ok(0);
        }
        let now = self.now();
        let mut told = 0;
        for id in self.store.unfilled_due(now, hours).await? {
            let n = in_tx!(self.store, |tx| crate::app::unfilled::notify(
                &self.core, &mut tx, id, now
            )
            .await)?;
            if !n.is_empty() {
                told += 1;
            }
        }
        Ok(told)
    }

    /// [`crate::app::series::release`] for `actor`, in its own transaction: the series'
    /// mediator cannot take meeting `seq` of `code`, which is offered on its own.
    pub async fn release_meeting_as(
        &self,
        code: RequestCode,
        actor: &Actor,
        seq: u32,
    ) -> Result<Vec<crate::app::notice::Notice>> {
        let id = self.store.request(code).await?.id;
        let now = self.now();
        in_tx!(self.store, |tx| crate::app::series::release(
            &self.core, &mut tx, actor, id, seq, now
        )
        .await)
    }

    /// [`crate::app::meetings::record`] for `actor`, in its own transaction: what happened at
    /// meeting `seq` of the series `code`.
    pub async fn record_meeting_as(
        &self,
        code: RequestCode,
        actor: &Actor,
        seq: u32,
        report: crate::app::meetings::MeetingReport,
    ) -> Result<crate::app::meetings::Recorded> {
        let id = self.store.request(code).await?.id;
        let now = self.now();
        in_tx!(self.store, |tx| crate::app::meetings::record(
            &self.core, &mut tx, actor, id, seq, report, now
        )
        .await)
    }

    /// [`crate::app::series::change`] for `actor`, in its own transaction: meeting `seq` of
    /// the series `code` (and, with `Scope::Following`, every later one) cancelled or moved.
    pub async fn change_series_as(
        &self,
        code: RequestCode,
        actor: &Actor,
        seq: u32,
        scope: crate::app::series::Scope,
        what: crate::app::series::Change,
    ) -> Result<crate::app::series::Changed> {
        let id = self.store.request(code).await?.id;
        let now = self.now();
        in_tx!(self.store, |tx| crate::app::series::change(
            &self.core, &mut tx, actor, id, seq, scope, what, now
        )
        .await)
    }

    /// [`crate::app::reschedule::reschedule`] for `actor`, in its own transaction.
    pub async fn reschedule_as(
        &self,
        code: RequestCode,
        actor: &Actor,
        when: crate::app::reschedule::When,
    ) -> Result<crate::app::reschedule::Rescheduled> {
        let id = self.store.request(code).await?.id;
        let now = self.now();
        in_tx!(self.store, |tx| crate::app::reschedule::reschedule(
            &self.core, &mut tx, actor, id, when, now
        )
        .await)
    }

    /// The requester of `code` moves it to `when` ([`Dispatcher::reschedule_as`]).
    pub async fn reschedule(
        &self,
        code: RequestCode,
        when: crate::app::reschedule::When,
    ) -> Result<crate::app::reschedule::Rescheduled> {
        let req = self.store.request(code).await?;
        self.reschedule_as(code, &requester_of(&req), when).await
    }

    /// [`crate::app::reschedule::answer`] for mediator `mediator_id` (active).
    pub async fn answer_change(
        &self,
        timer_id: i64,
        mediator_id: i64,
        ok: bool,
    ) -> Result<crate::app::reschedule::ChangeAnswer> {
        let actor = Actor::Mediator {
            id: mediator_id,
            active: true,
        };
        let now = self.now();
        in_tx!(self.store, |tx| crate::app::reschedule::answer(
            &self.core, &mut tx, &actor, timer_id, ok, now
        )
        .await)
    }

    /// Fires every due timer, each in its own transaction that claims it: a timer fires once
    /// even with several instances on one database. Returns how many fired.
    pub async fn run_due_timers(&self) -> Result<usize> {
        let mut fired = 0;
        loop {
            let now = self.now();
            let mut tx = self.store.begin().await?;
            let Some(t) = tx.claim_due_timer(now).await? else {
                tx.rollback().await?;
                return Ok(fired);
            };
            if let Err(e) = timer::fire(&self.core, &mut tx, &t, now).await {
                // One bad timer must not block the others (they are claimed earliest first):
                // put it back later, and give it up after a few attempts.
                tx.rollback().await?;
                tracing::error!(timer_id = t.id, kind = ?t.kind, error = %e, "timer failed");
                let mut tx = self.store.begin().await?;
                tx.defer_failed_timer(t.id, now + Duration::minutes(5), 5)
                    .await?;
                tx.commit().await?;
                continue;
            }
            finish(&mut tx, &t, now).await?;
            tx.commit().await?;
            fired += 1;
        }
    }
}

async fn finish(tx: &mut Tx, t: &crate::store::Timer, now: DateTime<Utc>) -> Result<()> {
    tx.finish_timer(t.id, now).await?;
    tx.audit(
        now,
        "process:timers",
        t.request_id,
        "timer_fired",
        Some(&match &t.kind {
            Ok(k) => format!("{} {k}", t.id),
            Err(_) => format!("{} (unknown kind)", t.id),
        }),
    )
    .await?;
    Ok(())
}
