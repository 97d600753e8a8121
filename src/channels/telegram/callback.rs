//! The callback_data carried by inline buttons: a compact, versionless text form that always
//! fits Telegram's 64-byte limit, parsed back without trusting it.
//!
//! Callback data comes from the outside world (a client can send any bytes), so it only names
//! *what* was pressed; whether the presser may do it is decided again on arrival against the
//! store (the offer's mediator, the dialogue's owner, the coordinator role).

use std::fmt;

/// Telegram's limit on callback_data, in bytes.
pub const MAX_LEN: usize = 64;

/// What a button press asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// A mediator answers an offer: [Accetto] / [Non posso].
    Offer { offer_id: i64, accept: bool },
    /// A mediator reports an appointment: [Svolto] / [Non svolto].
    Outcome { assignment_id: i64, done: bool },
    /// Whoever held one meeting of a series reports it: [Svolto] / [Non svolto]
    /// (`mdone:ID`, `mnot:ID`; the minutes follow as `mhrs:ID:MIN`, who did not come as
    /// `mns:ID:f|m`, read by `telegram::meeting`).
    MeetingOutcome { occurrence_id: i64, done: bool },
    /// The assigned mediator answers a new date or time: [Va bene] / [Non posso]
    /// (`timer_id`: the answer's timer).
    Change { timer_id: i64, ok: bool },
    /// An operator's draft request: confirm, modify, cancel, or pick a value for a question.
    /// `step` is the dialogue's step when the button was shown (stale presses are refused).
    Draft {
        dialogue_id: i64,
        step: i64,
        action: DraftAction,
    },
    /// A coordinator assigns a request to a mediator.
    Assign { request_id: i64, mediator_id: i64 },
    /// A coordinator accepts or rejects a held email.
    Review { request_id: i64, accept: bool },
    /// The hours of an assignment: the requester confirms them or gives another figure, a
    /// coordinator settles a dispute (`h:ID:c`, `h:ID:o:MIN`, `h:ID:s:MIN`).
    Hours {
        assignment_id: i64,
        answer: HoursPress,
    },
}

/// [Non svolto] said who did not come (`ns:ID:f`, `ns:ID:m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoShowPress {
    pub assignment_id: i64,
    pub who: crate::domain::NoShow,
}

impl NoShowPress {
    /// The callback data.
    pub fn data(&self) -> String {
        let w = match self.who {
            crate::domain::NoShow::Family => "f",
            crate::domain::NoShow::Mediator => "m",
        };
        format!("ns:{}:{w}", self.assignment_id)
    }

    /// Parses `ns:ID:f|m`; anything else is `None`.
    pub fn parse(s: &str) -> Option<NoShowPress> {
        let (id, w) = s.strip_prefix("ns:")?.split_once(':')?;
        let assignment_id = id.parse::<i64>().ok().filter(|i| *i >= 0)?;
        let who = match w {
            "f" => crate::domain::NoShow::Family,
            "m" => crate::domain::NoShow::Mediator,
            _ => return None,
        };
        Some(NoShowPress { assignment_id, who })
    }
}

