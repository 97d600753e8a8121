//! The row states as column types: the domain's state enums ([`crate::domain::states`]) decode
//! from their text columns on both backends; text this version does not know is a decoding
//! error (a `StoreError::Db`), never a panic. Written with `.as_str()`.

use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Type};

use super::{Result, StoreError};
use crate::domain::{
    AssignmentStatus, HoursCheckStatus, OfferState, OutboxStatus, ParseError, TimerKind,
    TimerStatus,
};

/// A stored text as its type; unknown text is a [`StoreError::Corrupt`].
pub(super) fn parsed<T: std::str::FromStr<Err = ParseError>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e: ParseError| StoreError::Corrupt(e.to_string()))
}

macro_rules! text_column {
    ($($t:ty),+) => {$(
        impl<DB: Database> Type<DB> for $t
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $t
        where
            String: Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let s = <String as Decode<'r, DB>>::decode(value)?;
                Ok(s.parse::<$t>()?)
            }
        }
    )+};
}

text_column!(
    OfferState,
    AssignmentStatus,
    OutboxStatus,
    TimerStatus,
    TimerKind,
    HoursCheckStatus
);