/// A press on the hours of an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursPress {
    Confirm,
    /// Another figure, in minutes.
    Other(i64),
    /// The figure to bill (a coordinator).
    Settle(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftAction {
    Confirm,
    Modify,
    Cancel,
    /// The answer to the current question, e.g. a language code, a type, a date.
    Pick(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("callback_data longer than {MAX_LEN} bytes ({0})")]
    TooLong(usize),
    #[error("callback value has characters outside [A-Za-z0-9_.:-]")]
    BadValue,
    #[error("unrecognised callback_data")]
    Unrecognised,
}

fn value_ok(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

impl Callback {
    /// The callback_data string, checked against the 64-byte limit.
    pub fn encode(&self) -> Result<String, CallbackError> {
        if let Callback::Draft {
            action: DraftAction::Pick(v),
            ..
        } = self
            && !value_ok(v)
        {
            return Err(CallbackError::BadValue);
        }
        let s = self.to_string();
        if s.len() > MAX_LEN {
            return Err(CallbackError::TooLong(s.len()));
        }
        Ok(s)
    }

    /// Parses callback_data; anything unexpected is an error, never a panic.
    pub fn parse(s: &str) -> Result<Callback, CallbackError> {
        if s.len() > MAX_LEN {
            return Err(CallbackError::TooLong(s.len()));
        }
        let num = |x: Option<&str>| -> Result<i64, CallbackError> {
            x.and_then(|v| v.parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or(CallbackError::Unrecognised)
        };
        // Offers and outcomes use dispatch's wire form: acc:ID, dec:ID, done:ID, notdone:ID.
        if let Some((head, id)) = s.split_once(':')
            && let Some(cb) = match head {
                "acc" => Some(Callback::Offer {
                    offer_id: num(Some(id))?,
                    accept: true,
                }),
                "dec" => Some(Callback::Offer {
                    offer_id: num(Some(id))?,
                    accept: false,
                }),
                "done" => Some(Callback::Outcome {
                    assignment_id: num(Some(id))?,
                    done: true,
                }),
                "notdone" => Some(Callback::Outcome {
                    assignment_id: num(Some(id))?,
                    done: false,
                }),
                "mdone" => Some(Callback::MeetingOutcome {
                    occurrence_id: num(Some(id))?,
                    done: true,
                }),
                "mnot" => Some(Callback::MeetingOutcome {
                    occurrence_id: num(Some(id))?,
                    done: false,
                }),
                "chok" => Some(Callback::Change {
                    timer_id: num(Some(id))?,
                    ok: true,
                }),
                "chno" => Some(Callback::Change {
                    timer_id: num(Some(id))?,
                    ok: false,
                }),
                _ => None,
            }
        {
            return Ok(cb);
        }
        let mut it = s.splitn(5, ':');
        let kind = it.next().unwrap_or_default();
        let cb = match kind {
            "r" => {
                let yes = match it.next() {
                    Some("y") => true,
                    Some("n") => false,
                    _ => return Err(CallbackError::Unrecognised),
                };
                let id = num(it.next())?;
                if it.next().is_some() {
                    return Err(CallbackError::Unrecognised);
                }
                Callback::Review {
                    request_id: id,
                    accept: yes,
                }
            }
            "h" => {
                let assignment_id = num(it.next())?;
                let answer = match (it.next(), it.next(), it.next()) {
                    (Some("c"), None, None) => HoursPress::Confirm,
                    (Some("o"), Some(m), None) => HoursPress::Other(num(Some(m))?),
                    (Some("s"), Some(m), None) => HoursPress::Settle(num(Some(m))?),
                    _ => return Err(CallbackError::Unrecognised),
                };
                Callback::Hours {
                    assignment_id,
                    answer,
                }
            }
            "a" => {
                let request_id = num(it.next())?;
                let mediator_id = num(it.next())?;
                if it.next().is_some() {
                    return Err(CallbackError::Unrecognised);
                }
                Callback::Assign {
                    request_id,
                    mediator_id,
                }
            }
            "d" => {
                let dialogue_id = num(it.next())?;
                let step = num(it.next())?;
                let action = match (it.next(), it.next()) {
                    (Some("c"), None) => DraftAction::Confirm,
                    (Some("m"), None) => DraftAction::Modify,
                    (Some("x"), None) => DraftAction::Cancel,
                    (Some("p"), Some(v)) if value_ok(v) => DraftAction::Pick(v.to_string()),
                    _ => return Err(CallbackError::Unrecognised),
                };
                Callback::Draft {
                    dialogue_id,
                    step,
                    action,
                }
            }
            _ => return Err(CallbackError::Unrecognised),
        };
        Ok(cb)
    }
}

impl fmt::Display for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yn = |b: bool| if b { "y" } else { "n" };
        match self {
            Callback::Offer { offer_id, accept } => {
                write!(f, "{}:{offer_id}", if *accept { "acc" } else { "dec" })
            }
            Callback::Outcome {
                assignment_id,
                done,
            } => write!(
                f,
                "{}:{assignment_id}",
                if *done { "done" } else { "notdone" }
            ),
            Callback::MeetingOutcome {
                occurrence_id,
                done,
            } => write!(
                f,
                "{}:{occurrence_id}",
                if *done { "mdone" } else { "mnot" }
            ),
            Callback::Change { timer_id, ok } => {
                write!(f, "{}:{timer_id}", if *ok { "chok" } else { "chno" })
            }
            Callback::Review { request_id, accept } => {
                write!(f, "r:{}:{request_id}", yn(*accept))
            }
            Callback::Assign {
                request_id,
                mediator_id,
            } => write!(f, "a:{request_id}:{mediator_id}"),
            Callback::Hours {
                assignment_id,
                answer,
            } => match answer {
                HoursPress::Confirm => write!(f, "h:{assignment_id}:c"),
                HoursPress::Other(m) => write!(f, "h:{assignment_id}:o:{m}"),
                HoursPress::Settle(m) => write!(f, "h:{assignment_id}:s:{m}"),
            },
            Callback::Draft {
                dialogue_id,
                step,
                action,
            } => {
                write!(f, "d:{dialogue_id}:{step}:")?;
                match action {
                    DraftAction::Confirm => f.write_str("c"),
                    DraftAction::Modify => f.write_str("m"),
                    DraftAction::Cancel => f.write_str("x"),
                    DraftAction::Pick(v) => write!(f, "p:{v}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind_within_64_bytes() {
        let all = [
            Callback::Offer {
                offer_id: i64::MAX,
                accept: true,
            },
            Callback::Outcome {
                assignment_id: 7,
                done: false,
            },
            Callback::MeetingOutcome {
                occurrence_id: i64::MAX,
                done: true,
            },
            Callback::MeetingOutcome {
                occurrence_id: 3,
                done: false,
            },
            Callback::Review {
                request_id: 3,
                accept: false,
            },
            Callback::Assign {
                request_id: i64::MAX,
                mediator_id: i64::MAX,
            },
            Callback::Draft {
                dialogue_id: i64::MAX,
                step: 12,
                action: DraftAction::Pick("2027-03-12".into()),
            },
            Callback::Draft {
                dialogue_id: 1,
                step: 0,
                action: DraftAction::Cancel,
            },
            Callback::Hours {
                assignment_id: i64::MAX,
                answer: HoursPress::Confirm,
            },
            Callback::Hours {
                assignment_id: i64::MAX,
                answer: HoursPress::Other(720),
            },
            Callback::Hours {
                assignment_id: i64::MAX,
                answer: HoursPress::Settle(i64::MAX),
            },
        ];
        for cb in all {
            let s = cb.encode().expect("encodes");
            assert!(s.len() <= MAX_LEN, "{s}");
            assert_eq!(Callback::parse(&s), Ok(cb));
        }
    }

    #[test]
    fn no_show_presses_round_trip() {
        for who in crate::domain::NoShow::ALL {
            let p = NoShowPress {
                assignment_id: i64::MAX,
                who: *who,
            };
            assert!(p.data().len() <= MAX_LEN);
            assert_eq!(NoShowPress::parse(&p.data()), Some(p));
        }
        for bad in ["ns:1", "ns:1:x", "ns:-1:f", "ns:a:f", "n:1:f"] {
            assert_eq!(NoShowPress::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn refuses_long_values_and_garbage() {
        let long = Callback::Draft {
            dialogue_id: 1,
            step: 1,
            action: DraftAction::Pick("x".repeat(60)),
        };
        assert!(matches!(long.encode(), Err(CallbackError::TooLong(_))));
        let bad = Callback::Draft {
            dialogue_id: 1,
            step: 1,
            action: DraftAction::Pick("<b>".into()),
        };
        assert_eq!(bad.encode(), Err(CallbackError::BadValue));
        for s in [
            "",
            "o",
            "o:y",
            "o:y:-1",
            "o:y:1:2",
            "z:1",
            "d:1:1:p:",
            "d:1:1:q",
            "a:1",
            "h:1",
            "h:1:o",
            "h:1:o:-60",
            "h:1:c:2",
            "h:1:x",
        ] {
            assert!(Callback::parse(s).is_err(), "{s}");
        }
        assert!(Callback::parse(&"acc:1".repeat(20)).is_err());
        assert_eq!(
            Callback::parse("notdone:12"),
            Ok(Callback::Outcome {
                assignment_id: 12,
                done: false
            })
        );
    }
}
